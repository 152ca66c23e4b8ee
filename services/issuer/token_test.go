package issuer

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/tollgate-rpc/tollgate/interceptors/callcreds"
	"github.com/tollgate-rpc/tollgate/interceptors/verify"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// verified checks an issued token the way every Tollgate service does.
func (ts *testServer) verified(t *testing.T, token, audience string) *verify.Claims {
	t.Helper()
	v, err := verify.New([]verify.Issuer{{Issuer: ts.URL, Audiences: []string{audience}}})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	c, err := v.Verify(context.Background(), token)
	if err != nil {
		t.Fatalf("issued token does not verify: %v", err)
	}
	return c
}

func TestClientAuthenticationMethods(t *testing.T) {
	ts := newTestServer(t)
	secret := ts.addClient(t, basicClient("svc-a"))
	jsonBody := func(body string) func(*http.Request) {
		return func(r *http.Request) {
			r.Body = http.NoBody
			r.Header.Set("Content-Type", "application/json")
			r.Body = ioNopCloser(body)
			r.ContentLength = int64(len(body))
		}
	}
	for _, tc := range []struct {
		name   string
		form   url.Values
		mutate func(*http.Request)
	}{
		{"client_secret_basic", form("grant_type", "client_credentials"), basicAuth("svc-a", secret)},
		{"client_secret_post", form("grant_type", "client_credentials", "client_id", "svc-a", "client_secret", secret), nil},
		{"Auth0-style JSON", nil, jsonBody(`{"client_id":"svc-a","client_secret":"` + secret + `","audience":"inventory","grant_type":"client_credentials"}`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := ts.post(t, tc.form, tc.mutate)
			if r.status != http.StatusOK {
				t.Fatalf("status %d: %s", r.status, r.raw)
			}
			if r.header.Get("Cache-Control") != "no-store" || r.body["token_type"] != "Bearer" {
				t.Errorf("response headers %v body %v", r.header, r.body)
			}
			c := ts.verified(t, r.body["access_token"].(string), "inventory")
			if c.Subject != "svc-a" || c.ClientID != "svc-a" || !slices.Equal(c.Scopes, []string{"inventory.read"}) {
				t.Errorf("claims %+v", c)
			}
		})
	}
}

func ioNopCloser(s string) *nopCloser { return &nopCloser{strings.NewReader(s)} }

type nopCloser struct{ *strings.Reader }

func (nopCloser) Close() error { return nil }

func TestTokenShape(t *testing.T) {
	ts := newTestServer(t)
	c := basicClient("svc-b")
	c.TokenLifetime = Duration(2 * time.Minute)
	c.ExtraClaims = map[string]any{"tenant": "acme"}
	secret := ts.addClient(t, c)
	r := ts.post(t, form("grant_type", "client_credentials", "scope", "inventory.write inventory.read"), basicAuth("svc-b", secret))
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.raw)
	}
	if r.body["expires_in"] != float64(120) || r.body["scope"] != "inventory.read inventory.write" {
		t.Errorf("body %v", r.body)
	}
	tok := r.body["access_token"].(string)
	claims := ts.verified(t, tok, "inventory")
	if got := claims.Expiry.Sub(claims.IssuedAt); got != 2*time.Minute {
		t.Errorf("exp - iat = %s, want the client's 2m lifetime", got)
	}
	for _, name := range []string{"iss", "sub", "aud", "exp", "iat", "nbf", "jti", "client_id", "scope"} {
		if _, ok := claims.Raw[name]; !ok {
			t.Errorf("token lacks RFC 9068 claim %s", name)
		}
	}
	if claims.Raw["tenant"] != "acme" {
		t.Errorf("extra claim tenant = %v", claims.Raw["tenant"])
	}
	seg, _, _ := strings.Cut(tok, ".")
	var h map[string]any
	if err := decodeSegment(seg, &h); err != nil || h["typ"] != "at+jwt" || h["alg"] != "ES256" || h["kid"] == "" {
		t.Errorf("header %v (%v)", h, err)
	}
}

// Every signing algorithm the issuer offers gives tokens the verifier
// accepts through the published JWKS, with the key's alg and kid.
func TestEveryAlgorithmSigns(t *testing.T) {
	for _, alg := range []jwa.SignatureAlgorithm{jwa.ES256, jwa.RS256, jwa.EdDSA} {
		t.Run(alg.String(), func(t *testing.T) {
			ts := newTestServer(t, func(c *Config) { c.Algorithm = alg })
			secret := ts.addClient(t, basicClient("svc-alg"))
			r := ts.post(t, form("grant_type", "client_credentials"), basicAuth("svc-alg", secret))
			if r.status != http.StatusOK {
				t.Fatalf("status %d: %s", r.status, r.raw)
			}
			tok := r.body["access_token"].(string)
			if c := ts.verified(t, tok, "inventory"); c.ClientID != "svc-alg" {
				t.Errorf("claims %+v", c)
			}
			seg, _, _ := strings.Cut(tok, ".")
			var h map[string]any
			if err := decodeSegment(seg, &h); err != nil || h["alg"] != alg.String() || h["kid"] != mustSigner(t, ts.Server).Kid {
				t.Errorf("header %v (%v), want alg %s and the key's kid", h, err, alg)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	ts := newTestServer(t)
	secret := ts.addClient(t, basicClient("svc-c"))
	off := basicClient("svc-off")
	off.Disabled = true
	offSecret := ts.addClient(t, off)
	cc := form("grant_type", "client_credentials")
	// What error_description must say, where it matters: what was refused
	// and what the client may ask for instead.
	descs := map[string]string{
		"scope not allowed":    "scope not allowed for this client: orders.admin",
		"audience not allowed": "it may ask for: inventory orders",
		"resource not allowed": "it may ask for: inventory orders",
	}
	for _, tc := range []struct {
		name      string
		form      url.Values
		mutate    func(*http.Request)
		status    int
		code      string
		challenge bool
	}{
		{"missing grant_type", form("scope", "x"), basicAuth("svc-c", secret), 400, "invalid_request", false},
		{"unsupported grant", form("grant_type", "password"), basicAuth("svc-c", secret), 400, "unsupported_grant_type", false},
		{"repeated parameter", form("grant_type", "client_credentials", "scope", "a", "scope", "b"), basicAuth("svc-c", secret), 400, "invalid_request", false},
		{"two auth methods", form("grant_type", "client_credentials", "client_secret", secret), basicAuth("svc-c", secret), 400, "invalid_request", false},
		{"wrong Content-Type", cc, func(r *http.Request) { basicAuth("svc-c", secret)(r); r.Header.Set("Content-Type", "text/plain") }, 400, "invalid_request", false},
		{"wrong secret, Basic", cc, basicAuth("svc-c", "nope"), 401, "invalid_client", true},
		{"wrong secret, post", form("grant_type", "client_credentials", "client_id", "svc-c", "client_secret", "nope"), nil, 401, "invalid_client", false},
		{"unknown client", cc, basicAuth("ghost", "x"), 401, "invalid_client", true},
		{"no authentication", cc, nil, 401, "invalid_client", true},
		{"disabled client", cc, basicAuth("svc-off", offSecret), 400, "unauthorized_client", false},
		{"scope not allowed", form("grant_type", "client_credentials", "scope", "inventory.read orders.admin"), basicAuth("svc-c", secret), 400, "invalid_scope", false},
		{"audience not allowed", form("grant_type", "client_credentials", "audience", "billing"), basicAuth("svc-c", secret), 400, "invalid_target", false},
		{"resource not allowed", form("grant_type", "client_credentials", "resource", "inventory", "resource", "billing"), basicAuth("svc-c", secret), 400, "invalid_target", false},
		{"GET", cc, func(r *http.Request) { r.Method = http.MethodGet }, 405, "invalid_request", false},
		{"huge body", form("grant_type", "client_credentials", "pad", strings.Repeat("x", 70<<10)), basicAuth("svc-c", secret), 413, "invalid_request", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := ts.post(t, tc.form, tc.mutate)
			if r.status != tc.status || r.body["error"] != tc.code {
				t.Fatalf("got %d %v, want %d %s", r.status, r.body, tc.status, tc.code)
			}
			if desc, _ := r.body["error_description"].(string); !strings.Contains(desc, descs[tc.name]) {
				t.Errorf("error_description %q does not say %q", desc, descs[tc.name])
			}
			if got := r.header.Get("WWW-Authenticate") != ""; got != tc.challenge {
				t.Errorf("WWW-Authenticate present = %v, want %v", got, tc.challenge)
			}
			if r.header.Get("Cache-Control") != "no-store" {
				t.Error("error response without Cache-Control: no-store")
			}
			if strings.Contains(r.raw, secret) || strings.Contains(r.raw, offSecret) {
				t.Error("error response echoes a secret")
			}
		})
	}
}

func TestScopeAndAudienceRules(t *testing.T) {
	ts := newTestServer(t)
	secret := ts.addClient(t, basicClient("svc-d"))
	for _, tc := range []struct {
		name       string
		form       url.Values
		wantScopes []string
		wantAud    []string
	}{
		{"defaults", form(), []string{"inventory.read"}, []string{"inventory"}},
		{"subset of allowed", form("scope", "inventory.write"), []string{"inventory.write"}, []string{"inventory"}},
		{"empty scope asks for none", form("scope", ""), nil, []string{"inventory"}},
		{"Auth0 audience", form("audience", "orders"), []string{"inventory.read"}, []string{"orders"}},
		{"RFC 8707 resources", form("resource", "orders", "resource", "inventory"), []string{"inventory.read"}, []string{"inventory", "orders"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.form
			f.Set("grant_type", "client_credentials")
			r := ts.post(t, f, basicAuth("svc-d", secret))
			if r.status != http.StatusOK {
				t.Fatalf("status %d: %s", r.status, r.raw)
			}
			c := ts.verified(t, r.body["access_token"].(string), tc.wantAud[0])
			if !slices.Equal(c.Scopes, tc.wantScopes) || !slices.Equal(c.Audience, tc.wantAud) {
				t.Errorf("scopes %v aud %v, want %v %v", c.Scopes, c.Audience, tc.wantScopes, tc.wantAud)
			}
		})
	}
}

func TestStandardClients(t *testing.T) {
	ts := newTestServer(t)
	secret := ts.addClient(t, basicClient("svc-e"))
	for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleInHeader, oauth2.AuthStyleInParams} {
		cc := clientcredentials.Config{ClientID: "svc-e", ClientSecret: secret, TokenURL: ts.URL + "/oauth/token",
			Scopes: []string{"inventory.write"}, EndpointParams: url.Values{"audience": {"orders"}}, AuthStyle: style}
		tok, err := cc.Token(context.Background())
		if err != nil {
			t.Fatalf("x/oauth2 with AuthStyle %d: %v", style, err)
		}
		c := ts.verified(t, tok.AccessToken, "orders")
		if !c.HasScope("inventory.write") || time.Until(tok.Expiry) < 14*time.Minute {
			t.Errorf("AuthStyle %d: claims %+v expiry %v", style, c, tok.Expiry)
		}
	}
}

func TestPrivateKeyJWT(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.AllowPrivateClientJWKS = true })
	priv, setJSON := clientKey(t)

	inline := basicClient("keyed-inline")
	inline.JWKS = setJSON
	byURL := basicClient("keyed-url")
	keys := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(setJSON) }))
	t.Cleanup(keys.Close)
	byURL.JWKSURI = keys.URL
	for _, c := range []Client{inline, byURL} {
		if err := ts.Clients().Update(t.Context(), func(m map[string]*Client) error { c := c; m[c.ID] = &c; return nil }); err != nil {
			t.Fatal(err)
		}
		src, err := callcreds.NewSource(callcreds.Config{TokenURL: ts.URL + "/oauth/token", ClientID: c.ID, PrivateKey: priv})
		if err != nil {
			t.Fatal(err)
		}
		tok, err := src.Token(context.Background())
		if err != nil {
			t.Fatalf("%s: %v", c.ID, err)
		}
		if got := ts.verified(t, tok.Value, "inventory").ClientID; got != c.ID {
			t.Errorf("client %q, want %q", got, c.ID)
		}
	}

	now := time.Now()
	good := map[string]any{"iss": "keyed-inline", "sub": "keyed-inline", "aud": ts.URL + "/oauth/token",
		"exp": now.Add(time.Minute).Unix(), "iat": now.Unix(), "jti": "once"}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for key, val := range good {
			m[key] = val
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	other, _ := clientKey(t) // same kid, unregistered key
	assertion := func(claims map[string]any, key jwk.Key) string { return signAssertion(t, key, claims) }
	if r := ts.postAssertion(t, assertion(good, priv)); r.status != http.StatusOK {
		t.Fatalf("good assertion: %d %s", r.status, r.raw)
	}
	for name, a := range map[string]string{
		"replayed jti":      assertion(good, priv),
		"wrong key":         assertion(with("jti", "2"), other),
		"wrong audience":    assertion(with("aud", "https://elsewhere"), priv),
		"expired":           assertion(with("exp", now.Add(-time.Hour).Unix()), priv),
		"no jti":            assertion(with("jti", nil), priv),
		"sub is not client": assertion(with("sub", "someone"), priv),
		"lives too long":    assertion(with("exp", now.Add(time.Hour).Unix()), priv),
	} {
		if r := ts.postAssertion(t, a); r.status != http.StatusUnauthorized || r.body["error"] != "invalid_client" {
			t.Errorf("%s: %d %s, want 401 invalid_client", name, r.status, r.raw)
		}
	}
}

// A token is valid at one service unless the caller asks for several: a
// request without audience gets the client's one default (or its only
// allowed audience); several allowed and no default is invalid_target
// naming them. Before, such a token carried every allowed audience.
func TestTokensAreAudienceRestricted(t *testing.T) {
	ts := newTestServer(t)
	multi := basicClient("svc-multi")
	multi.DefaultAudiences = nil
	multiSecret := ts.addClient(t, multi)
	single := basicClient("svc-single")
	single.AllowedAudiences, single.DefaultAudiences = []string{"orders"}, nil
	singleSecret := ts.addClient(t, single)
	cc := form("grant_type", "client_credentials")

	r := ts.post(t, cc, basicAuth("svc-multi", multiSecret))
	if r.status != http.StatusBadRequest || r.body["error"] != "invalid_target" ||
		!strings.Contains(r.raw, "inventory") || !strings.Contains(r.raw, "orders") {
		t.Errorf("no audience, several allowed: %d %s, want 400 invalid_target naming inventory and orders", r.status, r.raw)
	}
	r = ts.post(t, cc, basicAuth("svc-single", singleSecret))
	if r.status != http.StatusOK {
		t.Fatalf("no audience, one allowed: %d %s", r.status, r.raw)
	}
	if aud := ts.verified(t, r.body["access_token"].(string), "orders").Audience; !slices.Equal(aud, []string{"orders"}) {
		t.Errorf("aud %v, want [orders]", aud)
	}
	r = ts.post(t, form("grant_type", "client_credentials", "resource", "inventory", "resource", "orders"), basicAuth("svc-multi", multiSecret))
	if r.status != http.StatusOK {
		t.Fatalf("two resources asked for: %d %s", r.status, r.raw)
	}
	if aud := ts.verified(t, r.body["access_token"].(string), "orders").Audience; !slices.Equal(aud, []string{"inventory", "orders"}) {
		t.Errorf("aud %v, want [inventory orders] when both are asked for", aud)
	}
	two := basicClient("svc-two-defaults")
	two.DefaultAudiences = []string{"inventory", "orders"}
	if err := two.Validate(); err == nil {
		t.Error("a client with two default audiences validated")
	}
}

// Discovery lists the scopes the issuer is told to advertise, and no
// others: it used to list every scope any client held.
func TestDiscoveryAdvertisesOnlyChosenScopes(t *testing.T) {
	metadata := func(ts *testServer) response {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, ts.URL+"/.well-known/openid-configuration", nil)
		if err != nil {
			t.Fatal(err)
		}
		return do(t, req)
	}
	quiet := newTestServer(t)
	c := basicClient("svc")
	c.AllowedScopes = append(c.AllowedScopes, "payroll.secret")
	quiet.addClient(t, c)
	r := metadata(quiet)
	if r.status != http.StatusOK || r.body["token_endpoint"] != quiet.URL+"/oauth/token" {
		t.Fatalf("discovery: %d %s", r.status, r.raw)
	}
	if strings.Contains(r.raw, "payroll.secret") || r.body["scopes_supported"] != nil {
		t.Errorf("discovery without --advertise-scopes lists scopes: %s", r.raw)
	}
	loud := newTestServer(t, func(c *Config) { c.AdvertiseScopes = []string{"inventory.read", "orders.read"} })
	loud.addClient(t, c)
	if got := metadata(loud).body["scopes_supported"]; fmt.Sprint(got) != "[inventory.read orders.read]" {
		t.Errorf("scopes_supported = %v, want exactly the advertised ones", got)
	}
	if _, err := New(Config{Issuer: "http://x", DataDir: t.TempDir(), AdvertiseScopes: []string{"bad scope"}}); err == nil {
		t.Error("an invalid advertised scope was accepted")
	}
}

// mustSigner is the key s signs with now.
func mustSigner(t *testing.T, s *Server) *SigningKey {
	t.Helper()
	k, err := s.keys.signer(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return k
}
