package securefile

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// LockFile is the name of the lock file Lock keeps in a directory.
const LockFile = ".lock"

// Lock takes an exclusive advisory lock (flock(2)) on dir's lock file,
// waiting for any other process or goroutine holding it, and returns the
// function that releases it. Every read-modify-write of a file in dir by any
// Tollgate process happens under this lock, so that concurrent writers never
// lose each other's changes. The kernel releases the lock if the process
// dies.
func Lock(dir string) (unlock func(), err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	if err := CheckDir(dir); err != nil {
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() { f.Close() }, nil // closing the descriptor releases the lock
}
