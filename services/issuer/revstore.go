package issuer

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/jackc/pgx/v5"
	"github.com/tollgate-rpc/tollgate/services/internal/sqlitedb"
)

// The revocations in each store. Both assign Seq one writer at a time
// (SQLite's write transactions exclude each other; PostgreSQL's under an
// advisory lock), so Seq order is commit order and a reader after Seq n
// never misses one below it. Each store's revocations also have a log ID,
// made with the table: Seqs are comparable only within one log, so a
// reader that finds another log (a migrated or recreated store) starts
// again from the beginning.

const revocationsSchema = `
CREATE TABLE IF NOT EXISTS revocations (
	seq           INTEGER PRIMARY KEY AUTOINCREMENT,
	client_id     TEXT NOT NULL DEFAULT '',
	jti           TEXT NOT NULL DEFAULT '',
	issued_before INTEGER NOT NULL DEFAULT 0,
	until         INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS revocations_until ON revocations (until);
CREATE TABLE IF NOT EXISTS revocation_log (id TEXT NOT NULL);
INSERT INTO revocation_log (id) SELECT lower(hex(randomblob(16))) WHERE NOT EXISTS (SELECT 1 FROM revocation_log);`

// revocationsDB opens revocations.db on first use.
func (d *DirStore) revocationsDB(ctx context.Context) (*sql.DB, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.revoked == nil {
		db, err := sqlitedb.Open(ctx, filepath.Join(d.dir, "revocations.db"), revocationsSchema)
		if err != nil {
			return nil, err
		}
		d.revoked = db
	}
	return d.revoked, nil
}

// Revoke implements [Store].
func (d *DirStore) Revoke(ctx context.Context, rs []Revocation, now time.Time) error {
	if err := checkRevocations(rs); err != nil {
		return err
	}
	db, err := d.revocationsDB(ctx)
	if err != nil {
		return err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store revocations: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, `DELETE FROM revocations WHERE until < ?`, now.Unix()); err != nil {
		return fmt.Errorf("store revocations: %w", err)
	}
	for _, r := range rs {
		if _, err := tx.ExecContext(ctx, `INSERT INTO revocations (client_id, jti, issued_before, until) VALUES (?, ?, ?, ?)`,
			r.ClientID, r.JTI, r.IssuedBefore, r.Until); err != nil {
			return fmt.Errorf("store revocations: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store revocations: %w", err)
	}
	return nil
}

// Revocations implements [Store].
func (d *DirStore) Revocations(ctx context.Context, after int64, now time.Time) (string, []Revocation, error) {
	db, err := d.revocationsDB(ctx)
	if err != nil {
		return "", nil, err
	}
	var log string
	if err := db.QueryRowContext(ctx, `SELECT id FROM revocation_log`).Scan(&log); err != nil {
		return "", nil, fmt.Errorf("read the revocation log's ID: %w", err)
	}
	rows, err := db.QueryContext(ctx, `SELECT seq, client_id, jti, issued_before, until FROM revocations
		WHERE seq > ? AND until >= ? ORDER BY seq`, after, now.Unix())
	if err != nil {
		return "", nil, fmt.Errorf("read revocations: %w", err)
	}
	defer rows.Close()
	rs, err := scanRevocations(rows.Next, rows.Scan, rows.Err)
	return log, rs, err
}

// Revoke implements [Store].
func (s *PGStore) Revoke(ctx context.Context, rs []Revocation, now time.Time) error {
	if err := checkRevocations(rs); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, StoreTimeout)
	defer cancel()
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtext($1))", s.schema+".revocations"); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM revocations WHERE until < $1`, now.Unix()); err != nil {
			return err
		}
		for _, r := range rs {
			if _, err := tx.Exec(ctx, `INSERT INTO revocations (client_id, jti, issued_before, until) VALUES ($1, $2, $3, $4)`,
				r.ClientID, r.JTI, r.IssuedBefore, r.Until); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store revocations: %w", err)
	}
	return nil
}

// Revocations implements [Store].
func (s *PGStore) Revocations(ctx context.Context, after int64, now time.Time) (string, []Revocation, error) {
	ctx, cancel := context.WithTimeout(ctx, StoreTimeout)
	defer cancel()
	var log string
	if err := s.pool.QueryRow(ctx, `SELECT id FROM revocation_log`).Scan(&log); err != nil {
		return "", nil, fmt.Errorf("read the revocation log's ID: %w", err)
	}
	rows, err := s.pool.Query(ctx, `SELECT seq, client_id, jti, issued_before, until FROM revocations
		WHERE seq > $1 AND until >= $2 ORDER BY seq`, after, now.Unix())
	if err != nil {
		return "", nil, fmt.Errorf("read revocations: %w", err)
	}
	defer rows.Close()
	rs, err := scanRevocations(rows.Next, func(dest ...any) error { return rows.Scan(dest...) }, rows.Err)
	return log, rs, err
}

func checkRevocations(rs []Revocation) error {
	for _, r := range rs {
		if err := r.check(); err != nil {
			return err
		}
	}
	return nil
}

// scanRevocations reads rows of (seq, client_id, jti, issued_before,
// until) from either driver.
func scanRevocations(next func() bool, scan func(...any) error, rowsErr func() error) ([]Revocation, error) {
	var out []Revocation
	for next() {
		var r Revocation
		if err := scan(&r.Seq, &r.ClientID, &r.JTI, &r.IssuedBefore, &r.Until); err != nil {
			return nil, fmt.Errorf("read revocations: %w", err)
		}
		out = append(out, r)
	}
	if err := rowsErr(); err != nil {
		return nil, fmt.Errorf("read revocations: %w", err)
	}
	return out, nil
}

// WatchRevocations reports writes to revocations.db, another process's
// too (`tollgate client disable`, `tollgate token revoke`), until ctx ends:
// a running issuer reads them at once instead of at its next poll. A
// write may come before its transaction commits; the poll after the last
// write of a commit, or the next periodic one, reads it.
func (d *DirStore) WatchRevocations(ctx context.Context) (<-chan struct{}, error) {
	if _, err := d.revocationsDB(ctx); err != nil { // the files exist, the directory is trusted
		return nil, err
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	if err := w.Add(d.dir); err != nil {
		w.Close()
		return nil, err
	}
	out := make(chan struct{}, 1)
	go func() {
		defer w.Close()
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-w.Events:
				if !ok {
					return
				}
				if strings.HasPrefix(filepath.Base(ev.Name), "revocations.db") && ev.Has(fsnotify.Write|fsnotify.Create) {
					select {
					case out <- struct{}{}:
					default: // one pending wake-up covers every write before it
					}
				}
			case _, ok := <-w.Errors:
				if !ok {
					return
				}
			}
		}
	}()
	return out, nil
}
