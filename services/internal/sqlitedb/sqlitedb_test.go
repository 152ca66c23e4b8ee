package sqlitedb

import (
	"database/sql"
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

// The write-ahead log does not keep what a burst of writes grew it to:
// after the records are deleted and a checkpoint runs, it is at most
// JournalSizeLimit (before, about 4 MB stayed until SQLite's own
// checkpoint, and on a small disk filled it).
func TestWALIsBoundedAfterCheckpoint(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.db")
	db, err := Open(t.Context(), path, `CREATE TABLE t (v BLOB)`)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// Hold a reader open so that automatic checkpoints cannot reset the
	// log while it grows, as concurrent token requests do.
	tx, err := db.BeginTx(t.Context(), &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := tx.QueryRow("SELECT count(*) FROM t").Scan(&n); err != nil {
		t.Fatal(err)
	}
	blob := make([]byte, 4096)
	for range 2000 {
		if _, err := db.Exec("INSERT INTO t VALUES (?)", blob); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	wal := func() int64 {
		fi, err := os.Stat(path + "-wal")
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	if size := wal(); size <= 4*JournalSizeLimit {
		t.Fatalf("the WAL grew to %d bytes only; the test shows nothing", size)
	}
	if _, err := db.Exec("DELETE FROM t"); err != nil {
		t.Fatal(err)
	}
	if err := Checkpoint(t.Context(), db); err != nil {
		t.Fatal(err)
	}
	if size := wal(); size > JournalSizeLimit {
		t.Errorf("WAL of %d bytes after a checkpoint, want at most %d", size, JournalSizeLimit)
	}
}
