package issuer

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jwt"
)

type testServer struct {
	*Server
	URL     string
	dataDir string
	secrets map[string]string // client ID → secret
	handler *atomic.Value     // what the listener serves: the issuer's handler, or a test's wrapper of it
}

func newTestServer(t testing.TB, opts ...func(*Config)) *testServer {
	t.Helper()
	dir := t.TempDir()
	h := new(atomic.Value) // the handler exists only once the issuer knows its URL
	ts := &testServer{dataDir: dir, secrets: map[string]string{}, handler: h}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.Load().(http.Handler).ServeHTTP(w, r) }))
	t.Cleanup(hs.Close)
	ts.URL = hs.URL
	cfg := Config{Issuer: hs.URL, DataDir: dir}
	for _, o := range opts {
		o(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ts.Server = s
	h.Store(http.HandlerFunc(s.Handler().ServeHTTP))
	return ts
}

// addClient registers a client with a fresh secret.
func (ts *testServer) addClient(t testing.TB, c Client) string {
	t.Helper()
	secret, err := NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	c.SecretHashes = append(c.SecretHashes, HashSecret(secret))
	if c.Created.IsZero() {
		c.Created = time.Now()
	}
	if err := ts.Clients().Update(t.Context(), func(m map[string]*Client) error { m[c.ID] = &c; return nil }); err != nil {
		t.Fatal(err)
	}
	ts.secrets[c.ID] = secret
	return secret
}

func basicClient(id string) Client {
	return Client{ID: id, Name: id,
		AllowedScopes: []string{"inventory.read", "inventory.write"}, DefaultScopes: []string{"inventory.read"},
		AllowedAudiences: []string{"inventory", "orders"}, DefaultAudiences: []string{"inventory"}}
}

type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

// post sends a token request with a form body (nil form: no body).
func (ts *testServer) post(t testing.TB, form url.Values, mutate func(*http.Request)) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, ts.URL+"/oauth/token", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if mutate != nil {
		mutate(req)
	}
	return do(t, req)
}

func do(t testing.TB, req *http.Request) response {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := response{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	_ = json.Unmarshal(raw, &r.body)
	return r
}

func form(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v
}

func basicAuth(id, secret string) func(*http.Request) {
	return func(r *http.Request) { r.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret)) }
}

func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// jwksServer serves srv's JWKS on a fresh listener and returns its URL.
func jwksServer(t testing.TB, srv *Server) string {
	t.Helper()
	hs := httptest.NewServer(http.HandlerFunc(srv.handleJWKS))
	t.Cleanup(hs.Close)
	return hs.URL
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// clientKey returns a new ES256 private JWK (kid k1) for private_key_jwt and
// the JWKS document of its public half, as a client would register it.
func clientKey(t testing.TB) (jwk.Key, []byte) {
	t.Helper()
	raw, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := jwk.FromRaw(raw)
	if err != nil {
		t.Fatal(err)
	}
	_ = priv.Set(jwk.KeyIDKey, "k1")
	_ = priv.Set(jwk.AlgorithmKey, jwa.ES256)
	pub, err := priv.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	set := jwk.NewSet()
	_ = set.AddKey(pub)
	doc, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	return priv, doc
}

// signAssertion signs claims with key as a client assertion (RFC 7523).
func signAssertion(t testing.TB, key jwk.Key, claims map[string]any) string {
	t.Helper()
	b := jwt.New()
	for k, v := range claims {
		if err := b.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	signed, err := jwt.Sign(b, jwt.WithKey(jwa.ES256, key))
	if err != nil {
		t.Fatal(err)
	}
	return string(signed)
}

// postAssertion asks for a token with a client assertion.
func (ts *testServer) postAssertion(t testing.TB, assertion string, extra ...string) response {
	t.Helper()
	return ts.post(t, form(append([]string{"grant_type", "client_credentials",
		"client_assertion_type", assertionTypeJWT, "client_assertion", assertion}, extra...)...), nil)
}
