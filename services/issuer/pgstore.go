package issuer

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/tollgate-rpc/tollgate/services/internal/sqldb"
)

// StoreTimeout bounds every call to the issuer's database: a frozen
// database fails token requests that need it (a key assertion's jti) with
// 503 temporarily_unavailable, and reloads (which then count towards the
// replica's staleness), instead of holding them without end.
const StoreTimeout = 5 * time.Second

// PGStore is the [Store] on PostgreSQL, for several issuer replicas: every
// change is a transaction under an advisory lock that rereads what it
// changes, replicas reload when the revision counters move, and jti records
// are one atomic upsert. Private signing keys are encrypted at rest with a
// key-encryption key ([KeyEncryptionKeys]).
type PGStore struct {
	pool   *pgxpool.Pool
	schema string
	kek    KeyEncryptionKeys

	assertions assertionBatcher

	mu     sync.Mutex // guards pruned
	pruned time.Time
}

var validSchema = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// OpenPG connects to the database at dbURL, makes schema and applies the
// migrations it lacks. Errors never show the URL's password. Without kek
// (commands that manage clients or revocations only) every signing-key
// read or write fails, saying the key is needed: private keys are never
// stored in the clear.
func OpenPG(ctx context.Context, dbURL, schema string, kek KeyEncryptionKeys) (*PGStore, error) {
	return openPG(ctx, dbURL, schema, kek, -1)
}

// openPG applies migrations up to version upTo (-1: all), for tests of an
// older database.
func openPG(ctx context.Context, dbURL, schema string, kek KeyEncryptionKeys, upTo int) (*PGStore, error) {
	if !validSchema.MatchString(schema) {
		return nil, fmt.Errorf("database schema %q: use 1-63 of [a-z0-9_], not starting with a digit", schema)
	}
	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		return nil, fmt.Errorf("database URL %s: %s", RedactURL(dbURL), sqldb.Redact(err.Error(), dbURL))
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("database %s: %s", RedactURL(dbURL), sqldb.Redact(err.Error(), dbURL))
	}
	s := &PGStore{pool: pool, schema: schema, kek: kek}
	s.assertions.write = s.writeAssertions
	if err := s.migrate(ctx, upTo); err != nil {
		pool.Close()
		return nil, fmt.Errorf("database %s: %w", RedactURL(dbURL), err)
	}
	return s, nil
}

// RedactURL returns a database URL with its password replaced, for logs
// and errors.
func RedactURL(dbURL string) string {
	u, err := url.Parse(dbURL)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// update runs fn in a transaction holding the lock named what, and bumps
// what's revision when fn reports a change.
func (s *PGStore) update(ctx context.Context, what string, fn func(tx pgx.Tx) (changed bool, err error)) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtext($1))", s.schema+"."+what); err != nil {
			return err
		}
		changed, err := fn(tx)
		if err != nil || !changed {
			return err
		}
		_, err = tx.Exec(ctx, "UPDATE revisions SET rev = rev + 1 WHERE name = $1", what)
		return err
	})
}

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// Clients implements [Store].
func (s *PGStore) Clients(ctx context.Context) (map[string]*Client, error) {
	ctx, cancel := context.WithTimeout(ctx, StoreTimeout)
	defer cancel()
	return s.readClients(ctx, s.pool)
}

func (s *PGStore) readClients(ctx context.Context, q querier) (map[string]*Client, error) {
	rows, err := q.Query(ctx, "SELECT doc FROM clients ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("read clients: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*Client, error) {
		var c Client
		err := r.Scan(&c)
		return &c, err
	})
	if err != nil {
		return nil, fmt.Errorf("read clients: %w", err)
	}
	return checkClients(list, "clients table")
}

// UpdateClients implements [Store]: the whole registry is rewritten in one
// transaction, so every replica sees all of a change or none of it.
func (s *PGStore) UpdateClients(ctx context.Context, fn func(map[string]*Client) error) (map[string]*Client, error) {
	ctx, cancel := context.WithTimeout(ctx, StoreTimeout)
	defer cancel()
	var out map[string]*Client
	err := s.update(ctx, "clients", func(tx pgx.Tx) (bool, error) {
		clients, err := s.readClients(ctx, tx)
		if err != nil {
			return false, err
		}
		if err := fn(clients); err != nil {
			return false, err
		}
		list, err := sortedClients(clients)
		if err != nil {
			return false, err
		}
		if _, err := tx.Exec(ctx, "DELETE FROM clients"); err != nil {
			return false, err
		}
		for _, c := range list {
			if _, err := tx.Exec(ctx, "INSERT INTO clients (id, doc) VALUES ($1, $2)", c.ID, c); err != nil {
				return false, err
			}
		}
		out = clients
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Keys implements [Store].
func (s *PGStore) Keys(ctx context.Context) ([]*SigningKey, error) {
	ctx, cancel := context.WithTimeout(ctx, StoreTimeout)
	defer cancel()
	return s.readKeys(ctx, s.pool)
}

func (s *PGStore) readKeys(ctx context.Context, q querier) ([]*SigningKey, error) {
	rows, err := q.Query(ctx, "SELECT kid, doc, private_enc FROM signing_keys ORDER BY position")
	if err != nil {
		return nil, fmt.Errorf("read signing keys: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*SigningKey, error) {
		var kid string
		var k SigningKey
		var enc []byte
		if err := r.Scan(&kid, &k, &enc); err != nil {
			return nil, fmt.Errorf("read signing keys: %w", err)
		}
		private, err := s.kek.open(enc, kid)
		if err != nil {
			return nil, fmt.Errorf("signing key %s: %w", kid, err)
		}
		k.Kid, k.Private = kid, private
		return &k, nil
	})
}

// UpdateKeys implements [Store].
func (s *PGStore) UpdateKeys(ctx context.Context, fn func([]*SigningKey) ([]*SigningKey, bool, error)) ([]*SigningKey, error) {
	ctx, cancel := context.WithTimeout(ctx, StoreTimeout)
	defer cancel()
	var out []*SigningKey
	err := s.update(ctx, "keys", func(tx pgx.Tx) (bool, error) {
		keys, err := s.readKeys(ctx, tx)
		if err != nil {
			return false, err
		}
		next, changed, err := fn(keys)
		if err != nil {
			return false, err
		}
		out = next
		if !changed {
			return false, nil
		}
		if _, err := tx.Exec(ctx, "DELETE FROM signing_keys"); err != nil {
			return false, err
		}
		for i, k := range next {
			enc, err := s.kek.seal(k.Private, k.Kid)
			if err != nil {
				return false, err
			}
			public := *k
			public.Private = nil
			if _, err := tx.Exec(ctx, "INSERT INTO signing_keys (kid, position, doc, private_enc) VALUES ($1, $2, $3, $4)",
				k.Kid, i, &public, enc); err != nil {
				return false, err
			}
		}
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Revision implements [Store]: the revision counters that every change
// bumps. Replicas poll them (one indexed read every few seconds) rather than
// LISTEN: a poll needs no connection held open per replica, survives a
// database restart without resubscribing, and its interval bounds how late a
// replica can be.
func (s *PGStore) Revision(ctx context.Context) (clients, keys string, err error) {
	ctx, cancel := context.WithTimeout(ctx, StoreTimeout)
	defer cancel()
	rows, err := s.pool.Query(ctx, "SELECT name, rev FROM revisions")
	if err != nil {
		return "", "", err
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var rev int64
		if err := rows.Scan(&name, &rev); err != nil {
			return "", "", err
		}
		switch name {
		case "clients":
			clients = strconv.FormatInt(rev, 10)
		case "keys":
			keys = strconv.FormatInt(rev, 10)
		}
	}
	return clients, keys, rows.Err()
}

// Ready implements [Store]: the database answers.
func (s *PGStore) Ready(ctx context.Context) error { return s.pool.Ping(ctx) }

// Close implements [Store].
func (s *PGStore) Close() error {
	s.assertions.close()
	s.pool.Close()
	return nil
}

var _ Store = (*PGStore)(nil)
