package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// ownPG is a PostgreSQL server of the test's own, for faults that stop a
// database: the machine's shared server is never stopped or reconfigured.
type ownPG struct {
	bin, data, sockets, log, port string
	URL                           string
}

// startOwnPostgres initialises and starts a PostgreSQL server (initdb and
// pg_ctl from /usr/lib/postgresql/*/bin, run as the postgres user) on a
// port below the ephemeral range and a socket directory of its own. It is
// stopped and removed when the test ends. It needs root (to run as
// postgres); it skips without it, naming what is missing, and fails so
// under CI=true.
func startOwnPostgres(t *testing.T) *ownPG {
	t.Helper()
	missing := func(what string) {
		t.Helper()
		if os.Getenv("CI") == "true" {
			t.Fatal(what)
		}
		t.Skip(what)
	}
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(bins) == 0 {
		missing("no initdb under /usr/lib/postgresql/*/bin: apt-get install postgresql")
	}
	pgUser, err := user.Lookup("postgres")
	if err != nil || os.Geteuid() != 0 {
		missing("a database of the test's own runs as the postgres user: run as root on a machine with PostgreSQL installed")
	}
	uid, _ := strconv.Atoi(pgUser.Uid)
	gid, _ := strconv.Atoi(pgUser.Gid)
	dir, err := os.MkdirTemp("", "tollgate-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chown(dir, uid, gid); err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(fixedPort(t))
	p := &ownPG{bin: filepath.Dir(bins[0]), data: filepath.Join(dir, "data"), sockets: dir, log: filepath.Join(dir, "log"), port: port,
		URL: fmt.Sprintf("postgres://postgres@127.0.0.1:%s/postgres?sslmode=disable&connect_timeout=5", port)}
	p.run(t, "initdb", "-D", p.data, "-A", "trust", "-U", "postgres", "--no-sync")
	p.start(t)
	t.Cleanup(func() { _ = p.cmd("pg_ctl", "stop", "-D", p.data, "-m", "immediate").Run() })
	return p
}

func (p *ownPG) cmd(tool string, args ...string) *exec.Cmd {
	return exec.Command("runuser", append([]string{"-u", "postgres", "--", filepath.Join(p.bin, tool)}, args...)...)
}

func (p *ownPG) run(t *testing.T, tool string, args ...string) {
	t.Helper()
	if out, err := p.cmd(tool, args...).CombinedOutput(); err != nil {
		log, _ := os.ReadFile(p.log)
		t.Fatalf("%s %v: %v\n%s\n%s", tool, args, err, out, log)
	}
}

// start starts the server and waits until it accepts connections.
func (p *ownPG) start(t *testing.T) {
	t.Helper()
	p.run(t, "pg_ctl", "start", "-w", "-D", p.data, "-l", p.log,
		"-o", fmt.Sprintf("-p %s -k %s -c listen_addresses=127.0.0.1 -c fsync=off", p.port, p.sockets))
}

// stop stops the server at once, as a crash would (clients see their
// connections cut), and waits until it is down.
func (p *ownPG) stop(t *testing.T) {
	t.Helper()
	p.run(t, "pg_ctl", "stop", "-w", "-D", p.data, "-m", "immediate")
}

// signal sends sig to the server and every backend it started.
func (p *ownPG) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	pidFile, err := os.ReadFile(filepath.Join(p.data, "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(string(pidFile), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil {
		t.Fatal(err)
	}
	pids := []int{pid}
	if out, err := exec.Command("pgrep", "-P", strconv.Itoa(pid)).Output(); err == nil {
		for _, f := range strings.Fields(string(out)) {
			if child, err := strconv.Atoi(f); err == nil {
				pids = append(pids, child)
			}
		}
	}
	for _, pid := range pids {
		_ = syscall.Kill(pid, sig)
	}
}

// freeze stops the server and its backends (SIGSTOP): connections stay
// open and nothing answers, until thaw. The test's cleanup thaws it.
func (p *ownPG) freeze(t *testing.T) {
	t.Helper()
	p.signal(t, syscall.SIGSTOP)
	t.Cleanup(func() { p.signal(t, syscall.SIGCONT) })
}

// thaw lets a frozen server run again.
func (p *ownPG) thaw(t *testing.T) { t.Helper(); p.signal(t, syscall.SIGCONT) }
