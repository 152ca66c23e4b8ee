package verify

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/tollgate-rpc/tollgate/internal/jwtest"
)

func ready(t *testing.T, v *Verifier) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := v.Ready(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestRotationPickedUpWithoutRestart(t *testing.T) {
	ti := jwtest.NewIssuer(t)
	old := ti.AddKey(jwa.ES256)
	v := newTestVerifier(t, []Issuer{{Issuer: ti.URL, Audiences: []string{"inventory"}}})
	ready(t, v)
	if err := verifyErr(v, ti.Sign(old, nil, ti.Claims("inventory", nil))); err != nil {
		t.Fatal(err)
	}
	next := ti.AddKey(jwa.ES256)
	if err := verifyErr(v, ti.Sign(next, nil, ti.Claims("inventory", nil))); err != nil {
		t.Errorf("token signed with the new key: %v", err)
	}
}

func TestIssuerDownKeepsKnownKeys(t *testing.T) {
	ti := jwtest.NewIssuer(t)
	ti.MaxAge = 0
	kid := ti.AddKey(jwa.ES256)
	v := newTestVerifier(t, []Issuer{{Issuer: ti.URL, Audiences: []string{"inventory"}}},
		WithRefreshBounds(10*time.Millisecond, 20*time.Millisecond))
	ready(t, v)
	ti.Down.Store(true)
	start := v.Stats().JWKSFailures
	jwtest.Eventually(t, "three failed refreshes", func() bool { return v.Stats().JWKSFailures >= start+3 })
	for i := range 20 { // fresh tokens, so none comes from the cache
		tok := ti.Sign(kid, nil, ti.Claims("inventory", map[string]any{"jti": fmt.Sprint(i)}))
		if err := verifyErr(v, tok); err != nil {
			t.Fatalf("with the issuer down, token %d: %v", i, err)
		}
	}
	ti.Down.Store(false)
	ti.Garbage.Store(true)
	start = v.Stats().JWKSFailures
	jwtest.Eventually(t, "a refresh that got garbage", func() bool { return v.Stats().JWKSFailures > start })
	if err := verifyErr(v, ti.Sign(kid, nil, ti.Claims("inventory", map[string]any{"jti": "after-garbage"}))); err != nil {
		t.Fatalf("after a garbage JWKS: %v", err)
	}
	ti.Garbage.Store(false)
	next := ti.AddKey(jwa.ES256)
	jwtest.Eventually(t, "recovery", func() bool { return verifyErr(v, ti.Sign(next, nil, ti.Claims("inventory", nil))) == nil })
}

func TestUnknownKidFloodIsBounded(t *testing.T) {
	ti := jwtest.NewIssuer(t)
	kid := ti.AddKey(jwa.ES256)
	v := newTestVerifier(t, []Issuer{{Issuer: ti.URL, Audiences: []string{"inventory"}}}, WithUnknownKidCooldown(time.Hour))
	ready(t, v)
	before := ti.JWKSFetches.Load()
	tokens := make([]string, 10_000)
	claims := ti.Claims("inventory", nil)
	for i := range tokens {
		tokens[i] = ti.Sign(kid, map[string]any{"kid": fmt.Sprintf("random-%d", i)}, claims)
	}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(tokens); i += 8 {
				if got := ReasonOf(verifyErr(v, tokens[i])); got != ReasonUnknownKey {
					t.Errorf("token %d: reason %q, want %q", i, got, ReasonUnknownKey)
					return
				}
			}
		}()
	}
	wg.Wait()
	if fetched := ti.JWKSFetches.Load() - before; fetched > 1 {
		t.Errorf("10,000 unknown kids caused %d JWKS fetches, want at most 1 per cooldown", fetched)
	}
	// Good tokens are unaffected.
	if err := verifyErr(v, ti.Sign(kid, nil, ti.Claims("inventory", nil))); err != nil {
		t.Error(err)
	}
}

func TestRemovedKeyRevokesCachedTokens(t *testing.T) {
	ti := jwtest.NewIssuer(t)
	ti.MaxAge = 0
	stay := ti.AddKey(jwa.ES256)
	gone := ti.AddKey(jwa.ES256)
	v := newTestVerifier(t, []Issuer{{Issuer: ti.URL, Audiences: []string{"inventory"}}},
		WithRefreshBounds(10*time.Millisecond, 20*time.Millisecond))
	ready(t, v)
	tokGone := ti.Sign(gone, nil, ti.Claims("inventory", nil))
	tokStay := ti.Sign(stay, nil, ti.Claims("inventory", nil))
	for _, tok := range []string{tokGone, tokStay} {
		if err := verifyErr(v, tok); err != nil {
			t.Fatal(err)
		}
	}
	ti.Unpublish(gone)
	jwtest.Eventually(t, "the cached token of a withdrawn key to be refused", func() bool {
		return ReasonOf(verifyErr(v, tokGone)) == ReasonUnknownKey
	})
	if err := verifyErr(v, tokStay); err != nil {
		t.Errorf("token of a key still published: %v", err)
	}
}

func TestHangingJWKSTimesOut(t *testing.T) {
	ti := jwtest.NewIssuer(t)
	kid := ti.AddKey(jwa.ES256)
	v := newTestVerifier(t, []Issuer{{Issuer: ti.URL, Audiences: []string{"inventory"}}},
		WithFetchTimeout(100*time.Millisecond), WithUnknownKidCooldown(0))
	ready(t, v)
	ti.Hang.Store(true)
	failures := v.Stats().JWKSFailures
	// An unknown kid makes the verifier fetch; the fetch gives up on its own
	// (the test's context has no deadline) and known keys stay. The new
	// kid may be a key the issuer rotated in: unavailable, not the token's
	// fault.
	if got := ReasonOf(verifyErr(v, ti.Sign(kid, map[string]any{"kid": "new"}, ti.Claims("inventory", nil)))); got != ReasonKeysUnavailable {
		t.Errorf("unknown kid while the JWKS hangs: reason %q, want %q", got, ReasonKeysUnavailable)
	}
	if v.Stats().JWKSFailures <= failures {
		t.Error("the hanging fetch was not counted as failed")
	}
	if err := verifyErr(v, ti.Sign(kid, nil, ti.Claims("inventory", nil))); err != nil {
		t.Errorf("known key while the JWKS hangs: %v", err)
	}
}

func TestDiscoveryMustNameTheIssuer(t *testing.T) {
	ti := jwtest.NewIssuer(t)
	kid := ti.AddKey(jwa.ES256)
	// A discovery document that names another issuer is not trusted, even
	// though its jwks_uri holds the right keys.
	liar := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": "https://someone-else", "jwks_uri": ti.URL + "/jwks"})
	}))
	t.Cleanup(liar.Close)
	v := newTestVerifier(t, []Issuer{{Issuer: liar.URL, Audiences: []string{"inventory"}}}, WithFetchTimeout(500*time.Millisecond))
	tok := ti.Sign(kid, nil, ti.Claims("inventory", map[string]any{"iss": liar.URL}))
	if got := ReasonOf(verifyErr(v, tok)); got != ReasonKeysUnavailable {
		t.Errorf("reason %q, want %q", got, ReasonKeysUnavailable)
	}
	if n := ti.JWKSFetches.Load(); n != 0 {
		t.Errorf("the JWKS named by a lying discovery document was fetched %d times", n)
	}
}

// Callers that present a new key's tokens while the refetch it caused is
// still running wait for it, instead of failing because of the cooldown.
func TestNewKidCallersShareTheRefetch(t *testing.T) {
	ti := jwtest.NewIssuer(t)
	ti.AddKey(jwa.ES256)
	v := newTestVerifier(t, []Issuer{{Issuer: ti.URL, Audiences: []string{"inventory"}}}, WithUnknownKidCooldown(time.Hour))
	ready(t, v)
	next := ti.AddKey(jwa.ES256)
	ti.Delay.Store(int64(200 * time.Millisecond))
	before := ti.JWKSFetches.Load()
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok := ti.Sign(next, nil, ti.Claims("inventory", map[string]any{"jti": fmt.Sprint(i)}))
			if err := verifyErr(v, tok); err != nil {
				t.Errorf("caller %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	if n := ti.JWKSFetches.Load() - before; n != 1 {
		t.Errorf("%d JWKS fetches for 20 concurrent callers, want 1", n)
	}
}

// A service whose issuer is down when it starts learns so from the first
// failed fetch: callers get ReasonKeysUnavailable at once (not after the
// fetch timeout, and not as a fault of their token).
func TestKeysUnavailableAfterFailedFetch(t *testing.T) {
	ti := jwtest.NewIssuer(t)
	kid := ti.AddKey(jwa.ES256)
	ti.Down.Store(true)
	v := newTestVerifier(t, []Issuer{{Issuer: ti.URL, Audiences: []string{"inventory"}}},
		WithFetchTimeout(time.Hour), WithRefreshBounds(time.Hour, time.Hour))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := v.Verify(ctx, ti.Sign(kid, nil, ti.Claims("inventory", nil)))
	if got := ReasonOf(err); got != ReasonKeysUnavailable {
		t.Fatalf("reason %q, want %q", got, ReasonKeysUnavailable)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("the caller waited out its deadline although the first fetch had failed: %v", err)
	}
	if n := ti.JWKSFetches.Load(); n != 1 {
		t.Errorf("%d JWKS fetches, want 1 (the failed first fetch is not retried per call)", n)
	}
}

// While the first fetch hangs, a caller waits no longer than its deadline.
func TestKeysUnavailableBoundedByDeadline(t *testing.T) {
	ti := jwtest.NewIssuer(t)
	kid := ti.AddKey(jwa.ES256)
	ti.Hang.Store(true)
	v := newTestVerifier(t, []Issuer{{Issuer: ti.URL, Audiences: []string{"inventory"}}}, WithFetchTimeout(time.Hour))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := v.Verify(ctx, ti.Sign(kid, nil, ti.Claims("inventory", nil)))
	if got := ReasonOf(err); got != ReasonKeysUnavailable || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v (reason %q), want %q after the caller's deadline", err, got, ReasonKeysUnavailable)
	}
}

// Close cancels a fetch in flight instead of leaving it to its timeout.
func TestCloseCancelsFetchInFlight(t *testing.T) {
	ti := jwtest.NewIssuer(t)
	ti.AddKey(jwa.ES256)
	ti.Hang.Store(true)
	v, err := New([]Issuer{{Issuer: ti.URL, Audiences: []string{"inventory"}}}, WithFetchTimeout(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	jwtest.Eventually(t, "the first fetch to start", func() bool { return ti.JWKSFetches.Load() == 1 })
	v.Close()
	ks := v.issuers[ti.URL]
	select {
	case <-ks.attempted:
	case <-time.After(time.Minute): // a hang guard, not a timing assertion
		t.Fatal("the fetch in flight outlived Close")
	}
}

// The unknown-kid cooldown runs on the verifier's clock.
func TestUnknownKidCooldownUsesTheClock(t *testing.T) {
	ti := jwtest.NewIssuer(t)
	kid := ti.AddKey(jwa.ES256)
	clock := jwtest.NewClock(time.Now())
	v := newTestVerifier(t, []Issuer{{Issuer: ti.URL, Audiences: []string{"inventory"}}},
		WithClock(clock.Now), WithUnknownKidCooldown(30*time.Second), WithRefreshBounds(time.Hour, time.Hour))
	ready(t, v)
	n := 0
	unknown := func() { // a kid the issuer never publishes
		n++
		tok := ti.Sign(kid, map[string]any{"kid": fmt.Sprint("unpublished-", n)}, ti.Claims("inventory", nil))
		if got := ReasonOf(verifyErr(v, tok)); got != ReasonUnknownKey {
			t.Errorf("unknown kid %d: reason %q, want %q", n, got, ReasonUnknownKey)
		}
	}
	base := ti.JWKSFetches.Load()
	unknown()
	unknown()
	if n := ti.JWKSFetches.Load() - base; n != 1 {
		t.Fatalf("%d fetches for two unknown kids inside the cooldown, want 1", n)
	}
	clock.Add(31 * time.Second)
	unknown()
	if n := ti.JWKSFetches.Load() - base; n != 2 {
		t.Errorf("%d fetches after the verifier's clock passed the cooldown, want 2", n)
	}
}

// A token inside the clock-skew window after exp still verifies, and does
// so from the cache: the cache agrees with the time checks.
func TestCacheAgreesWithClockSkew(t *testing.T) {
	ti := jwtest.NewIssuer(t)
	kid := ti.AddKey(jwa.ES256)
	now := time.Now()
	clock := jwtest.NewClock(now)
	v := newTestVerifier(t, []Issuer{{Issuer: ti.URL, Audiences: []string{"inventory"}}},
		WithClock(clock.Now), WithClockSkew(time.Minute))
	tok := ti.Sign(kid, nil, ti.Claims("inventory", map[string]any{"exp": now.Add(10 * time.Second).Unix()}))
	for _, at := range []time.Duration{0, 5 * time.Second, 30 * time.Second, 60 * time.Second} {
		clock.Set(now.Add(at))
		if err := verifyErr(v, tok); err != nil {
			t.Fatalf("at +%s: %v", at, err)
		}
	}
	if s := v.Stats(); s.CacheMisses != 1 || s.CacheHits != 3 {
		t.Errorf("%d misses and %d hits, want 1 and 3", s.CacheMisses, s.CacheHits)
	}
	clock.Set(now.Add(71 * time.Second)) // exp + skew + 1s
	if got := ReasonOf(verifyErr(v, tok)); got != ReasonExpired {
		t.Errorf("past exp+skew: reason %q, want %q", got, ReasonExpired)
	}
}

func TestDefaultAlgorithmsAreImmutable(t *testing.T) {
	algs := DefaultAlgorithms()
	algs[0] = jwa.HS256
	if DefaultAlgorithms()[0] == jwa.HS256 {
		t.Error("changing the returned slice changed the defaults")
	}
}

// An https issuer whose discovery document points at a JWKS on plain http is
// not trusted: anyone on the path could swap the keys.
func TestJWKSDowngradeRefused(t *testing.T) {
	ti := jwtest.NewIssuer(t) // plain http: serves the keys
	kid := ti.AddKey(jwa.ES256)
	var issuerURL string
	meta := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": issuerURL, "jwks_uri": ti.URL + "/jwks"})
	}))
	t.Cleanup(meta.Close)
	issuerURL = meta.URL
	var logs jwtest.Buffer
	v := newTestVerifier(t, []Issuer{{Issuer: issuerURL, Audiences: []string{"inventory"}}},
		WithHTTPClient(meta.Client()), WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	tok := ti.Sign(kid, nil, ti.Claims("inventory", map[string]any{"iss": issuerURL}))
	if got := ReasonOf(verifyErr(v, tok)); got != ReasonKeysUnavailable {
		t.Errorf("reason %q, want %q", got, ReasonKeysUnavailable)
	}
	if n := ti.JWKSFetches.Load(); n != 0 {
		t.Errorf("the http JWKS of an https issuer was fetched %d times", n)
	}
	jwtest.Eventually(t, "the refusal to be logged", func() bool { return strings.Contains(logs.String(), "is not https although the issuer is") })
}

// A JWKS key under MinRSABits, or a kid listed twice, is not used (each
// logged once with its reason); the set's other keys still are.
func TestWeakAndDuplicateKeysRefused(t *testing.T) {
	ti := jwtest.NewIssuer(t)
	good := ti.AddKey(jwa.ES256)
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	ti.Publish("weak", jwa.RS256, weak)
	twice := ti.AddKey(jwa.ES256)
	_, other := jwtest.NewKey(t, jwa.ES256)
	ti.Publish(twice, jwa.ES256, other) // the same kid again, another key
	var logs jwtest.Buffer
	v := newTestVerifier(t, []Issuer{{Issuer: ti.URL, Audiences: []string{"inventory"}}},
		WithLogger(slog.New(slog.NewTextHandler(&logs, nil))), WithUnknownKidCooldown(time.Hour))
	ready(t, v)
	if err := verifyErr(v, ti.Sign(good, nil, ti.Claims("inventory", nil))); err != nil {
		t.Fatalf("token signed with the good key: %v", err)
	}
	for _, kid := range []string{"weak", twice} {
		if got := ReasonOf(verifyErr(v, ti.Sign(kid, nil, ti.Claims("inventory", nil)))); got != ReasonUnknownKey {
			t.Errorf("token signed with key %s: reason %q, want %q", kid, got, ReasonUnknownKey)
		}
	}
	for _, want := range []string{"RSA key of 1024 bits", "the JWKS lists this kid more than once"} {
		if n := strings.Count(logs.String(), want); n != 1 {
			t.Errorf("%q logged %d times, want once:\n%s", want, n, logs.String())
		}
	}
}

// Keys are followed through a redirect only within https: a JWKS answering
// 302 to an http URL would let anyone on the path substitute the keys.
func TestJWKSRedirectOffHTTPSRefused(t *testing.T) {
	ti := jwtest.NewIssuer(t) // plain http: the attacker's keys
	kid := ti.AddKey(jwa.ES256)
	redirect := httptest.NewTLSServer(http.RedirectHandler(ti.URL+"/jwks", http.StatusFound))
	t.Cleanup(redirect.Close)
	issuer := "https://issuer.example"
	v := newTestVerifier(t, []Issuer{{Issuer: issuer, JWKSURL: redirect.URL, Audiences: []string{"inventory"}}},
		WithHTTPClient(redirect.Client()))
	tok := ti.Sign(kid, nil, ti.Claims("inventory", map[string]any{"iss": issuer}))
	if got := ReasonOf(verifyErr(v, tok)); got != ReasonKeysUnavailable {
		t.Errorf("reason %q, want %q", got, ReasonKeysUnavailable)
	}
	if n := ti.JWKSFetches.Load(); n != 0 {
		t.Errorf("the redirect to http was followed (%d fetches)", n)
	}
}

// Discovery may not point the keys at another origin: the JWKS of another
// host is trusted only when configured by name.
func TestDiscoveredJWKSOnAnotherOriginRefused(t *testing.T) {
	elsewhere := jwtest.NewIssuer(t)
	kid := elsewhere.AddKey(jwa.ES256)
	var issuerURL string
	meta := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": issuerURL, "jwks_uri": elsewhere.URL + "/jwks"})
	}))
	t.Cleanup(meta.Close)
	issuerURL = meta.URL
	v := newTestVerifier(t, []Issuer{{Issuer: issuerURL, Audiences: []string{"inventory"}}})
	tok := elsewhere.Sign(kid, nil, elsewhere.Claims("inventory", map[string]any{"iss": issuerURL}))
	if got := ReasonOf(verifyErr(v, tok)); got != ReasonKeysUnavailable {
		t.Errorf("reason %q, want %q", got, ReasonKeysUnavailable)
	}
	if n := elsewhere.JWKSFetches.Load(); n != 0 {
		t.Errorf("a JWKS on another origin was fetched %d times", n)
	}
	// Named explicitly, it is trusted.
	named := newTestVerifier(t, []Issuer{{Issuer: issuerURL, JWKSURL: elsewhere.URL + "/jwks", Audiences: []string{"inventory"}}})
	ready(t, named)
	if err := verifyErr(named, tok); err != nil {
		t.Errorf("with the JWKS URL configured: %v", err)
	}
}

// A key rotated in while the issuer's JWKS answers 500 is unavailable, not
// unknown: callers keep their good tokens (KEYS_UNAVAILABLE is retried, not
// a reason to throw the token away), the failed refetch is logged, and
// once the JWKS answers again the next refetch comes after the retry
// interval, not the 30 s unknown-kid cooldown.
func TestKeyRotatedDuringJWKSOutageIsUnavailable(t *testing.T) {
	ti := jwtest.NewIssuer(t)
	ti.AddKey(jwa.ES256)
	clock := jwtest.NewClock(time.Now())
	var logs jwtest.Buffer
	v := newTestVerifier(t, []Issuer{{Issuer: ti.URL, Audiences: []string{"inventory"}}}, WithClock(clock.Now),
		WithRefreshBounds(time.Hour, time.Hour), WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	ready(t, v)
	ti.Down.Store(true)
	next := ti.AddKey(jwa.ES256)
	tok := ti.Sign(next, nil, ti.Claims("inventory", nil))
	for i := range 3 {
		if got := ReasonOf(verifyErr(v, tok)); got != ReasonKeysUnavailable {
			t.Errorf("call %d with the JWKS down: reason %q, want %q", i, got, ReasonKeysUnavailable)
		}
	}
	if !strings.Contains(logs.String(), "jwks refetch for an unknown kid failed") {
		t.Errorf("the failed refetch was not logged:\n%s", logs.String())
	}
	ti.Down.Store(false)
	clock.Add(time.Second) // the retry interval, well inside the 30 s cooldown
	if err := verifyErr(v, tok); err != nil {
		t.Errorf("a second after the JWKS came back: %v", err)
	}
	// With the JWKS answering, a kid it lacks is the token's fault.
	stray := ti.Sign(next, map[string]any{"kid": "never-published"}, ti.Claims("inventory", nil))
	clock.Add(time.Minute)
	if got := ReasonOf(verifyErr(v, stray)); got != ReasonUnknownKey {
		t.Errorf("kid missing from a fresh key set: reason %q, want %q", got, ReasonUnknownKey)
	}
}

func TestNextBackoff(t *testing.T) {
	lo, hi := time.Second, 5*time.Minute
	var got []time.Duration
	b := time.Duration(0)
	for range 12 {
		b = nextBackoff(b, lo, hi)
		got = append(got, b)
	}
	want := []time.Duration{1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300}
	for i := range want {
		if got[i] != want[i]*time.Second {
			t.Fatalf("backoffs %v, want %v seconds (doubling from the retry interval, capped at the refresh interval)", got, want)
		}
	}
	if b := nextBackoff(0, time.Minute, 10*time.Second); b != 10*time.Second {
		t.Errorf("retry interval above the cap: %s, want the cap", b)
	}
}

// A kid listed twice is refused even when one of its keys is refused for
// another reason: the other must not win by elimination.
func TestDuplicateKidNeverWinsByElimination(t *testing.T) {
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	_, good := jwtest.NewKey(t, jwa.ES256)
	set := jwk.NewSet()
	for _, raw := range []any{&weak.PublicKey, good.Public()} {
		k, err := jwk.PublicKeyOf(raw)
		if err != nil {
			t.Fatal(err)
		}
		_ = k.Set(jwk.KeyIDKey, "mixed")
		_ = set.AddKey(k)
	}
	ok, _ := jwk.PublicKeyOf(good.Public())
	_ = ok.Set(jwk.KeyIDKey, "other")
	_ = set.AddKey(ok)
	ks := newKeySet(t.Context(), Issuer{Issuer: "https://issuer.example"}, &options{logger: slog.New(slog.DiscardHandler)})
	keys, err := ks.buildKeys(set)
	if err != nil {
		t.Fatal(err)
	}
	if _, used := keys["mixed"]; used {
		t.Error("a kid listed twice was used (its weak twin was dropped first)")
	}
	if _, used := keys["other"]; !used {
		t.Error("the set's one good key was not used")
	}
}
