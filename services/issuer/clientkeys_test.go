package issuer

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/tollgate-rpc/tollgate/internal/jwtest"
)

// keyURL serves a client's key set whose document and Cache-Control the test
// changes, counting fetches.
type keyURL struct {
	*httptest.Server
	fetches atomic.Int64
	mu      sync.Mutex
	status  int
	doc     []byte
	cache   string
}

func newKeyURL(t *testing.T) *keyURL {
	k := &keyURL{status: http.StatusInternalServerError}
	k.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		k.fetches.Add(1)
		k.mu.Lock()
		status, doc, cache := k.status, k.doc, k.cache
		k.mu.Unlock()
		if cache != "" {
			w.Header().Set("Cache-Control", cache)
		}
		w.WriteHeader(status)
		_, _ = w.Write(doc)
	}))
	t.Cleanup(k.Close)
	return k
}

func (k *keyURL) serve(status int, doc []byte, cache string) {
	k.mu.Lock()
	k.status, k.doc, k.cache = status, doc, cache
	k.mu.Unlock()
}

// A client's jwks_uri is fetched once for many concurrent assertions, a
// failure is remembered for 30 s, a success for its max-age, and a kid it
// lacks refetches it once the cooldown has passed. Forty concurrent forged
// assertions made forty fetches before.
func TestClientJWKSFetchesAreCachedAndCoalesced(t *testing.T) {
	clock := jwtest.NewClock(time.Now())
	ts := newTestServer(t, func(c *Config) { c.Now = clock.Now })
	keys := newKeyURL(t)
	c := basicClient("remote-keys")
	c.JWKSURI = keys.URL
	ts.addClient(t, c)
	priv, setJSON := clientKey(t)
	jti := 0
	assertion := func(key jwk.Key) string {
		jti++
		return signAssertion(t, key, map[string]any{"iss": "remote-keys", "sub": "remote-keys",
			"aud": ts.URL + "/oauth/token", "exp": clock.Now().Add(time.Minute).Unix(), "jti": fmt.Sprint(jti)})
	}
	wantFetches := func(when string, n int64) {
		t.Helper()
		if got := keys.fetches.Load(); got != n {
			t.Errorf("%s: %d fetches of the client's jwks_uri, want %d", when, got, n)
		}
	}

	forged := assertion(priv) // the key URL is down: nothing verifies
	var wg sync.WaitGroup
	for range 40 {
		wg.Go(func() {
			if r := ts.postAssertion(t, forged); r.status != http.StatusUnauthorized && r.status != http.StatusTooManyRequests {
				t.Errorf("assertion while the key URL fails: %d %s", r.status, r.raw)
			}
		})
	}
	wg.Wait()
	wantFetches("40 concurrent assertions, key URL failing", 1)

	keys.serve(http.StatusOK, setJSON, "public, max-age=120")
	if r := ts.postAssertion(t, assertion(priv)); r.status == http.StatusOK {
		t.Error("within 30 s of the failure: 200, want the failure remembered")
	}
	wantFetches("within 30 s of the failure", 1)
	clock.Add(clientJWKSFailureTTL)
	if r := ts.postAssertion(t, assertion(priv)); r.status != http.StatusOK {
		t.Errorf("after the failure expired: %d %s", r.status, r.raw)
	}
	wantFetches("after the failure expired", 2)

	clock.Add(119 * time.Second)
	if r := ts.postAssertion(t, assertion(priv)); r.status != http.StatusOK {
		t.Errorf("within max-age: %d %s", r.status, r.raw)
	}
	wantFetches("within max-age", 2)
	clock.Add(time.Second)
	if r := ts.postAssertion(t, assertion(priv)); r.status != http.StatusOK {
		t.Errorf("at max-age: %d %s", r.status, r.raw)
	}
	wantFetches("at max-age", 3)

	// The client rotates to a new key (kid k2): the first assertion with it,
	// inside the cooldown, fails without a fetch; past it, one fetch finds it.
	rotated, _ := clientKey(t)
	_ = rotated.Set(jwk.KeyIDKey, "k2")
	pub, _ := rotated.PublicKey()
	set := jwk.NewSet()
	_ = set.AddKey(pub)
	rotatedSet, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	keys.serve(http.StatusOK, rotatedSet, "public, max-age=3600")
	clock.Add(clientJWKSKidCooldown - time.Second)
	if r := ts.postAssertion(t, assertion(rotated)); r.status == http.StatusOK {
		t.Error("unknown kid inside the cooldown: 200, want a refusal")
	}
	wantFetches("unknown kid inside the cooldown", 3)
	clock.Add(time.Second)
	if r := ts.postAssertion(t, assertion(rotated)); r.status != http.StatusOK {
		t.Errorf("unknown kid past the cooldown: %d %s, want the key refetched", r.status, r.raw)
	}
	wantFetches("unknown kid past the cooldown", 4)
}

func TestClientJWKSCacheTTLBounds(t *testing.T) {
	for header, want := range map[string]time.Duration{
		"":                               clientJWKSDefaultTTL,
		"no-cache":                       clientJWKSDefaultTTL,
		"max-age=5":                      clientJWKSMinTTL,
		"public, max-age=600":            10 * time.Minute,
		"max-age=86400":                  clientJWKSMaxTTL,
		"max-age=18446744073709551615":   clientJWKSMaxTTL, // the largest max-age a server can send
		"max-age=9223372036854775807000": clientJWKSDefaultTTL,
		"max-age=-1":                     clientJWKSDefaultTTL,
	} {
		if got := cacheTTL(header); got != want {
			t.Errorf("Cache-Control %q: cached for %s, want %s", header, got, want)
		}
	}
}
