package issuer

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
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

//go:embed pgmigrations/*.sql
var pgMigrations embed.FS

var validSchema = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// OpenPG connects to the database at dbURL, makes schema and applies the
// migrations it lacks. Errors never show the URL's password.
func OpenPG(ctx context.Context, dbURL, schema string, kek KeyEncryptionKeys) (*PGStore, error) {
	return openPG(ctx, dbURL, schema, kek, -1)
}

// openPG applies migrations up to version upTo (-1: all), for tests of an
// older database.
func openPG(ctx context.Context, dbURL, schema string, kek KeyEncryptionKeys, upTo int) (*PGStore, error) {
	if !validSchema.MatchString(schema) {
		return nil, fmt.Errorf("database schema %q: use 1-63 of [a-z0-9_], not starting with a digit", schema)
	}
	if len(kek) == 0 {
		return nil, errors.New("no key-encryption key: private signing keys are never stored in the clear")
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

// migrate applies the numbered migrations the database lacks, each in its
// own transaction, under a lock so that replicas starting together apply
// each once.
func (s *PGStore) migrate(ctx context.Context, upTo int) error {
	entries, err := fs.ReadDir(pgMigrations, "pgmigrations")
	if err != nil {
		return err
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	// A session lock: held across the migrations' transactions.
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock(hashtext($1))", s.schema+".migrate"); err != nil {
		return fmt.Errorf("lock for migrations: %w", err)
	}
	defer func() {
		_, _ = conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(hashtext($1))", s.schema+".migrate")
	}()
	ident := pgx.Identifier{s.schema}.Sanitize()
	if _, err := conn.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+ident); err != nil {
		return fmt.Errorf("create schema %s: %w", s.schema, err)
	}
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return fmt.Errorf("migrations table: %w", err)
	}
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		version, err := strconv.Atoi(num)
		if !ok || err != nil {
			return fmt.Errorf("migration %s: name must start with its number", e.Name())
		}
		if upTo >= 0 && version > upTo {
			break
		}
		sql, err := pgMigrations.ReadFile("pgmigrations/" + e.Name())
		if err != nil {
			return err
		}
		err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			var applied bool
			if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)", version).Scan(&applied); err != nil || applied {
				return err
			}
			if _, err := tx.Exec(ctx, string(sql)); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", version, e.Name())
			return err
		})
		if err != nil {
			return fmt.Errorf("migration %s: %w", e.Name(), err)
		}
	}
	return nil
}

// Version returns the newest migration applied.
func (s *PGStore) Version(ctx context.Context) (int, error) {
	var v int
	err := s.pool.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&v)
	return v, err
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

// UseAssertion implements [Store]: the record is one upsert, so that two
// replicas presented the same assertion at once cannot both accept it,
// written in a batch with the concurrent requests' records.
func (s *PGStore) UseAssertion(ctx context.Context, client, jti string, until, now time.Time) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, StoreTimeout)
	defer cancel()
	return s.assertions.use(ctx, &assertionUse{client: client, jti: jti, until: until, now: now})
}

// writeAssertions records a batch of jti in one statement and answers each.
// A record may be replaced only once it has expired; the batch's earliest
// "now" decides that, so batching never accepts what one-by-one would refuse.
func (s *PGStore) writeAssertions(ctx context.Context, batch []*assertionUse) {
	ctx, cancel := context.WithTimeout(ctx, StoreTimeout)
	defer cancel()
	batch = dedupe(batch)
	clients, jtis, untils := make([]string, len(batch)), make([]string, len(batch)), make([]time.Time, len(batch))
	now := batch[0].now
	for i, u := range batch {
		clients[i], jtis[i], untils[i] = u.client, u.jti, u.until
		if u.now.Before(now) {
			now = u.now
		}
	}
	fresh, err := s.insertAssertions(ctx, clients, jtis, untils, now)
	for _, u := range batch {
		u.done <- assertionResult{fresh: fresh[[2]string{u.client, u.jti}], err: err}
	}
}

func (s *PGStore) insertAssertions(ctx context.Context, clients, jtis []string, untils []time.Time, now time.Time) (map[[2]string]bool, error) {
	s.mu.Lock()
	prune := now.Sub(s.pruned) >= replayPruneEvery
	if prune {
		s.pruned = now
	}
	s.mu.Unlock()
	if prune {
		if _, err := s.pool.Exec(ctx, "DELETE FROM used_assertions WHERE until < $1", now); err != nil {
			return nil, fmt.Errorf("prune assertion records: %w", err)
		}
	}
	rows, err := s.pool.Query(ctx, `INSERT INTO used_assertions (client_id, jti, until)
		SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[])
		ON CONFLICT (client_id, jti) DO UPDATE SET until = excluded.until WHERE used_assertions.until < $4
		RETURNING client_id, jti`, clients, jtis, untils, now)
	if err != nil {
		return nil, fmt.Errorf("record assertion: %w", err)
	}
	fresh := make(map[[2]string]bool, len(clients))
	for rows.Next() {
		var k [2]string
		if err := rows.Scan(&k[0], &k[1]); err != nil {
			rows.Close()
			return nil, fmt.Errorf("record assertion: %w", err)
		}
		fresh[k] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("record assertion: %w", err)
	}
	return fresh, nil
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

// KeyEncryptionKeys encrypt signing keys at rest, as Hydra's SECRETS_SYSTEM
// does: the first key encrypts, every key decrypts. To rotate, put a new
// secret first and keep the old one after it until every stored key has
// been rewritten under the new one (the next key rotation rewrites them all);
// then drop the old one.
type KeyEncryptionKeys []cipher.AEAD

// ParseKeyEncryptionKeys reads secrets, one per line (blank lines and #
// comments ignored); each becomes an AES-256-GCM key through SHA-256. The
// first, which encrypts, must be key material: base64 of at least 32
// random bytes, as `openssl rand -base64 32` prints. Placeholders and
// low-entropy values are refused by name; a line after the first (one that
// only decrypts, kept while rotating away from it) may still be a
// passphrase of 32 or more characters, as earlier releases accepted.
func ParseKeyEncryptionKeys(text string) (KeyEncryptionKeys, error) {
	var out KeyEncryptionKeys
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if err := checkKEK(line, len(out) == 0); err != nil {
			return nil, fmt.Errorf("key-encryption key on line %d: %w", i+1, err)
		}
		sum := sha256.Sum256([]byte(line))
		block, err := aes.NewCipher(sum[:])
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		out = append(out, aead)
	}
	if len(out) == 0 {
		return nil, errors.New("no key-encryption key given")
	}
	return out, nil
}

// minKEKBytes is how much key material an encrypting KEK carries.
const minKEKBytes = 32

// kekPlaceholders are words of the values that examples and manifests ship
// (never usable, whatever their length).
var kekPlaceholders = []string{"replace", "changeme", "change-me", "placeholder"}

// checkKEK refuses a key-encryption key anyone could guess. encrypts is
// set for the first key, which must be base64 key material; the others
// only decrypt what is stored (rotating away from them), so they need only
// be what earlier releases accepted.
func checkKEK(line string, encrypts bool) error {
	const howTo = "make one with `openssl rand -base64 32`"
	if !encrypts {
		if len(line) < 32 {
			return fmt.Errorf("%d characters; at least 32", len(line))
		}
		return nil
	}
	lower := strings.ToLower(line)
	for _, p := range kekPlaceholders {
		if strings.Contains(lower, p) {
			return fmt.Errorf("a placeholder (it contains %q), not a key; %s", p, howTo)
		}
	}
	material, err := decodeBase64(line)
	if err != nil {
		return fmt.Errorf("not base64 key material; %s", howTo)
	}
	if len(material) < minKEKBytes {
		return fmt.Errorf("%d bytes of key material; at least %d (%s)", len(material), minKEKBytes, howTo)
	}
	// 32 random bytes hold about 30 distinct values; fewer than 16 means a
	// pattern, not a key.
	distinct := map[byte]bool{}
	for _, c := range material {
		distinct[c] = true
	}
	if len(distinct) < 16 {
		return fmt.Errorf("too little entropy (%d distinct values in %d bytes): a pattern, not a random key; %s", len(distinct), len(material), howTo)
	}
	return nil
}

// decodeBase64 reads standard or URL-safe base64, padded or not.
func decodeBase64(s string) ([]byte, error) {
	var err error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		var b []byte
		if b, err = enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, err
}

func (k KeyEncryptionKeys) seal(plain []byte, kid string) ([]byte, error) {
	nonce := make([]byte, k[0].NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return k[0].Seal(nonce, nonce, plain, []byte(kid)), nil
}

func (k KeyEncryptionKeys) open(sealed []byte, kid string) ([]byte, error) {
	for _, aead := range k {
		n := aead.NonceSize()
		if len(sealed) < n {
			break
		}
		if plain, err := aead.Open(nil, sealed[:n], sealed[n:], []byte(kid)); err == nil {
			return plain, nil
		}
	}
	return nil, errors.New("cannot decrypt the private key with any key-encryption key given")
}

var _ Store = (*PGStore)(nil)
