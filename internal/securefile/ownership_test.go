package securefile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root, to give test files other owners (CI runs as root)")
	}
}

// The rules, on real files with real owners, for a process of uid 1000 in
// groups 1000 and 2000 (a pod with fsGroup 2000).
func TestTrustRules(t *testing.T) {
	requireRoot(t)
	id := identity{uid: 1000, groups: []uint32{1000, 2000}}
	for _, tc := range []struct {
		name      string
		dir       bool
		mode      os.FileMode
		uid, gid  int
		wantError string // "" means trusted
	}{
		{"own file 0600", false, 0o600, 1000, 1000, ""},
		{"own file 0640", false, 0o640, 1000, 1000, "too open"},
		{"own file 0400", false, 0o400, 1000, 1000, ""},
		{"another user's file 0600", false, 0o600, 1001, 1001, "owned by uid 1001"},
		{"Kubernetes Secret: root 0440, group fsGroup", false, 0o440, 0, 2000, ""},
		{"root 0440, a group not ours", false, 0o440, 0, 3000, "readable by one of this process's groups"},
		{"root 0460: group can write", false, 0o460, 0, 2000, "nobody else"},
		{"root 0444: everyone can read", false, 0o444, 0, 2000, "nobody else: chmod 600 it, or chgrp it to one of those groups and chmod 640"},
		{"root 0400", false, 0o400, 0, 0, ""},
		{"own directory 0700", true, 0o700, 1000, 1000, ""},
		{"own directory 0777", true, 0o777, 1000, 1000, "every user write"},
		{"own directory 0707", true, 0o707, 1000, 1000, "every user write"},
		{"own directory 0770", true, 0o770, 1000, 1000, "group write"},
		{"another user's directory 0700", true, 0o700, 1001, 1001, "owned by uid 1001"},
		{"root sticky 1777 (a Secret volume's mount, /tmp)", true, 0o777 | os.ModeSticky, 0, 0, ""},
		{"root 0777, not sticky", true, 0o777, 0, 0, "every user write"},
		{"fsGroup volume: root 2775, group ours", true, 0o775 | os.ModeSetgid, 0, 2000, ""},
		{"root 0775, a group not ours", true, 0o775, 0, 3000, "group write"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "x")
			var err error
			if tc.dir {
				err = os.Mkdir(path, 0o700)
			} else {
				err = os.WriteFile(path, []byte("s"), 0o600)
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(path, tc.uid, tc.gid); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tc.mode); err != nil {
				t.Fatal(err)
			}
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if tc.dir {
				err = id.checkDir(path, fi)
			} else {
				err = id.checkFile(path, fi)
			}
			switch {
			case tc.wantError == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.wantError != "" && err == nil:
				t.Errorf("trusted, want refused (%s)", tc.wantError)
			case tc.wantError != "" && !strings.Contains(err.Error(), tc.wantError):
				t.Errorf("error %q does not say %q", err, tc.wantError)
			}
		})
	}
}

// The attack the review made: a world-writable data directory another user
// created, holding that user's keys.json (mode 0600). Both the directory and
// the file are refused.
func TestReadRefusesAnotherUsersDataDirectory(t *testing.T) {
	requireRoot(t)
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o777); err != nil { // past the umask
		t.Fatal(err)
	}
	keys := filepath.Join(dir, "keys.json")
	if err := os.WriteFile(keys, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(keys); err == nil || !strings.Contains(err.Error(), "every user write") {
		t.Errorf("Read in a world-writable directory: %v, want it refused", err)
	}
	if err := Write(filepath.Join(dir, "clients.json"), []byte("{}")); err == nil {
		t.Error("Write into a world-writable directory succeeded")
	}
	if _, err := Lock(dir); err == nil {
		t.Error("Lock of a world-writable directory succeeded")
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(keys, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(keys); err == nil || !strings.Contains(err.Error(), "owned by uid 65534") {
		t.Errorf("Read of another user's keys.json: %v, want it refused naming the owner", err)
	}
}

// A Kubernetes Secret volume, with the kubelet's layout and modes: the mount
// point root-owned and sticky, a timestamped directory (0755) holding the
// file (root, mode 0440, group the pod's fsGroup), `..data` pointing at it,
// and the key's name pointing through `..data`.
func TestReadAcceptsAKubernetesSecretVolume(t *testing.T) {
	requireRoot(t)
	mount := filepath.Join(t.TempDir(), "secret")
	stamp := filepath.Join(mount, "..2026_12_02_16_31_50.1234567")
	if err := os.MkdirAll(stamp, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(mount, 0o777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(stamp, "client-secret")
	if err := os.WriteFile(file, []byte("s3cret\n"), 0o440); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(file, 0, os.Getegid()); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Base(stamp), filepath.Join(mount, "..data")); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(mount, "client-secret")
	if err := os.Symlink("..data/client-secret", link); err != nil {
		t.Fatal(err)
	}
	got, err := Read(link)
	if err != nil || string(got) != "s3cret\n" {
		t.Fatalf("Read of a Secret volume's file: %q, %v", got, err)
	}
	// The same file made readable by everyone is refused.
	if err := os.Chmod(file, 0o444); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(link); err == nil {
		t.Error("Read of a 0444 root-owned secret succeeded")
	}
}
