// Package securefile reads and writes files that hold secrets: keys, client
// registries and dev credentials. Writes are atomic (a temporary file renamed
// over the target) with mode 0600; reads refuse files that group or others
// may read, as ssh does with private keys, and files or directories that
// another user owns or can write (see ownership.go).
package securefile

import (
	"fmt"
	"os"
	"path/filepath"
)

// Write replaces path with data atomically, readable by the owner only.
func Write(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := CheckDir(dir); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after a successful rename
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// Read returns the contents of path, refusing a file that group or others
// can read or write, or that another user owns, or that sits in a directory
// another user can write. Symlinks are followed (a Kubernetes Secret volume
// is made of them); the directories on both sides are checked.
func Read(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	id := process()
	if err := id.checkFile(path, fi); err != nil {
		return nil, err
	}
	if err := checkParents(id, path); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	data := make([]byte, fi.Size())
	if _, err := f.ReadAt(data, 0); err != nil && fi.Size() > 0 {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return data, nil
}
