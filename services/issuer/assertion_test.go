package issuer

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tollgate-rpc/tollgate/internal/jwtest"
)

// An assertion is accepted until exp plus the allowed skew, so its jti is
// remembered that long: replays at exp+2s and exp+20s were accepted before.
// An empty jti cannot be remembered and is refused.
func TestAssertionReplayRememberedUntilItCannotValidate(t *testing.T) {
	start := time.Now().Truncate(time.Second)
	clock := jwtest.NewClock(start)
	ts := newTestServer(t, func(c *Config) { c.Now = clock.Now })
	priv, setJSON := clientKey(t)
	c := basicClient("keyed")
	c.JWKS = setJSON
	ts.addClient(t, c)
	sign := func(jti string, exp time.Time) string {
		return signAssertion(t, priv, map[string]any{"iss": "keyed", "sub": "keyed", "aud": ts.URL + "/oauth/token",
			"exp": exp.Unix(), "iat": start.Unix(), "jti": jti})
	}
	send := func(a string) response { return ts.postAssertion(t, a) }
	exp := start.Add(time.Minute)
	a := sign("once", exp)
	if r := send(a); r.status != http.StatusOK {
		t.Fatalf("first use: %d %s", r.status, r.raw)
	}
	for _, after := range []time.Duration{2 * time.Second, 20 * time.Second, 29 * time.Second} {
		clock.Set(exp.Add(after))
		if r := send(a); r.status != http.StatusUnauthorized || !strings.Contains(r.raw, "already used") {
			t.Errorf("replay at exp+%s: %d %s, want 401 already used", after, r.status, r.raw)
		}
	}
	clock.Set(start)
	if r := send(sign("", exp)); r.status != http.StatusUnauthorized || !strings.Contains(r.raw, "empty jti") {
		t.Errorf("empty jti: %d %s, want 401 naming the empty jti", r.status, r.raw)
	}
}

// The replay record lives in the store: a restarted issuer, and every
// replica sharing the store, refuses an assertion another has accepted; of
// one assertion sent to two replicas at once, exactly one use is accepted.
func TestAssertionReplayRefusedAcrossRestartsAndReplicas(t *testing.T) {
	ts := newTestServer(t)
	priv, setJSON := clientKey(t)
	c := basicClient("keyed")
	c.JWKS = setJSON
	ts.addClient(t, c)
	replica := func() *testServer {
		return newTestServer(t, func(c *Config) { c.DataDir, c.Issuer = ts.dataDir, ts.URL })
	}
	sign := func(jti string) string {
		return signAssertion(t, priv, map[string]any{"iss": "keyed", "sub": "keyed", "aud": ts.URL + "/oauth/token",
			"exp": time.Now().Add(time.Minute).Unix(), "jti": jti})
	}
	a := sign("before-restart")
	if r := ts.postAssertion(t, a); r.status != http.StatusOK {
		t.Fatalf("first use: %d %s", r.status, r.raw)
	}
	if err := ts.Close(); err != nil {
		t.Fatal(err)
	}
	restarted := replica()
	if r := restarted.postAssertion(t, a); r.status != http.StatusUnauthorized || !strings.Contains(r.raw, "already used") {
		t.Errorf("replay after a restart: %d %s, want 401 already used", r.status, r.raw)
	}

	other := replica()
	b := sign("raced")
	const each = 8
	statuses := make(chan int, 2*each)
	var wg sync.WaitGroup
	for _, srv := range []*testServer{restarted, other} {
		for range each {
			wg.Go(func() { statuses <- srv.postAssertion(t, b).status })
		}
	}
	wg.Wait()
	close(statuses)
	counts := map[int]int{}
	for s := range statuses {
		counts[s]++
	}
	if counts[http.StatusOK] != 1 || counts[http.StatusUnauthorized] != 2*each-1 {
		t.Errorf("one assertion sent %d times to two replicas: %v, want exactly one 200", 2*each, counts)
	}
}

// When the store cannot record a jti, the assertion is refused: accepting it
// would let it be replayed.
func TestAssertionRefusedWhenItCannotBeRecorded(t *testing.T) {
	ts := newTestServer(t)
	priv, setJSON := clientKey(t)
	c := basicClient("keyed")
	c.JWKS = setJSON
	ts.addClient(t, c)
	// A directory where the replay database belongs: it cannot be opened.
	blocker := filepath.Join(ts.dataDir, "assertions.db")
	if err := os.Mkdir(blocker, 0o700); err != nil {
		t.Fatal(err)
	}
	a := signAssertion(t, priv, map[string]any{"iss": "keyed", "sub": "keyed", "aud": ts.URL + "/oauth/token",
		"exp": time.Now().Add(time.Minute).Unix(), "jti": "unrecordable"})
	r := ts.postAssertion(t, a)
	if r.status != http.StatusServiceUnavailable || r.body["error"] != "temporarily_unavailable" {
		t.Fatalf("assertion that cannot be recorded: %d %s, want 503 temporarily_unavailable", r.status, r.raw)
	}
	if err := os.Remove(blocker); err != nil {
		t.Fatal(err)
	}
	if r := ts.postAssertion(t, a); r.status != http.StatusOK {
		t.Errorf("the same assertion once the store works: %d %s (it was never accepted, so it is not a replay)", r.status, r.raw)
	}
}

func TestDirStoreForgetsAssertionsOnlyAfterTheirTime(t *testing.T) {
	store := OpenDir(t.TempDir())
	defer store.Close()
	ctx := t.Context()
	now := time.Unix(1_000_000, 0)
	until := now.Add(90*time.Second + 300*time.Millisecond)
	use := func(client, jti string, at time.Time) bool {
		t.Helper()
		first, err := store.UseAssertion(ctx, client, jti, until, at)
		if err != nil {
			t.Fatal(err)
		}
		return first
	}
	if !use("a", "j", now) {
		t.Fatal("a new jti was refused")
	}
	if !use("b", "j", now) {
		t.Error("the same jti from another client was refused: jtis are per client")
	}
	for _, at := range []time.Time{now, until.Add(-time.Second), until, until.Add(500 * time.Millisecond)} {
		if use("a", "j", at) {
			t.Errorf("replay at until%+v accepted", at.Sub(until))
		}
	}
	if !use("a", "j", until.Add(2*time.Second)) {
		t.Error("a jti past its time is still refused")
	}
}
