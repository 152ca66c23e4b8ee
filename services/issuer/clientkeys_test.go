package issuer

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
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
	ts := newTestServer(t, func(c *Config) { c.Now = clock.Now; c.AllowPrivateClientJWKS = true })
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

// A client's jwks_uri is the registrant's choice: by default the issuer
// never fetches it from loopback (its own admin port's /metrics here) or
// other private addresses, never quotes what a key URL answered in its
// logs, and a jwks_uri in plain http off loopback is not a valid client.
func TestClientJWKSFetchesAreRestricted(t *testing.T) {
	var logs jwtest.Buffer
	ts := newTestServer(t, func(c *Config) { c.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
	metrics := newKeyURL(t)
	metrics.serve(http.StatusOK, []byte("# HELP process_secret_counter do not show this\n"), "")
	c := basicClient("nosy")
	c.JWKSURI = metrics.URL + "/metrics"
	ts.addClient(t, c)
	priv, _ := clientKey(t)
	a := signAssertion(t, priv, map[string]any{"iss": "nosy", "sub": "nosy", "aud": ts.URL + "/oauth/token",
		"exp": time.Now().Add(time.Minute).Unix(), "jti": "1"})
	if r := ts.postAssertion(t, a); r.status != http.StatusUnauthorized {
		t.Errorf("assertion naming a loopback jwks_uri: %d %s, want 401", r.status, r.raw)
	}
	if n := metrics.fetches.Load(); n != 0 {
		t.Errorf("the issuer fetched a loopback jwks_uri %d times", n)
	}

	// With private addresses allowed (tests), the answer is still never
	// quoted in the logs.
	open := newTestServer(t, func(c *Config) {
		c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
		c.AllowPrivateClientJWKS = true
	})
	open.addClient(t, c)
	a = signAssertion(t, priv, map[string]any{"iss": "nosy", "sub": "nosy", "aud": open.URL + "/oauth/token",
		"exp": time.Now().Add(time.Minute).Unix(), "jti": "2"})
	if r := open.postAssertion(t, a); r.status != http.StatusUnauthorized {
		t.Errorf("assertion whose jwks_uri answers metrics: %d %s, want 401", r.status, r.raw)
	}
	if metrics.fetches.Load() != 1 {
		t.Errorf("with private addresses allowed: %d fetches, want 1", metrics.fetches.Load())
	}
	if strings.Contains(logs.String(), "process_secret_counter") || strings.Contains(logs.String(), "HELP") {
		t.Errorf("the logs quote what the key URL answered:\n%s", logs.String())
	}

	for _, uri := range []string{"http://keys.example/jwks", "http://10.0.0.1/jwks", "file:///etc/passwd"} {
		c := basicClient("plain")
		c.JWKSURI = uri
		if err := c.Validate(); err == nil {
			t.Errorf("client with jwks_uri %s is valid", uri)
		}
	}
}

// Client key sets with an RSA key under 2048 bits, or two keys under one
// kid, are not valid.
func TestClientKeyRules(t *testing.T) {
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	strong, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	set := func(keys ...*rsa.PrivateKey) []byte {
		s := jwk.NewSet()
		for _, k := range keys {
			pub, err := jwk.FromRaw(&k.PublicKey)
			if err != nil {
				t.Fatal(err)
			}
			_ = pub.Set(jwk.KeyIDKey, "k1")
			_ = s.AddKey(pub)
		}
		b, _ := json.Marshal(s)
		return b
	}
	for name, tc := range map[string]struct {
		raw  []byte
		want string
	}{
		"1024-bit RSA":  {set(weak), "1024 bits"},
		"duplicate kid": {set(strong, strong), "names two keys"},
	} {
		err := validateClientJWKS(tc.raw)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error saying %q", name, err, tc.want)
		}
	}
	if err := validateClientJWKS(set(strong)); err != nil {
		t.Errorf("one 2048-bit RSA key: %v", err)
	}
}
