// Package jwtest holds test helpers, chiefly a real token issuer: an HTTP
// server on 127.0.0.1 with OpenID discovery and a JWKS whose keys can be
// added, withdrawn or made unavailable, and functions that sign arbitrary
// (also deliberately broken) tokens. Also: Eventually, for waiting on
// background work, and Buffer, for capturing output.
package jwtest

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// Issuer is a real HTTP issuer for tests: discovery and a JWKS whose keys
// can be added, withdrawn, or made unavailable.
type Issuer struct {
	tb  testing.TB
	srv *httptest.Server
	URL string

	mu        sync.Mutex
	id        string // see ID
	keys      map[string]crypto.Signer
	algs      map[string]jwa.SignatureAlgorithm
	published []string
	MaxAge    int // JWKS Cache-Control max-age; set before the first fetch

	JWKSFetches atomic.Int64 // requests to the JWKS
	Down        atomic.Bool  // answer 503
	Hang        atomic.Bool  // never answer until the test ends
	Garbage     atomic.Bool  // answer 200 with junk
	Delay       atomic.Int64 // nanoseconds to wait before answering
	stop        chan struct{}
}

// NewIssuer starts an issuer whose URL is its issuer identifier; it stops
// when the test ends.
func NewIssuer(tb testing.TB) *Issuer {
	tb.Helper()
	ti := &Issuer{tb: tb, keys: map[string]crypto.Signer{}, algs: map[string]jwa.SignatureAlgorithm{}, MaxAge: 300, stop: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		id := ti.ID()
		if r.URL.Path != strings.TrimPrefix(strings.TrimSuffix(id, "/"), ti.URL)+"/.well-known/openid-configuration" {
			http.NotFound(w, r)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": id, "jwks_uri": ti.URL + "/jwks"})
	})
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, r *http.Request) {
		ti.JWKSFetches.Add(1)
		time.Sleep(time.Duration(ti.Delay.Load()))
		switch {
		case ti.Hang.Load():
			select {
			case <-r.Context().Done():
			case <-ti.stop:
			}
			return
		case ti.Down.Load():
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		case ti.Garbage.Load():
			_, _ = w.Write([]byte("<html>not json"))
			return
		}
		w.Header().Set("Cache-Control", fmt.Sprintf("max-age=%d", ti.MaxAge))
		_, _ = w.Write(ti.jwks())
	})
	ti.srv = httptest.NewServer(mux)
	ti.URL, ti.id = ti.srv.URL, ti.srv.URL
	tb.Cleanup(func() { close(ti.stop); ti.srv.Close() })
	return ti
}

// ID is the issuer identifier that discovery names and Claims puts in iss:
// URL unless SetID changed it.
func (ti *Issuer) ID() string {
	ti.mu.Lock()
	defer ti.mu.Unlock()
	return ti.id
}

// SetID makes the identifier a URL below URL, such as Auth0's with a
// trailing slash or Entra ID's /<tenant>/v2.0; discovery moves under it.
func (ti *Issuer) SetID(id string) {
	ti.mu.Lock()
	defer ti.mu.Unlock()
	ti.id = id
}

// AddKey creates and publishes a key for alg and returns its kid.
func (ti *Issuer) AddKey(alg jwa.SignatureAlgorithm) string {
	ti.tb.Helper()
	kid, key := NewKey(ti.tb, alg)
	ti.mu.Lock()
	defer ti.mu.Unlock()
	ti.keys[kid], ti.algs[kid] = key, alg
	ti.published = append(ti.published, kid)
	return kid
}

// Publish publishes key under kid for alg, as given: a weak key, or a kid
// already published (the JWKS then lists it twice).
func (ti *Issuer) Publish(kid string, alg jwa.SignatureAlgorithm, key crypto.Signer) {
	ti.mu.Lock()
	defer ti.mu.Unlock()
	ti.keys[kid], ti.algs[kid] = key, alg
	ti.published = append(ti.published, kid)
}

// Unpublish withdraws kid from the JWKS (it can still sign, as a thief could).
func (ti *Issuer) Unpublish(kid string) {
	ti.mu.Lock()
	defer ti.mu.Unlock()
	for i, k := range ti.published {
		if k == kid {
			ti.published = append(ti.published[:i], ti.published[i+1:]...)
			return
		}
	}
}

func (ti *Issuer) jwks() []byte {
	ti.mu.Lock()
	defer ti.mu.Unlock()
	set := jwk.NewSet()
	for _, kid := range ti.published {
		pub, err := jwk.PublicKeyOf(ti.keys[kid].Public())
		if err != nil {
			ti.tb.Error(err)
			return nil
		}
		_ = pub.Set(jwk.KeyIDKey, kid)
		_ = pub.Set(jwk.AlgorithmKey, ti.algs[kid])
		_ = set.AddKey(pub)
	}
	b, _ := json.Marshal(set)
	return b
}

// Key returns the private key of kid.
func (ti *Issuer) Key(kid string) crypto.Signer {
	ti.mu.Lock()
	defer ti.mu.Unlock()
	return ti.keys[kid]
}

// PublicJWK returns the public JWK of kid as JSON.
func (ti *Issuer) PublicJWK(kid string) []byte {
	ti.mu.Lock()
	defer ti.mu.Unlock()
	pub, _ := jwk.PublicKeyOf(ti.keys[kid].Public())
	_ = pub.Set(jwk.KeyIDKey, kid)
	b, _ := json.Marshal(pub)
	return b
}

// NewKey generates a private key for alg and a random kid.
func NewKey(tb testing.TB, alg jwa.SignatureAlgorithm) (string, crypto.Signer) {
	tb.Helper()
	var key crypto.Signer
	var err error
	switch alg {
	case jwa.ES256:
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case jwa.ES384:
		key, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case jwa.RS256, jwa.PS256:
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	case jwa.EdDSA:
		_, key, err = ed25519.GenerateKey(rand.Reader)
	default:
		tb.Fatalf("no test key for %s", alg)
	}
	if err != nil {
		tb.Fatal(err)
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%x", alg, b), key
}

// Claims returns valid claims for aud, with overrides applied (a nil value
// deletes the claim).
func (ti *Issuer) Claims(aud string, overrides map[string]any) map[string]any {
	now := time.Now()
	c := map[string]any{
		"iss": ti.ID(), "sub": "client-1", "client_id": "client-1", "aud": aud,
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
		"jti": fmt.Sprintf("%d", now.UnixNano()), "scope": "inventory.read orders.read",
	}
	for k, v := range overrides {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

// Sign returns a compact JWS of claims signed with kid's key, with header
// typ at+jwt, alg and kid, plus extra header fields (nil deletes one).
func (ti *Issuer) Sign(kid string, header, claims map[string]any) string {
	ti.tb.Helper()
	ti.mu.Lock()
	key, alg := ti.keys[kid], ti.algs[kid]
	ti.mu.Unlock()
	return SignWith(ti.tb, key, alg, kid, header, claims)
}

// SignWith signs claims with any key, as an attacker or another issuer would.
func SignWith(tb testing.TB, key crypto.Signer, alg jwa.SignatureAlgorithm, kid string, header, claims map[string]any) string {
	tb.Helper()
	h := map[string]any{"alg": alg.String(), "kid": kid, "typ": "at+jwt"}
	for k, v := range header {
		if v == nil {
			delete(h, k)
		} else {
			h[k] = v
		}
	}
	input := B64JSON(h) + "." + B64JSON(claims)
	signer, err := jws.NewSigner(jwa.SignatureAlgorithm(h["alg"].(string)))
	if err != nil {
		tb.Fatal(err)
	}
	sig, err := signer.Sign([]byte(input), key)
	if err != nil {
		tb.Fatal(err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// B64JSON is base64url(JSON(v)), a JWS segment.
func B64JSON(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Eventually polls cond every few milliseconds until it holds, failing the
// test after ten seconds. It waits for background work (a JWKS refresh, a
// token refresh); it never asserts how long that took.
func Eventually(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	EventuallyWithin(tb, what, 10*time.Second, cond)
}

// EventuallyWithin is Eventually for background work that takes longer by
// design (an outage the test makes last), failing after d.
func EventuallyWithin(tb testing.TB, what string, d time.Duration, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Buffer is a bytes.Buffer that goroutines may write while a test reads it,
// for capturing logs and exporter output.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Clock is a settable time source that goroutines may read while a test
// moves it: pass its Now where code takes a clock.
type Clock struct{ ns atomic.Int64 }

// NewClock returns a clock showing t.
func NewClock(t time.Time) *Clock {
	c := &Clock{}
	c.Set(t)
	return c
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time { return time.Unix(0, c.ns.Load()) }

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) { c.ns.Store(t.UnixNano()) }

// Add moves the clock by d.
func (c *Clock) Add(d time.Duration) { c.ns.Add(int64(d)) }
