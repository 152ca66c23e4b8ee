package verify

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
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
	// (the test's context has no deadline) and known keys stay.
	if got := ReasonOf(verifyErr(v, ti.Sign(kid, map[string]any{"kid": "new"}, ti.Claims("inventory", nil)))); got != ReasonUnknownKey {
		t.Errorf("unknown kid while the JWKS hangs: reason %q, want %q", got, ReasonUnknownKey)
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
