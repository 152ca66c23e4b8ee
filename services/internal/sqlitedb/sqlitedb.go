// Package sqlitedb opens the embedded SQLite databases that the suite's
// services keep in their data directories. It uses the pure-Go
// modernc.org/sqlite driver, so binaries stay CGO-free.
package sqlitedb

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"syscall"

	"github.com/tollgate-rpc/tollgate/internal/securefile"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// MinFreeBytes is the free space below which a data directory's database
// is reported not ready: a write may fail any moment, and a replica that
// cannot record anything should not take traffic.
const MinFreeBytes = 16 << 20

// CheckFree fails when the filesystem holding dir has less than
// MinFreeBytes free for this process.
func CheckFree(dir string) error {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return fmt.Errorf("free space of %s: %w", dir, err)
	}
	if free := st.Bavail * uint64(st.Bsize); free < MinFreeBytes {
		return fmt.Errorf("%s: %d bytes free, below %d: the disk is (nearly) full", dir, free, MinFreeBytes)
	}
	return nil
}

// JournalSizeLimit bounds, in bytes, what the write-ahead log keeps on disk
// after a checkpoint.
const JournalSizeLimit = 1 << 20

// Checkpoint copies the write-ahead log into the database and truncates
// it, after a large delete (expired records) so that the space is given
// back at once rather than at SQLite's next automatic checkpoint.
func Checkpoint(ctx context.Context, db *sql.DB) error {
	if _, err := db.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}

// Open opens (creating if needed, mode 0600) the database at path and
// applies schema.
// Writes run in IMMEDIATE transactions so concurrent writers queue on the
// busy timeout instead of failing; WAL lets readers run beside a writer.
func Open(ctx context.Context, path, schema string) (*sql.DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	if err := securefile.CheckDir(filepath.Dir(path)); err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	// Created readable by the owner only; SQLite gives its -wal and -shm
	// files the database file's mode.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	f.Close()
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(ON)")
	// The WAL is truncated to this after each checkpoint, rather than left
	// at its largest: on a small disk it must not fill the space by itself.
	q.Add("_pragma", fmt.Sprintf("journal_size_limit(%d)", JournalSizeLimit))
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	db.SetMaxOpenConns(4)
	if _, err := db.ExecContext(ctx, schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("create schema in %s: %w", path, err)
	}
	return db, nil
}
