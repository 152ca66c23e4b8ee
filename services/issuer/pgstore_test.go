package issuer

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tollgate-rpc/tollgate/internal/jwtest"
	"github.com/tollgate-rpc/tollgate/internal/pgtest"
)

// testKEK is a key-encryption key for tests: 32 random bytes in base64.
const testKEK = "GW8hdFHzrrRphJz7vM0O708xsz1V61TyFUAO+LXvKD8="

func openTestPG(t testing.TB, url, schema string, keks ...string) *PGStore {
	t.Helper()
	if len(keks) == 0 {
		keks = []string{testKEK}
	}
	kek, err := ParseKeyEncryptionKeys(strings.Join(keks, "\n"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := OpenPG(context.Background(), url, schema, kek)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// The same contract for every backend: what one writes, a second handle
// on the same store (another process, another replica) reads; revisions
// move with every change; jti records expire only after their time.
func TestStoreContract(t *testing.T) {
	backends := map[string]func(t *testing.T) (Store, Store){
		"dir": func(t *testing.T) (Store, Store) {
			dir := t.TempDir()
			a, b := OpenDir(dir), OpenDir(dir)
			t.Cleanup(func() { a.Close(); b.Close() })
			return a, b
		},
		"postgres": func(t *testing.T) (Store, Store) {
			url := pgtest.URL(t)
			schema := pgtest.Schema(t, url)
			return openTestPG(t, url, schema), openTestPG(t, url, schema)
		},
	}
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			a, b := open(t)
			ctx := t.Context()
			c0, k0, err := b.Revision(ctx)
			if err != nil {
				t.Fatal(err)
			}
			c := basicClient("svc")
			c.Created = time.Now().UTC().Truncate(time.Second)
			if _, err := a.UpdateClients(ctx, func(m map[string]*Client) error { m["svc"] = &c; return nil }); err != nil {
				t.Fatal(err)
			}
			got, err := b.Clients(ctx)
			if err != nil || got["svc"] == nil || got["svc"].Name != "svc" || !got["svc"].Created.Equal(c.Created) {
				t.Fatalf("client written through one handle, read through another: %v, %v", got, err)
			}
			if _, err := a.UpdateClients(ctx, func(m map[string]*Client) error {
				m["bad"] = &Client{ID: "bad"} // no audiences: invalid
				return nil
			}); err == nil {
				t.Error("an invalid client was stored")
			}
			ks, err := OpenKeyStore(ctx, a, "ES256", time.Now())
			if err != nil {
				t.Fatal(err)
			}
			kid, err := ks.Rotate(ctx, time.Now(), time.Minute, KeyRetention)
			if err != nil {
				t.Fatal(err)
			}
			other, err := OpenKeyStore(ctx, b, "ES256", time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(other.JWKS(), ks.JWKS()) || !strings.Contains(string(other.JWKS()), kid) {
				t.Errorf("JWKS differ between two handles on one store:\n%s\n%s", ks.JWKS(), other.JWKS())
			}
			if _, err := other.signer(time.Now()); err != nil {
				t.Errorf("the other handle cannot sign: %v", err)
			}
			c1, k1, err := b.Revision(ctx)
			if err != nil || c1 == c0 || k1 == k0 {
				t.Errorf("revisions did not move: clients %s→%s, keys %s→%s (%v)", c0, c1, k0, k1, err)
			}

			now := time.Unix(1_000_000, 0)
			until := now.Add(90*time.Second + 300*time.Millisecond)
			use := func(s Store, client string, at time.Time) bool {
				t.Helper()
				first, err := s.UseAssertion(ctx, client, "j", until, at)
				if err != nil {
					t.Fatal(err)
				}
				return first
			}
			if !use(a, "svc", now) || use(b, "svc", now) || use(b, "svc", until) || !use(b, "other", now) {
				t.Error("jti records: a replay through the other handle, or a per-client jti, went wrong")
			}
			if !use(b, "svc", until.Add(2*time.Second)) {
				t.Error("a jti past its time is still refused")
			}

			// At once through both handles: one jti sent 16 times, and 32
			// distinct ones (on PostgreSQL these share batches).
			var shared, distinct atomic.Int32
			var wg sync.WaitGroup
			for i := range 48 {
				s, jti := []Store{a, b}[i%2], "raced"
				if i >= 16 {
					jti = fmt.Sprint("own-", i)
				}
				wg.Go(func() {
					fresh, err := s.UseAssertion(ctx, "svc", jti, until, now)
					switch {
					case err != nil:
						t.Error(err)
					case fresh && jti == "raced":
						shared.Add(1)
					case fresh:
						distinct.Add(1)
					}
				})
			}
			wg.Wait()
			if shared.Load() != 1 || distinct.Load() != 32 {
				t.Errorf("concurrent uses: the shared jti accepted %d times (want 1), distinct ones %d of 32", shared.Load(), distinct.Load())
			}
			checkRevocationContract(t, a, b)
			if err := a.Ready(ctx); err != nil {
				t.Errorf("Ready: %v", err)
			}
		})
	}
}

// Twenty writers, each with its own connection pool as separate processes
// would have, add a client each at once: all twenty are kept.
func TestPGConcurrentClientAdds(t *testing.T) {
	url := pgtest.URL(t)
	schema := pgtest.Schema(t, url)
	openTestPG(t, url, schema) // migrate once, so the writers race only on clients
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		s := openTestPG(t, url, schema)
		wg.Go(func() {
			c := basicClient(fmt.Sprint("svc-", i))
			_, err := s.UpdateClients(context.Background(), func(m map[string]*Client) error { m[c.ID] = &c; return nil })
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	got, err := openTestPG(t, url, schema).Clients(t.Context())
	if err != nil || len(got) != 20 {
		t.Errorf("%d of 20 clients kept (%v)", len(got), err)
	}
}

// Migrations apply on an empty database and on one a previous version left.
func TestPGMigrations(t *testing.T) {
	url := pgtest.URL(t)
	schema := pgtest.Schema(t, url)
	kek, _ := ParseKeyEncryptionKeys(testKEK)
	old, err := openPG(t.Context(), url, schema, kek, 1)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := old.Version(t.Context()); err != nil || v != 1 {
		t.Fatalf("previous version: %d, %v", v, err)
	}
	c := basicClient("kept")
	if _, err := old.UpdateClients(t.Context(), func(m map[string]*Client) error { m["kept"] = &c; return nil }); err != nil {
		t.Fatal(err)
	}
	old.Close()
	s := openTestPG(t, url, schema)
	if v, err := s.Version(t.Context()); err != nil || v != 3 {
		t.Errorf("after migrating: version %d, %v; want 3", v, err)
	}
	if got, err := s.Clients(t.Context()); err != nil || got["kept"] == nil {
		t.Errorf("a client of the previous version was lost: %v", err)
	}
	if _, err := s.UseAssertion(t.Context(), "kept", "j", time.Now().Add(time.Minute), time.Now()); err != nil {
		t.Errorf("the migrated table: %v", err)
	}
}

// Private keys are encrypted at rest under the key-encryption key; a wrong
// key reads nothing; a rotated KEK list reads old and new, and the next key
// rotation rewrites everything under the new one.
func TestPGKeysEncryptedAtRest(t *testing.T) {
	url := pgtest.URL(t)
	schema := pgtest.Schema(t, url)
	const oldKEK, newKEK = testKEK, "PIffSa1YDL6GWzI6vqSh7nbKaksokYR12klhmxr93C+ISXlTdNcn+yDYsFn2h1kA"
	s := openTestPG(t, url, schema, oldKEK)
	ks, err := OpenKeyStore(t.Context(), s, "ES256", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	k, _ := ks.signer(time.Now())
	var stored []byte
	var doc string
	if err := s.pool.QueryRow(t.Context(), "SELECT private_enc, doc::text FROM signing_keys").Scan(&stored, &doc); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(stored, k.Private) || strings.Contains(doc, `"d"`) || bytes.Contains(stored, []byte(`"d"`)) {
		t.Error("the private key is stored in the clear")
	}
	if _, err := openTestPG(t, url, schema, newKEK).Keys(t.Context()); err == nil || !strings.Contains(err.Error(), "cannot decrypt") {
		t.Errorf("keys read with the wrong key-encryption key: %v", err)
	}
	both := openTestPG(t, url, schema, newKEK, oldKEK)
	ks2, err := OpenKeyStore(t.Context(), both, "ES256", time.Now())
	if err != nil {
		t.Fatalf("new KEK first, old kept: %v", err)
	}
	if _, err := ks2.Rotate(t.Context(), time.Now(), time.Minute, KeyRetention); err != nil {
		t.Fatal(err)
	}
	if keys, err := openTestPG(t, url, schema, newKEK).Keys(t.Context()); err != nil || len(keys) != 2 {
		t.Errorf("after a rotation under the new KEK alone: %d keys, %v", len(keys), err)
	}
}

// The database URL's password never shows in an error.
func TestPGErrorsHideThePassword(t *testing.T) {
	kek, _ := ParseKeyEncryptionKeys(testKEK)
	for _, url := range []string{
		"postgres://tollgate:s3cret-pw@127.0.0.1:1/db?sslmode=disable&connect_timeout=2",
		"postgres://tollgate:s3cret-pw@127.0.0.1:1/db?sslmode=bogus",
	} {
		_, err := OpenPG(context.Background(), url, "tollgate", kek)
		if err == nil || strings.Contains(err.Error(), "s3cret-pw") {
			t.Errorf("error %v (want one, without the password)", err)
		}
	}
}

// The key that encrypts must be key material: base64 of 32 or more random
// bytes. Placeholders (the manifests' own), patterns and passphrases are
// refused, saying why; a passphrase of an earlier release may stay after
// the first key, to decrypt while rotating away from it.
func TestKeyEncryptionKeyRules(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"short", "not base64"},
		{"REPLACE-with-32-or-more-random-characters-first-one-encrypts", "placeholder"},
		{strings.Repeat("a", 44), "too little entropy"},
		{base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1, 2, 3, 4}, 10)), "too little entropy"},
		{base64.StdEncoding.EncodeToString(make([]byte, 16)), "16 bytes of key material"},
		{"a passphrase of more than thirty-two characters", "not base64"},
		{"", "no key-encryption key"},
	} {
		_, err := ParseKeyEncryptionKeys(tc.text)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseKeyEncryptionKeys(%q) = %v, want an error saying %q", tc.text, err, tc.want)
		}
	}
	if _, err := ParseKeyEncryptionKeys(testKEK + "\n# the old one, until the next rotation\nan old passphrase of thirty-two or more chars"); err != nil {
		t.Errorf("random key first, an old passphrase after it: %v", err)
	}
	if _, err := ParseKeyEncryptionKeys(testKEK + "\nshort"); err == nil {
		t.Error("a short decrypt-only key was accepted")
	}
	// The value the Kubernetes manifests ship is refused by name.
	manifest, err := os.ReadFile("../../deploy/k8s/base/secrets.yaml")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*keys: (\S+)$`).FindSubmatch(manifest)
	if m == nil {
		t.Fatal("no keys: line in deploy/k8s/base/secrets.yaml")
	}
	if _, err := ParseKeyEncryptionKeys(string(m[1])); err == nil || !strings.Contains(err.Error(), "placeholder") {
		t.Errorf("the manifests' key-encryption key %q: %v, want it refused as a placeholder", m[1], err)
	}
}

// Two issuer replicas on one database serve byte-identical JWKS, see each
// other's clients after a refresh, and refuse each other's replays; the
// readiness probe fails once the database is gone.
func TestPGReplicasAgree(t *testing.T) {
	url := pgtest.URL(t)
	schema := pgtest.Schema(t, url)
	a := newTestServer(t, func(c *Config) { c.Store = openTestPG(t, url, schema) })
	b := newTestServer(t, func(c *Config) { c.Store = openTestPG(t, url, schema); c.Issuer = a.URL })
	if !bytes.Equal(a.Keys().JWKS(), b.Keys().JWKS()) {
		t.Errorf("replicas serve different JWKS")
	}
	secret := a.addClient(t, basicClient("svc"))
	b.Refresh(t.Context())
	if r := b.post(t, form("grant_type", "client_credentials"), basicAuth("svc", secret)); r.status != http.StatusOK {
		t.Errorf("client added at one replica, token at the other: %d %s", r.status, r.raw)
	}
	if r := do(t, mustRequest(t, b.URL+"/readyz")); r.status != http.StatusOK {
		t.Errorf("readyz with the database up: %d", r.status)
	}
	b.store.Close()
	if r := do(t, mustRequest(t, b.URL+"/readyz")); r.status != http.StatusServiceUnavailable {
		t.Errorf("readyz without the database: %d, want 503", r.status)
	}
}

func mustRequest(t *testing.T, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// Three replicas on one database tick their rotation schedules at once,
// when a rotation is due: exactly one new key, and every replica serves the
// same JWKS afterwards.
func TestPGScheduledRotationHappensOnce(t *testing.T) {
	url := pgtest.URL(t)
	schema := pgtest.Schema(t, url)
	start := time.Now()
	clock := jwtest.NewClock(start)
	var replicas []*testServer
	for range 3 {
		replicas = append(replicas, newTestServer(t, func(c *Config) {
			c.Store, c.Now, c.RotationInterval = openTestPG(t, url, schema), clock.Now, time.Hour
		}))
	}
	before := replicas[0].Keys().JWKS()
	clock.Add(time.Hour)
	var wg sync.WaitGroup
	for _, r := range replicas {
		wg.Go(func() { r.rotationTick(t.Context()) })
	}
	wg.Wait()
	keys, err := replicas[0].store.Keys(t.Context())
	if err != nil || len(keys) != 2 {
		t.Fatalf("%d keys after three replicas ticked a due rotation, want 2 (one rotation): %v", len(keys), err)
	}
	for _, r := range replicas {
		r.Refresh(t.Context())
	}
	after := replicas[0].Keys().JWKS()
	if bytes.Equal(before, after) {
		t.Error("the JWKS did not change")
	}
	for i, r := range replicas[1:] {
		if !bytes.Equal(r.Keys().JWKS(), after) {
			t.Errorf("replica %d serves another JWKS", i+1)
		}
	}
}

// One batch holding the same jti twice accepts it once, and a record that
// has not expired by the batch's earliest clock is kept.
func TestPGAssertionBatch(t *testing.T) {
	url := pgtest.URL(t)
	s := openTestPG(t, url, pgtest.Schema(t, url))
	now := time.Unix(2_000_000, 0)
	use := func(jti string, at time.Time) *assertionUse {
		return &assertionUse{client: "svc", jti: jti, until: now.Add(time.Minute), now: at, done: make(chan assertionResult, 1)}
	}
	answers := func(batch ...*assertionUse) []bool {
		s.writeAssertions(t.Context(), batch)
		var got []bool
		for _, u := range batch {
			r := <-u.done
			if r.err != nil {
				t.Fatal(r.err)
			}
			got = append(got, r.fresh)
		}
		return got
	}
	if got := answers(use("a", now), use("b", now), use("a", now)); fmt.Sprint(got) != "[true true false]" {
		t.Errorf("batch with a repeated jti: %v, want [true true false]", got)
	}
	// "a" is kept until now+1m: a batch whose earliest clock is before that
	// refuses it, even beside a request whose clock is past it.
	if got := answers(use("c", now.Add(2*time.Minute)), use("a", now.Add(2*time.Minute)), use("d", now)); fmt.Sprint(got) != "[true false true]" {
		t.Errorf("batch spanning the record's expiry: %v, want [true false true]", got)
	}
	if got := answers(use("a", now.Add(2*time.Minute))); fmt.Sprint(got) != "[true]" {
		t.Errorf("an expired record: %v, want [true]", got)
	}
}

// Requests that arrive while a batch is being written go together in the
// next one, and close waits for the batches in flight.
func TestAssertionBatcherGroupsWaitingRequests(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		var mu sync.Mutex
		var sizes []int
		b := &assertionBatcher{write: func(_ context.Context, batch []*assertionUse) {
			<-release
			mu.Lock()
			sizes = append(sizes, len(batch))
			mu.Unlock()
			for _, u := range batch {
				u.done <- assertionResult{fresh: true}
			}
		}}
		var wg sync.WaitGroup
		use := func(jti string) {
			wg.Go(func() {
				if fresh, err := b.use(t.Context(), &assertionUse{client: "svc", jti: jti}); !fresh || err != nil {
					t.Errorf("%s: %v %v", jti, fresh, err)
				}
			})
		}
		use("first")
		synctest.Wait() // the first batch is in flight, alone
		use("second")
		synctest.Wait() // so is the second: every writer is busy
		for i := range 10 {
			use(fmt.Sprint("waiting-", i))
		}
		synctest.Wait() // the ten wait in the queue
		close(release)
		wg.Wait()
		b.close()
		slices.Sort(sizes)
		if fmt.Sprint(sizes) != "[1 1 10]" {
			t.Errorf("batch sizes %v, want [1 1 10]", sizes)
		}
		if _, err := b.use(t.Context(), &assertionUse{client: "svc", jti: "late"}); err != errStoreClosed {
			t.Errorf("use after close: %v, want errStoreClosed", err)
		}
	})
}

// Without key-encryption keys a store serves clients and revocations, and
// refuses every signing-key read or write, saying what it needs.
func TestPGWithoutKEK(t *testing.T) {
	url := pgtest.URL(t)
	schema := pgtest.Schema(t, url)
	withKEK := openTestPG(t, url, schema)
	if _, err := OpenKeyStore(t.Context(), withKEK, "ES256", time.Now()); err != nil {
		t.Fatal(err)
	}
	s, err := OpenPG(t.Context(), url, schema, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Clients(t.Context()); err != nil {
		t.Errorf("clients without a key-encryption key: %v", err)
	}
	if err := s.Revoke(t.Context(), []Revocation{TokenRevocation("", "j", time.Now().Add(time.Hour))}, time.Now()); err != nil {
		t.Errorf("a revocation without a key-encryption key: %v", err)
	}
	if _, err := s.Keys(t.Context()); !errors.Is(err, errNoKEK) {
		t.Errorf("signing keys without a key-encryption key: %v, want %v", err, errNoKEK)
	}
}
