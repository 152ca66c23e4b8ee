package issuer

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// checkRevocationContract: revocations written through one handle are read
// through the other in Seq order, after a cursor, and only while in force;
// revocations written at once from both handles get distinct Seqs, none
// lost; a malformed revocation is refused.
func checkRevocationContract(t *testing.T, a, b Store) {
	t.Helper()
	ctx := t.Context()
	now := time.Unix(2_000_000, 0)
	log, got, err := b.Revocations(ctx, 0, now)
	if err != nil || len(got) != 0 || len(log) < 16 {
		t.Fatalf("revocations of an empty store: log %q, %v, %v", log, got, err)
	}
	first := []Revocation{ClientRevocation("svc", now), TokenRevocation("svc", "jti-1", now.Add(time.Minute))}
	if err := a.Revoke(ctx, first, now); err != nil {
		t.Fatal(err)
	}
	logA, got, err := a.Revocations(ctx, 0, now)
	if err != nil || logA != log {
		t.Fatalf("two handles on one store see logs %q and %q (%v)", log, logA, err)
	}
	_, got, err = b.Revocations(ctx, 0, now)
	if err != nil || len(got) != 2 || got[0].Seq >= got[1].Seq || got[0].ClientID != "svc" || got[0].IssuedBefore != now.Unix()+1 || got[1].JTI != "jti-1" {
		t.Fatalf("read back: %+v, %v", got, err)
	}
	cursor := got[1].Seq
	var wg sync.WaitGroup
	for i := range 20 {
		s := []Store{a, b}[i%2]
		wg.Go(func() {
			if err := s.Revoke(ctx, []Revocation{TokenRevocation("", fmt.Sprint("raced-", i), now.Add(time.Hour))}, now); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	_, later, err := a.Revocations(ctx, cursor, now)
	if err != nil || len(later) != 20 {
		t.Fatalf("after the cursor: %d revocations (%v), want the 20 written at once", len(later), err)
	}
	for i := 1; i < len(later); i++ {
		if later[i].Seq <= later[i-1].Seq {
			t.Fatalf("Seqs out of order: %d after %d", later[i].Seq, later[i-1].Seq)
		}
	}
	// Past jti-1's time it is no longer read, and the next write drops it.
	past := now.Add(2 * time.Minute)
	if _, got, _ := b.Revocations(ctx, 0, past); len(got) != 21 {
		t.Errorf("at %s: %d revocations in force, want 21 (jti-1 expired)", past, len(got))
	}
	for _, bad := range []Revocation{{Until: 1}, {ClientID: "svc", Until: 1}, {JTI: "j", IssuedBefore: 1, Until: 1}, {JTI: "j"},
		{JTI: strings.Repeat("j", 257), Until: 1}} {
		if err := a.Revoke(ctx, []Revocation{bad}, now); err == nil {
			t.Errorf("revocation %+v stored", bad)
		}
	}
}

// getFeed asks the issuer's revocation feed for what came after cursor.
func getFeed(t *testing.T, base string, after int64, wait string) (revocationFeed, int) {
	t.Helper()
	resp, err := http.Get(base + "/oauth/revocations?" + url.Values{"after": {fmt.Sprint(after)}, "wait": {wait}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var feed revocationFeed
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(&feed); err != nil {
			t.Fatal(err)
		}
	}
	return feed, resp.StatusCode
}

// The feed answers the whole set at once, a cursor with nothing after it
// with an empty list, and refuses malformed requests; discovery names it.
func TestRevocationFeed(t *testing.T) {
	ts := newTestServer(t)
	ts.addClient(t, basicClient("svc"))
	if err := ts.Clients().RevokeTokens(t.Context(), "svc", time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := ts.pollRevocations(t.Context()); err != nil {
		t.Fatal(err)
	}
	all, code := getFeed(t, ts.URL, 0, "0s")
	if code != http.StatusOK || len(all.Revocations) != 1 || all.Revocations[0].ClientID != "svc" || all.Cursor != all.Revocations[0].Seq {
		t.Fatalf("the whole set: %d %+v", code, all)
	}
	if none, _ := getFeed(t, ts.URL, all.Cursor, "0s"); len(none.Revocations) != 0 || none.Cursor != all.Cursor || none.Log != all.Log {
		t.Fatalf("nothing new, not waiting: %+v", none)
	}
	// A cursor in another log counts for nothing: the whole set, at once.
	resp, err := http.Get(ts.URL + "/oauth/revocations?" + url.Values{"after": {"99"}, "log": {"another"}, "wait": {"50s"}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	var other revocationFeed
	err = json.NewDecoder(resp.Body).Decode(&other)
	resp.Body.Close()
	if err != nil || other.Log != all.Log || len(other.Revocations) != 1 || other.Cursor != all.Cursor {
		t.Fatalf("a cursor in another log: %+v, %v; want the whole set of log %s", other, err, all.Log)
	}

	for _, q := range []string{"after=-1", "after=x", "wait=forever"} {
		resp, err := http.Get(ts.URL + "/oauth/revocations?" + q)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", q, resp.StatusCode)
		}
	}
	var meta map[string]any
	resp, err = http.Get(ts.URL + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&meta); err != nil {
		t.Fatal(err)
	}
	if meta["tollgate_revocation_feed_endpoint"] != ts.URL+"/oauth/revocations" {
		t.Errorf("discovery names the feed as %v", meta["tollgate_revocation_feed_endpoint"])
	}
}

// A token issued after a revocation of its client is not covered by it,
// even within the revocation's second: its iat is at least the bound.
func TestTokenAfterRevocationIsNotRevoked(t *testing.T) {
	ts := newTestServer(t)
	secret := ts.addClient(t, basicClient("svc"))
	now := time.Now()
	if err := ts.Clients().RevokeTokens(t.Context(), "svc", now); err != nil {
		t.Fatal(err)
	}
	if err := ts.pollRevocations(t.Context()); err != nil {
		t.Fatal(err)
	}
	bound := ClientRevocation("svc", now).IssuedBefore
	res := ts.post(t, form("grant_type", "client_credentials"), basicAuth("svc", secret))
	if res.status != http.StatusOK {
		t.Fatalf("token: %d %s", res.status, res.raw)
	}
	var claims accessClaims
	if err := decodeSegment(strings.Split(res.body["access_token"].(string), ".")[1], &claims); err != nil {
		t.Fatal(err)
	}
	if claims.IssuedAt < bound || claims.IssuedAt > bound || claims.NotBefore > now.Unix() {
		t.Errorf("iat %d, nbf %d: want iat at the revocation's bound %d and nbf not after now %d", claims.IssuedAt, claims.NotBefore, bound, now.Unix())
	}
}

// A request with nothing new waits: the next revocation read answers it,
// with that revocation alone; with none, it answers an empty list and its
// own cursor once its wait is over.
func TestRevocationFeedWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, err := New(Config{Issuer: "https://issuer.test", DataDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		serve := func(query string) (*httptest.ResponseRecorder, chan struct{}) {
			rec, done := httptest.NewRecorder(), make(chan struct{})
			go func() {
				defer close(done)
				s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/oauth/revocations?"+query, nil))
			}()
			synctest.Wait()
			return rec, done
		}
		decode := func(rec *httptest.ResponseRecorder) revocationFeed {
			var f revocationFeed
			if err := json.Unmarshal(rec.Body.Bytes(), &f); err != nil {
				t.Fatalf("%d %s: %v", rec.Code, rec.Body, err)
			}
			return f
		}

		rec, done := serve("after=0&wait=50s")
		select {
		case <-done:
			t.Fatalf("answered with nothing to say: %s", rec.Body)
		default:
		}
		if err := s.store.Revoke(t.Context(), []Revocation{TokenRevocation("svc", "leaked", time.Now().Add(time.Hour))}, time.Now()); err != nil {
			t.Fatal(err)
		}
		if err := s.pollRevocations(t.Context()); err != nil {
			t.Fatal(err)
		}
		<-done
		got := decode(rec)
		if len(got.Revocations) != 1 || got.Revocations[0].JTI != "leaked" || got.Cursor != got.Revocations[0].Seq {
			t.Fatalf("woken by a revocation: %+v", got)
		}

		rec, done = serve(fmt.Sprintf("after=%d&wait=30s", got.Cursor))
		time.Sleep(30 * time.Second)
		<-done
		if idle := decode(rec); len(idle.Revocations) != 0 || idle.Cursor != got.Cursor {
			t.Errorf("a wait with nothing new: %+v, want no revocations and cursor %d", idle, got.Cursor)
		}

		// Shutting down answers a waiting request at once, so that a
		// graceful stop does not wait out the poll.
		rec, done = serve(fmt.Sprintf("after=%d&wait=50s", got.Cursor))
		s.Drain()
		synctest.Wait()
		select {
		case <-done:
		default:
			t.Fatal("a waiting feed request outlived Drain")
		}
		if drained := decode(rec); len(drained.Revocations) != 0 || drained.Cursor != got.Cursor {
			t.Errorf("drained: %+v", drained)
		}
	})
}

// replacedStore reports another revocation log, with other revocations,
// once replaced is set: a store migrated or recreated under a running
// issuer.
type replacedStore struct {
	Store
	replaced atomic.Bool
}

func (s *replacedStore) Revocations(ctx context.Context, after int64, now time.Time) (string, []Revocation, error) {
	if !s.replaced.Load() {
		return s.Store.Revocations(ctx, after, now)
	}
	var rs []Revocation
	if after < 1 {
		rs = []Revocation{{Seq: 1, JTI: "in-the-new-log", Until: now.Add(time.Hour).Unix()}}
	}
	return "new-log", rs, nil
}

// An issuer whose store's revocation log changes reads the new log whole
// and serves it alone: what the old log held is gone, Seqs start afresh.
func TestIssuerFollowsANewRevocationLog(t *testing.T) {
	store := &replacedStore{Store: OpenDir(t.TempDir())}
	s, err := New(Config{Issuer: "https://issuer.test", Store: store})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	now := time.Now()
	for i := range 3 {
		if err := store.Revoke(t.Context(), []Revocation{TokenRevocation("", fmt.Sprint("old-", i), now.Add(time.Hour))}, now); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.pollRevocations(t.Context()); err != nil {
		t.Fatal(err)
	}
	if list, _, cursor, _ := s.revoked.since(0); len(list) != 3 || cursor != 3 {
		t.Fatalf("the first log: %d revocations, cursor %d", len(list), cursor)
	}
	store.replaced.Store(true)
	if err := s.pollRevocations(t.Context()); err != nil {
		t.Fatal(err)
	}
	list, log, cursor, _ := s.revoked.since(0)
	if log != "new-log" || len(list) != 1 || list[0].JTI != "in-the-new-log" || cursor != 1 {
		t.Errorf("after the log changed: log %q, cursor %d, %+v", log, cursor, list)
	}
	if s.revoked.tokenRevoked("old-0") || !s.revoked.tokenRevoked("in-the-new-log") {
		t.Error("the index still holds the old log")
	}
}

// The embedded store reports another process's revocation as it is
// written, so a running issuer reads it without waiting for a poll.
func TestDirStoreReportsRevocationWrites(t *testing.T) {
	dir := t.TempDir()
	watching, writer := OpenDir(dir), OpenDir(dir)
	t.Cleanup(func() { watching.Close(); writer.Close() })
	writes, err := watching.WatchRevocations(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := writer.Revoke(t.Context(), []Revocation{TokenRevocation("svc", "j", now.Add(time.Hour))}, now); err != nil {
		t.Fatal(err)
	}
	for {
		select {
		case <-writes:
		case <-time.After(10 * time.Second):
			t.Fatal("no write reported within 10 s of another handle's revocation")
		}
		if _, got, err := watching.Revocations(t.Context(), 0, now); err == nil && len(got) == 1 {
			return
		}
	}
}
