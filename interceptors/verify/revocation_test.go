package verify

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/tollgate-rpc/tollgate/internal/jwtest"
)

// A verifier follows its issuer's revocation feed: a token revoked by its
// jti, and a client's tokens issued before a revocation, are refused
// (ReasonRevoked) on the cached path too, while other tokens and the
// client's later tokens pass; each answer of the feed is asked for with the
// cursor of the one before.
func TestRevokedTokensAreRefused(t *testing.T) {
	ti := jwtest.NewIssuer(t)
	kid := ti.AddKey(jwa.ES256)
	feed, answers, cursors := feedServer(t)
	v, err := New([]Issuer{{Issuer: ti.ID(), JWKSURL: ti.URL + "/jwks", Audiences: []string{"inv"}, RevocationFeedURL: feed}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	ctx := t.Context()
	now := time.Now()
	a := ti.Sign(kid, nil, ti.Claims("inv", map[string]any{"jti": "a"}))
	b := ti.Sign(kid, nil, ti.Claims("inv", map[string]any{"jti": "b", "client_id": "other", "sub": "other"}))
	later := ti.Sign(kid, nil, ti.Claims("inv", map[string]any{"jti": "c", "client_id": "other", "sub": "other", "iat": now.Unix() + 1}))
	answer := func(body string) {
		t.Helper()
		changed := v.RevocationsChanged()
		answers <- body
		<-changed
	}
	refused := func(token string) bool {
		t.Helper()
		_, err := v.Verify(ctx, token)
		var e *Error
		if err != nil && (!errors.As(err, &e) || e.Reason != ReasonRevoked) {
			t.Fatalf("refused for another reason: %v", err)
		}
		return err != nil
	}

	if got := <-cursors; got != "0" {
		t.Errorf("first request after=%s, want 0", got)
	}
	answer(`{"cursor":0,"revocations":[]}`)
	if refused(a) || refused(b) || refused(later) {
		t.Fatal("refused before anything was revoked")
	}
	if got := <-cursors; got != "0" {
		t.Errorf("second request after=%s, want 0", got)
	}
	until := now.Add(time.Hour).Unix()
	answer(fmt.Sprintf(`{"cursor":7,"revocations":[{"seq":7,"jti":"a","until":%d}]}`, until))
	if !refused(a) || refused(b) {
		t.Error("after revoking jti a: want a refused, b accepted")
	}
	if _, ok := v.Cached(a); ok {
		t.Error("Cached returned a revoked token's claims")
	}
	if got := <-cursors; got != "7" {
		t.Errorf("request after an answer with cursor 7: after=%s", got)
	}
	answer(fmt.Sprintf(`{"cursor":8,"revocations":[{"seq":8,"client_id":"other","issued_before":%d,"until":%d}]}`, now.Unix()+1, until))
	if !refused(b) || refused(later) {
		t.Error("after revoking client other's tokens: want b (issued before) refused, c (issued at the bound) accepted")
	}
	// The issuer's store was replaced: its answer in another log replaces
	// the set, and the next request counts in the new log.
	<-cursors
	answer(`{"log":"L2","cursor":1,"revocations":[{"seq":1,"jti":"c","until":` + fmt.Sprint(until) + `}]}`)
	if refused(a) || refused(b) || !refused(later) {
		t.Error("after an answer in a new log: want a and b accepted (their revocations were in the old log), c refused")
	}
	if got := <-cursors; got != "1@L2" {
		t.Errorf("request after the new log's answer: %s, want after=1 in log L2", got)
	}
}

// A set drops what expired, keeps the newest bound per client, and covers
// nothing when empty.
func TestRevokedSet(t *testing.T) {
	var none *revokedSet
	c := &Claims{TokenID: "j", ClientID: "svc", IssuedAt: time.Unix(100, 0)}
	if none.covers(c) {
		t.Error("an empty set covers a token")
	}
	s := none.with([]feedRevocation{{JTI: "j", Until: 50}, {ClientID: "svc", IssuedBefore: 90, Until: 200}, {ClientID: "svc", IssuedBefore: 101, Until: 150}}, 60)
	if _, ok := s.jtis["j"]; ok {
		t.Error("a jti past its until was kept")
	}
	if !s.covers(c) || s.clients["svc"] != 101 {
		t.Errorf("client bound %d, covers %v; want 101 and true", s.clients["svc"], s.covers(c))
	}
	if s.with(nil, 201).covers(c) {
		t.Error("a client revocation past its until still covers")
	}
}

// feedServer is a revocation feed that answers each request with the next
// body the test sends on answers, and reports each request's cursor (as
// after@log when the request names a log).
func feedServer(t *testing.T) (url string, answers chan<- string, cursors <-chan string) {
	t.Helper()
	bodies, afters := make(chan string), make(chan string, 64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if log := q.Get("log"); log != "" {
			afters <- q.Get("after") + "@" + log
		} else {
			afters <- q.Get("after")
		}
		select {
		case body := <-bodies:
			_, _ = w.Write([]byte(body))
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL, bodies, afters
}

// With a staleness bound a verifier fails closed: before its issuer's feed
// first answers, and once it has not answered within the bound, every token
// of that issuer is refused ReasonRevocationsUnavailable and Ready fails;
// an answer restores both. Without a bound the same silence changes
// nothing.
func TestRevocationStalenessBound(t *testing.T) {
	ti := jwtest.NewIssuer(t)
	kid := ti.AddKey(jwa.ES256)
	clock := jwtest.NewClock(time.Now())
	open := func(opts ...Option) (*Verifier, chan<- string) {
		feed, answers, _ := feedServer(t)
		v, err := New([]Issuer{{Issuer: ti.ID(), JWKSURL: ti.URL + "/jwks", Audiences: []string{"inv"}, RevocationFeedURL: feed}},
			append(opts, WithClock(clock.Now))...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(v.Close)
		return v, answers
	}
	token := ti.Sign(kid, nil, ti.Claims("inv", map[string]any{"exp": clock.Now().Add(time.Hour).Unix()}))
	reason := func(v *Verifier) Reason {
		t.Helper()
		_, err := v.Verify(t.Context(), token)
		var e *Error
		if errors.As(err, &e) {
			return e.Reason
		}
		if err != nil {
			t.Fatal(err)
		}
		return ""
	}
	// answer answers the feed's pending request with nothing new and
	// waits until the verifier has read it (an empty answer changes no
	// set, so it is seen in the stats).
	answer := func(v *Verifier, answers chan<- string) {
		t.Helper()
		answers <- `{"cursor":0,"revocations":[]}`
		jwtest.Eventually(t, "the feed's answer read", func() bool {
			return !v.Stats().Issuers[ti.ID()].RevocationsSynced.Before(clock.Now())
		})
	}

	bounded, answers := open(WithRevocationMaxStaleness(time.Minute))
	if r := reason(bounded); r != ReasonRevocationsUnavailable {
		t.Errorf("before the feed first answered: %q, want %q", r, ReasonRevocationsUnavailable)
	}
	answer(bounded, answers)
	if r := reason(bounded); r != "" {
		t.Errorf("just after an answer: %q", r)
	}
	if err := bounded.Ready(t.Context()); err != nil {
		t.Errorf("Ready just after an answer: %v", err)
	}
	clock.Add(61 * time.Second)
	if r := reason(bounded); r != ReasonRevocationsUnavailable {
		t.Errorf("61 s without an answer, bound 1 min: %q", r)
	}
	if _, ok := bounded.Cached(token); ok {
		t.Error("Cached returned claims while the revocations are stale")
	}
	if err := bounded.Ready(t.Context()); err == nil {
		t.Error("Ready while the revocations are stale")
	}
	answer(bounded, answers)
	if r := reason(bounded); r != "" {
		t.Errorf("after the feed answered again: %q", r)
	}

	unbounded, answers := open()
	if got := unbounded.RevocationStaleness(); len(got) != 1 || !strings.Contains(got[0], "has not answered yet") {
		t.Errorf("staleness before the feed answered: %q", got)
	}
	answer(unbounded, answers)
	if got := unbounded.RevocationStaleness(); len(got) != 0 {
		t.Errorf("staleness just after an answer: %q", got)
	}
	clock.Add(30 * time.Minute)
	if r := reason(unbounded); r != "" {
		t.Errorf("no bound, a silent feed: %q, want accepted (fail open)", r)
	}
	if got := unbounded.RevocationStaleness(); len(got) != 1 || !strings.Contains(got[0], "last answered 30m0s ago") {
		t.Errorf("staleness after 30 min of silence: %q", got)
	}
	if _, err := New([]Issuer{{Issuer: ti.ID(), Audiences: []string{"inv"}}}, WithRevocationMaxStaleness(time.Second)); err == nil {
		t.Error("a staleness bound below the minimum was accepted")
	}
}

// revocations100k is a feed answer revoking 100,000 tokens by jti, as the
// suite's issuer names them (22 characters).
func revocations100k() []feedRevocation {
	rs := make([]feedRevocation, 100_000)
	for i := range rs {
		rs[i] = feedRevocation{Seq: int64(i + 1), ClientID: "svc", JTI: fmt.Sprintf("%022d", i), Until: 1 << 40}
	}
	return rs
}

// heapDelta is how much more heap build leaves reachable.
func heapDelta(build func() any) (uint64, any) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	kept := build()
	runtime.GC()
	runtime.ReadMemStats(&after)
	return after.HeapAlloc - min(after.HeapAlloc, before.HeapAlloc), kept
}

// #28's bound: a verifier holding 100,000 revoked jtis uses under 20 MB for
// them.
func TestRevokedSetMemory(t *testing.T) {
	// Built inside: the set keeps the jti strings the feed's answer
	// decoded, and nothing else of it.
	bytes, kept := heapDelta(func() any { return (*revokedSet)(nil).with(revocations100k(), 0) })
	t.Logf("100,000 revoked jtis: %.1f MB", float64(bytes)/1e6)
	if bytes > 20<<20 {
		t.Errorf("100,000 revoked jtis hold %d bytes, want under 20 MiB", bytes)
	}
	runtime.KeepAlive(kept)
}

// The warm path's added cost: one lookup in a set of 100,000.
func BenchmarkRevokedLookup100k(b *testing.B) {
	set := (*revokedSet)(nil).with(revocations100k(), 0)
	c := &Claims{TokenID: "not-revoked-jti-000000", ClientID: "svc", IssuedAt: time.Unix(1_000, 0)}
	b.ReportAllocs()
	for b.Loop() {
		if set.covers(c) {
			b.Fatal("covered")
		}
	}
}
