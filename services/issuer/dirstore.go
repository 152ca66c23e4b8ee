package issuer

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/tollgate-rpc/tollgate/internal/securefile"
	"github.com/tollgate-rpc/tollgate/services/internal/sqlitedb"
)

// DirStore is the embedded [Store]: clients.json and keys.json in a data
// directory, rewritten atomically under the directory's lock
// ([securefile.Lock]) after rereading them, and the assertion replay record
// in assertions.db and the revocations in revocations.db (SQLite, whose
// transactions serialise processes). The
// JSON files may be edited by hand; a running issuer picks up changes.
type DirStore struct {
	dir string

	mu      sync.Mutex // guards replay, pruned and revoked
	replay  *sql.DB    // opened on first use
	pruned  time.Time
	revoked *sql.DB // revocations.db, opened on first use
}

type registryFile struct {
	Clients []*Client `json:"clients"`
}

type keyFile struct {
	Keys []*SigningKey `json:"keys"`
}

// OpenDir returns the store kept in dir. Nothing is created until something
// is written.
func OpenDir(dir string) *DirStore { return &DirStore{dir: dir} }

func (d *DirStore) clientsPath() string { return filepath.Join(d.dir, "clients.json") }
func (d *DirStore) keysPath() string    { return filepath.Join(d.dir, "keys.json") }

// Clients implements [Store]; a missing file is an empty registry.
func (d *DirStore) Clients(context.Context) (map[string]*Client, error) {
	return d.readClients()
}

func (d *DirStore) readClients() (map[string]*Client, error) {
	path := d.clientsPath()
	data, err := securefile.Read(path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]*Client{}, nil
	}
	if err != nil {
		return nil, err
	}
	var f registryFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("client registry %s: %w", path, err)
	}
	return checkClients(f.Clients, "client registry "+path)
}

// UpdateClients implements [Store].
func (d *DirStore) UpdateClients(_ context.Context, fn func(map[string]*Client) error) (map[string]*Client, error) {
	unlock, err := securefile.Lock(d.dir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	clients, err := d.readClients()
	if err != nil {
		return nil, err
	}
	if err := fn(clients); err != nil {
		return nil, err
	}
	list, err := sortedClients(clients)
	if err != nil {
		return nil, err
	}
	if err := writeJSONFile(d.clientsPath(), registryFile{Clients: list}); err != nil {
		return nil, err
	}
	return clients, nil
}

// Keys implements [Store]; a missing file holds no keys.
func (d *DirStore) Keys(context.Context) ([]*SigningKey, error) {
	return d.readKeys()
}

func (d *DirStore) readKeys() ([]*SigningKey, error) {
	path := d.keysPath()
	data, err := securefile.Read(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var f keyFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	if len(f.Keys) == 0 {
		return nil, fmt.Errorf("key file %s: %w", path, errNoKeys)
	}
	return f.Keys, nil
}

// UpdateKeys implements [Store].
func (d *DirStore) UpdateKeys(_ context.Context, fn func([]*SigningKey) ([]*SigningKey, bool, error)) ([]*SigningKey, error) {
	unlock, err := securefile.Lock(d.dir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	keys, err := d.readKeys()
	if err != nil {
		return nil, err
	}
	next, changed, err := fn(keys)
	if err != nil || !changed {
		return next, err
	}
	if err := writeJSONFile(d.keysPath(), keyFile{Keys: next}); err != nil {
		return nil, err
	}
	return next, nil
}

func writeJSONFile(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return securefile.Write(path, data)
}

// Revision implements [Store]: the identity, size and modification time of
// each file. Writes replace a file by renaming a new one over it, so each
// write changes its inode.
func (d *DirStore) Revision(context.Context) (clients, keys string, err error) {
	return fileStamp(d.clientsPath()), fileStamp(d.keysPath()), nil
}

func fileStamp(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return "absent"
	}
	var ino uint64
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		ino = st.Ino
	}
	return fmt.Sprintf("%d/%d/%d", ino, fi.Size(), fi.ModTime().UnixNano())
}

const replaySchema = `
CREATE TABLE IF NOT EXISTS used_assertions (
	client_id TEXT NOT NULL,
	jti       TEXT NOT NULL,
	until     INTEGER NOT NULL, -- Unix seconds: forgotten after this
	PRIMARY KEY (client_id, jti)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS used_assertions_until ON used_assertions (until);`

// replayPruneEvery is how often expired replay records are deleted.
const replayPruneEvery = time.Minute

// UseAssertion implements [Store]. One upsert both checks and records, so
// two processes presented the same assertion at once cannot both accept it.
func (d *DirStore) UseAssertion(ctx context.Context, client, jti string, until, now time.Time) (bool, error) {
	db, prune, err := d.replayDB(ctx, now)
	if err != nil {
		return false, err
	}
	if prune {
		if _, err := db.ExecContext(ctx, `DELETE FROM used_assertions WHERE until < ?`, now.Unix()); err != nil {
			return false, fmt.Errorf("prune assertion records: %w", err)
		}
		if err := sqlitedb.Checkpoint(ctx, db); err != nil {
			return false, fmt.Errorf("prune assertion records: %w", err)
		}
	}
	// Records are kept to the second after until, never less.
	res, err := db.ExecContext(ctx, `
		INSERT INTO used_assertions (client_id, jti, until) VALUES (?, ?, ?)
		ON CONFLICT (client_id, jti) DO UPDATE SET until = excluded.until
		WHERE used_assertions.until < ?`,
		client, jti, ceilUnix(until), now.Unix())
	if err != nil {
		return false, fmt.Errorf("record assertion: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("record assertion: %w", err)
	}
	return n == 1, nil
}

// ceilUnix returns t in Unix seconds, rounded up.
func ceilUnix(t time.Time) int64 {
	s := t.Unix()
	if t.After(time.Unix(s, 0)) {
		s++
	}
	return s
}

// replayDB opens the replay database on first use, and reports whether
// expired records are due to be pruned.
func (d *DirStore) replayDB(ctx context.Context, now time.Time) (*sql.DB, bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.replay == nil {
		db, err := sqlitedb.Open(ctx, filepath.Join(d.dir, "assertions.db"), replaySchema)
		if err != nil {
			return nil, false, err
		}
		d.replay = db
	}
	prune := now.Sub(d.pruned) >= replayPruneEvery
	if prune {
		d.pruned = now
	}
	return d.replay, prune, nil
}

// Ready implements [Store]: the data directory is there, trusted, and its
// disk has room for the next write.
func (d *DirStore) Ready(context.Context) error {
	if err := securefile.CheckDir(d.dir); err != nil {
		return err
	}
	return sqlitedb.CheckFree(d.dir)
}

// Close implements [Store].
func (d *DirStore) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	var errs []error
	for _, db := range []**sql.DB{&d.replay, &d.revoked} {
		if *db != nil {
			errs = append(errs, (*db).Close())
			*db = nil
		}
	}
	return errors.Join(errs...)
}
