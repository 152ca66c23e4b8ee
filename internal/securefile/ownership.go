package securefile

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"syscall"
)

// Who may have written a file decides whether it can be trusted, as with
// ssh's StrictModes: a data directory, or a file of secrets, that another
// user owns or can write could hold that user's signing key, and the
// issuer would serve it. Trusted are objects owned by the running user, or
// by root (who could replace the process anyway), that nobody else can
// write:
//
//   - a file owned by the running user (not root) grants group and others
//     nothing;
//   - a file owned by root may be readable by one of the process's groups:
//     a Kubernetes Secret volume mounts files owned by root, mode 0440 by
//     default, group-owned by the pod's fsGroup, through `..data` symlinks;
//   - a directory may be group-writable only when root owns it and its
//     group is one of the process's (a volume the kubelet gives the pod's
//     fsGroup), and writable by others only when root owns it and it is
//     sticky (others cannot replace what they do not own: /tmp, a Secret
//     volume's mount point).
type identity struct {
	uid    uint32
	groups []uint32 // effective group first, then the supplementary ones
}

func process() identity {
	id := identity{uid: uint32(os.Geteuid()), groups: []uint32{uint32(os.Getegid())}}
	if gs, err := os.Getgroups(); err == nil {
		for _, g := range gs {
			id.groups = append(id.groups, uint32(g))
		}
	}
	return id
}

func owner(fi fs.FileInfo) (uid, gid uint32) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0
	}
	return st.Uid, st.Gid
}

func (id identity) ownedBy(path string, uid uint32) error {
	if uid != id.uid && uid != 0 {
		return fmt.Errorf("%s is owned by uid %d, not by this process's user (uid %d) or root; another user could have written it", path, uid, id.uid)
	}
	return nil
}

// checkFile decides whether the secrets file at path, whose (followed)
// metadata is fi, can be trusted.
func (id identity) checkFile(path string, fi fs.FileInfo) error {
	uid, gid := owner(fi)
	if err := id.ownedBy(path, uid); err != nil {
		return err
	}
	perm := fi.Mode().Perm()
	if uid != 0 {
		if perm&0o077 != 0 {
			return fmt.Errorf("read %s: permissions %#o are too open; it holds secrets, so chmod 600 it", path, perm)
		}
		return nil
	}
	// Owned by root, as orchestrators mount secrets.
	if perm&0o027 != 0 || (perm&0o040 != 0 && !slices.Contains(id.groups, gid)) {
		return fmt.Errorf("read %s: root owns it with permissions %#o and group %d; a secret mounted by root may be readable by one of this process's groups (%v) and by nobody else: chmod 600 it, or chgrp it to one of those groups and chmod 640", path, perm, gid, id.groups)
	}
	return nil
}

// checkDir decides whether the directory at path, whose metadata is fi, can
// be trusted to hold secrets.
func (id identity) checkDir(path string, fi fs.FileInfo) error {
	uid, gid := owner(fi)
	if err := id.ownedBy(path, uid); err != nil {
		return err
	}
	mode := fi.Mode()
	perm := mode.Perm()
	kubelet := uid == 0 && uid != id.uid && slices.Contains(id.groups, gid) // a volume given to the pod's fsGroup
	if perm&0o002 != 0 && !(uid == 0 && mode&fs.ModeSticky != 0) {
		return fmt.Errorf("directory %s: permissions %#o let every user write it; chmod o-w it", path, perm)
	}
	if perm&0o020 != 0 && !kubelet && !(uid == 0 && mode&fs.ModeSticky != 0) {
		return fmt.Errorf("directory %s: permissions %#o let its group write it; chmod g-w it", path, perm)
	}
	return nil
}

// CheckDir refuses a directory that is not safe to keep secrets in: owned
// by another user, or writable by others (see the rules above).
func CheckDir(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	return process().checkDir(dir, fi)
}

// checkParents checks the directory holding path and, when path is a
// symlink, the directory holding what it resolves to.
func checkParents(id identity, path string) error {
	dirs := []string{filepath.Dir(path)}
	if real, err := filepath.EvalSymlinks(path); err == nil && filepath.Dir(real) != dirs[0] {
		dirs = append(dirs, filepath.Dir(real))
	}
	for _, d := range dirs {
		fi, err := os.Stat(d)
		if err != nil {
			return err
		}
		if err := id.checkDir(d, fi); err != nil {
			return err
		}
	}
	return nil
}
