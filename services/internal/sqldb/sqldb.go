// Package sqldb is the database the suite's services keep their data in:
// SQLite in the data directory (the default), or PostgreSQL for several
// replicas. The stores write one SQL for both: ? placeholders, rebound for
// PostgreSQL, and BIGINT columns, which both understand.
package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/tollgate-rpc/tollgate/services/internal/sqlitedb"
)

// DB is a database handle that knows its dialect.
type DB struct {
	*sql.DB
	postgres bool
	dir      string       // SQLite's data directory, whose free space readiness checks
	timeout  atomic.Int64 // the longest a store call may take (Bound); 0: DefaultTimeout

	mu       sync.Mutex // guards checked and readyErr
	checked  time.Time
	readyErr error
}

// OpenSQLite opens (creating) the SQLite database at path and applies ddl.
func OpenSQLite(ctx context.Context, path, ddl string) (*DB, error) {
	db, err := sqlitedb.Open(ctx, path, ddl)
	if err != nil {
		return nil, err
	}
	return &DB{DB: db, dir: filepath.Dir(path)}, nil
}

// DefaultTimeout is how long a store call may take unless SetTimeout
// says otherwise: a frozen database fails calls Unavailable after it,
// instead of holding them until each caller's own deadline.
const DefaultTimeout = 5 * time.Second

// SetTimeout sets the longest a store call may take (Bound); 0 restores
// DefaultTimeout.
func (db *DB) SetTimeout(d time.Duration) { db.timeout.Store(int64(d)) }

// Bound returns ctx with the store's deadline: the caller's, or the
// store's timeout if that comes first. Every store method starts with it.
func (db *DB) Bound(ctx context.Context) (context.Context, context.CancelFunc) {
	d := time.Duration(db.timeout.Load())
	if d <= 0 {
		d = DefaultTimeout
	}
	return context.WithTimeout(ctx, d)
}

// readyFor is how long a readiness answer is reused: probes from every
// kubelet and load balancer cost one query a second, whatever their number.
const readyFor = time.Second

// Ready reports whether the database answers a query (and, for SQLite,
// whether its disk has room), within ctx; the answer is cached a second.
func (db *DB) Ready(ctx context.Context) error {
	db.mu.Lock()
	defer db.mu.Unlock()
	if !db.checked.IsZero() && time.Since(db.checked) < readyFor {
		return db.readyErr
	}
	var one int
	err := db.QueryRowContext(ctx, "SELECT 1").Scan(&one)
	if err == nil && db.dir != "" {
		err = sqlitedb.CheckFree(db.dir)
	}
	if err != nil {
		err = fmt.Errorf("database not ready: %w", err)
	}
	db.checked, db.readyErr = time.Now(), err
	return err
}

var validSchema = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// OpenPostgres connects to the database at url, makes schema (the tables'
// home) and applies ddl in it. Errors never show the URL's password.
func OpenPostgres(ctx context.Context, url, schema, ddl string) (*DB, error) {
	if !validSchema.MatchString(schema) {
		return nil, fmt.Errorf("database schema %q: use 1-63 of [a-z0-9_], not starting with a digit", schema)
	}
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("database URL: %s", Redact(err.Error(), url))
	}
	cfg.RuntimeParams["search_path"] = schema
	db := &DB{DB: stdlib.OpenDB(*cfg), postgres: true}
	db.SetMaxOpenConns(16)
	// Replicas starting together would race in CREATE … IF NOT EXISTS,
	// which PostgreSQL does not make atomic: one lock orders them.
	err = db.once(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(hashtext($1))", schema+".ddl"); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{schema}.Sanitize()); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, ddl)
		return err
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("database: create tables in schema %s: %s", schema, Redact(err.Error(), url))
	}
	return db, nil
}

// Redact returns msg without the password of the database at url, should
// a driver ever quote it.
func Redact(msg, url string) string {
	if cfg, err := pgconn.ParseConfig(url); err == nil && cfg.Password != "" {
		msg = strings.ReplaceAll(msg, cfg.Password, "xxxxx")
	}
	return msg
}

// Postgres reports whether db is PostgreSQL.
func (db *DB) Postgres() bool { return db.postgres }

// Q returns query for db's dialect: ? placeholders become $1, $2 … for
// PostgreSQL. Queries hold no literal question marks.
func (db *DB) Q(query string) string {
	if !db.postgres {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// ForUpdate is the clause that locks the rows a SELECT reads until the
// transaction ends: FOR UPDATE on PostgreSQL, nothing on SQLite, whose write
// transactions already exclude each other.
func (db *DB) ForUpdate() string {
	if db.postgres {
		return " FOR UPDATE"
	}
	return ""
}

// maxAttempts bounds InTx's retries of a transaction PostgreSQL aborted.
const maxAttempts = 8

// InTx runs fn in one transaction and commits it. On PostgreSQL a
// transaction aborted by a serialization failure or a deadlock, or that met
// a unique violation (two replicas inserting the same key at once), is run
// again from the start, a few times, so that the replica that lost the race
// sees what the other one wrote.
func (db *DB) InTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := db.once(ctx, fn)
		if err == nil || !db.postgres || attempt == maxAttempts || !retryable(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(attempt) * 2 * time.Millisecond):
		}
	}
}

func (db *DB) once(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

func retryable(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	switch pgErr.Code {
	case "40001", "40P01", "23505": // serialization_failure, deadlock_detected, unique_violation
		return true
	}
	return false
}

// Tables is embedded in each service's SQL store: the database its tables
// are in, for the service's queries, and the methods a command calls on
// any store.
type Tables struct{ DB *DB }

// Close closes the database.
func (t Tables) Close() error { return t.DB.Close() }

// SetTimeout bounds every store call ([DB.SetTimeout]).
func (t Tables) SetTimeout(d time.Duration) { t.DB.SetTimeout(d) }

// Ready reports whether the database answers (readiness probes).
func (t Tables) Ready(ctx context.Context) error { return t.DB.Ready(ctx) }
