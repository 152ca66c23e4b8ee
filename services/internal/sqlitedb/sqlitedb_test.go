package sqlitedb

import (
	"os"
	"path/filepath"
	"testing"
)

// Databases hold orders, stock and replay records: only their owner reads
// them, whatever the umask.
func TestDatabaseFilesAreOwnerOnly(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.db")
	db, err := Open(t.Context(), path, `CREATE TABLE t (v INTEGER); INSERT INTO t VALUES (1);`)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, name := range []string{"x.db", "x.db-wal", "x.db-shm"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s has mode %#o, want 0600", name, perm)
		}
	}
}
