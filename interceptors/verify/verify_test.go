package verify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/tollgate-rpc/tollgate/internal/jwtest"
)

func TestRules(t *testing.T) {
	ti := jwtest.NewIssuer(t)
	es := ti.AddKey(jwa.ES256)
	rs := ti.AddKey(jwa.RS256)
	ed := ti.AddKey(jwa.EdDSA)
	_, thief := jwtest.NewKey(t, jwa.ES256)
	v := newTestVerifier(t, []Issuer{{Issuer: ti.URL, Audiences: []string{"inventory"}}})
	now := time.Now()
	valid := func(over map[string]any) map[string]any { return ti.Claims("inventory", over) }

	hsWithPublicKey := func() string {
		// The classic confusion attack: HS256 keyed with the public key.
		input := jwtest.B64JSON(map[string]any{"alg": "HS256", "kid": es, "typ": "at+jwt"}) + "." + jwtest.B64JSON(valid(nil))
		m := hmac.New(sha256.New, ti.PublicJWK(es))
		m.Write([]byte(input))
		return input + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
	}
	// Go's base64 decoders skip CR and LF, even in strict mode: a line
	// break inside the signature leaves the signing input and the decoded
	// signature unchanged, so only a syntax check keeps one spelling per
	// token.
	good := ti.Sign(es, nil, valid(nil))
	newlineInSignature := good[:len(good)-10] + "\r\n" + good[len(good)-10:]
	none := jwtest.B64JSON(map[string]any{"alg": "none", "kid": es, "typ": "at+jwt"}) + "." + jwtest.B64JSON(valid(nil)) + "."

	for _, tc := range []struct {
		name  string
		token string
		want  Reason // "" means accepted
	}{
		{"ES256", ti.Sign(es, nil, valid(nil)), ""},
		{"RS256", ti.Sign(rs, nil, valid(nil)), ""},
		{"EdDSA", ti.Sign(ed, nil, valid(nil)), ""},
		{"aud array containing ours", ti.Sign(es, nil, valid(map[string]any{"aud": []string{"other", "inventory"}})), ""},
		{"typ with application/ prefix", ti.Sign(es, map[string]any{"typ": "application/at+jwt"}, valid(nil)), ""},
		{"expired within skew", ti.Sign(es, nil, valid(map[string]any{"exp": now.Add(-30 * time.Second).Unix()})), ""},
		{"forged signature", jwtest.SignWith(t, thief, jwa.ES256, es, nil, valid(nil)), ReasonSignature},
		{"alg none", none, ReasonAlgorithm},
		{"HS256 with the public key", hsWithPublicKey(), ReasonAlgorithm},
		{"alg differs from the key's", jwtest.SignWith(t, thief, jwa.ES384, es, nil, valid(nil)), ReasonAlgorithm},
		{"unknown kid", ti.Sign(es, map[string]any{"kid": "nope"}, valid(nil)), ReasonUnknownKey},
		{"absent kid", ti.Sign(es, map[string]any{"kid": nil}, valid(nil)), ReasonHeader},
		{"embedded jwk ignored", jwtest.SignWith(t, thief, jwa.ES256, es, map[string]any{"jwk": map[string]any{"kty": "EC"}}, valid(nil)), ReasonSignature},
		{"jku ignored", jwtest.SignWith(t, thief, jwa.ES256, es, map[string]any{"jku": "http://127.0.0.1:1/keys"}, valid(nil)), ReasonSignature},
		{"x5u ignored", jwtest.SignWith(t, thief, jwa.ES256, es, map[string]any{"x5u": "http://127.0.0.1:1/cert"}, valid(nil)), ReasonSignature},
		{"expired", ti.Sign(es, nil, valid(map[string]any{"exp": now.Add(-2 * time.Minute).Unix()})), ReasonExpired},
		{"not yet valid", ti.Sign(es, nil, valid(map[string]any{"nbf": now.Add(5 * time.Minute).Unix()})), ReasonNotYetValid},
		{"issued in the future", ti.Sign(es, nil, valid(map[string]any{"iat": now.Add(5 * time.Minute).Unix()})), ReasonNotYetValid},
		{"wrong issuer", ti.Sign(es, nil, valid(map[string]any{"iss": "https://evil.example"})), ReasonIssuer},
		{"issuer with trailing slash", ti.Sign(es, nil, valid(map[string]any{"iss": ti.URL + "/"})), ReasonIssuer},
		{"wrong audience", ti.Sign(es, nil, valid(map[string]any{"aud": "orders"})), ReasonAudience},
		{"no audience", ti.Sign(es, nil, valid(map[string]any{"aud": nil})), ReasonAudience},
		{"missing exp", ti.Sign(es, nil, valid(map[string]any{"exp": nil})), ReasonClaims},
		{"typ JWT", ti.Sign(es, map[string]any{"typ": "JWT"}, valid(nil)), ReasonType},
		{"typ absent", ti.Sign(es, map[string]any{"typ": nil}, valid(nil)), ReasonType},
		{"crit header", ti.Sign(es, map[string]any{"crit": []string{"exp"}}, valid(nil)), ReasonHeader},
		{"b64 header", ti.Sign(es, map[string]any{"b64": false}, valid(nil)), ReasonHeader},
		{"oversized", ti.Sign(es, nil, valid(map[string]any{"pad": strings.Repeat("x", 9000)})), ReasonTooLarge},
		{"line break in the signature", newlineInSignature, ReasonMalformed},
		{"padding", good + "==", ReasonMalformed},
		{"header names are case-sensitive", jwtest.B64JSON(map[string]any{"ALG": "ES256", "kid": es, "typ": "at+jwt"}) + "." + jwtest.B64JSON(valid(nil)) + ".c2ln", ReasonAlgorithm},
		{"alg not a string", jwtest.B64JSON(map[string]any{"alg": 256, "kid": es, "typ": "at+jwt"}) + "." + jwtest.B64JSON(valid(nil)) + ".c2ln", ReasonMalformed},
		{"two parts", "abc.def", ReasonMalformed},
		{"JWE-shaped", "a.b.c.d.e", ReasonMalformed},
		{"header not base64", "!!!." + jwtest.B64JSON(valid(nil)) + ".sig", ReasonMalformed},
		{"claims not JSON", jwtest.B64JSON(map[string]any{"alg": "ES256", "kid": es, "typ": "at+jwt"}) + ".bm90IGpzb24.c2ln", ReasonMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := v.Verify(context.Background(), tc.token)
			if got := ReasonOf(err); got != tc.want {
				t.Fatalf("Verify reason = %q (err %v), want %q", got, err, tc.want)
			}
			if tc.want == "" && (c.Subject != "client-1" || c.ClientID != "client-1") {
				t.Errorf("claims = %+v, want subject and client client-1", c)
			}
			if err != nil && strings.Contains(err.Error(), tc.token) {
				t.Errorf("error quotes the token: %v", err)
			}
		})
	}
}

func profile(t *testing.T, name string) Issuer {
	t.Helper()
	p, ok := LookupProfile(name)
	if !ok {
		t.Fatalf("no profile %s", name)
	}
	return p.Apply(Issuer{})
}

func TestScopesAndVendorShapes(t *testing.T) {
	ti := jwtest.NewIssuer(t)
	kid := ti.AddKey(jwa.ES256)
	all := []string{ScopeClaim, ScpClaim, PermissionsClaim}
	for _, tc := range []struct {
		name       string
		issuer     Issuer
		header     map[string]any
		claims     map[string]any
		wantScopes []string
		wantClient string
	}{
		{"scope string", Issuer{}, nil, map[string]any{"scope": "b a  a"}, []string{"a", "b"}, "client-1"},
		{"scp array ignored unless configured", Issuer{}, nil, map[string]any{"scope": nil, "scp": []string{"a"}}, nil, "client-1"},
		{"scp array", Issuer{ScopeClaims: all}, nil, map[string]any{"scope": nil, "scp": []string{"b", "a"}}, []string{"a", "b"}, "client-1"},
		{"scope and permissions merged", Issuer{ScopeClaims: all}, nil,
			map[string]any{"scope": "read:items", "permissions": []string{"write:items", "read:items"}}, []string{"read:items", "write:items"}, "client-1"},
		{"Auth0 M2M", profile(t, "auth0"), map[string]any{"typ": "JWT"},
			map[string]any{"client_id": nil, "jti": nil, "nbf": nil, "sub": "abc@clients", "azp": "abc", "gty": "client-credentials",
				"aud": []string{"inventory", "https://tenant.auth0.com/userinfo"}, "scope": "inventory.read", "permissions": []string{"inventory.write"}},
			[]string{"inventory.read", "inventory.write"}, "abc"},
		{"Auth0 RFC 9068 dialect", profile(t, "auth0"), map[string]any{"typ": "at+jwt"},
			map[string]any{"sub": "abc@clients", "client_id": "abc", "scope": "inventory.read"},
			[]string{"inventory.read"}, "abc"},
		{"Keycloak service account", profile(t, "keycloak"), map[string]any{"typ": "JWT"},
			map[string]any{"client_id": nil, "azp": "svc", "aud": []string{"inventory", "account"}, "scope": "profile inventory.read email",
				"typ": "Bearer", "realm_access": map[string]any{"roles": []string{"offline_access"}}},
			[]string{"email", "inventory.read", "profile"}, "svc"},
		{"Okta client credentials", profile(t, "okta"), map[string]any{"typ": nil},
			map[string]any{"client_id": nil, "cid": "0oa1", "sub": "0oa1", "ver": 1, "scope": nil, "scp": []string{"inventory.read"}},
			[]string{"inventory.read"}, "0oa1"},
		{"Entra ID v1 app token", profile(t, "entra"), map[string]any{"typ": "JWT"},
			map[string]any{"client_id": nil, "jti": nil, "appid": "11111111-2222", "tid": "t-1", "scope": nil, "roles": []string{"Inventory.Read"}},
			[]string{"Inventory.Read"}, "11111111-2222"},
		{"Entra ID v2 app token", profile(t, "entra"), map[string]any{"typ": "JWT"},
			map[string]any{"client_id": nil, "jti": nil, "azp": "33333333-4444", "tid": "t-1", "scope": nil, "roles": []string{"Inventory.Read"}, "ver": "2.0"},
			[]string{"Inventory.Read"}, "33333333-4444"},
		{"Hydra client credentials", profile(t, "hydra"), map[string]any{"typ": "JWT"},
			map[string]any{"scope": nil, "scp": []string{"inventory.read"}, "ext": map[string]any{}},
			[]string{"inventory.read"}, "client-1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := tc.issuer
			is.Issuer, is.Audiences = ti.URL, []string{"inventory"}
			v := newTestVerifier(t, []Issuer{is})
			c, err := v.Verify(context.Background(), ti.Sign(kid, tc.header, ti.Claims("inventory", tc.claims)))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(c.Scopes, tc.wantScopes) {
				t.Errorf("Scopes = %q, want %q", c.Scopes, tc.wantScopes)
			}
			if c.ClientID != tc.wantClient {
				t.Errorf("ClientID = %q, want %q", c.ClientID, tc.wantClient)
			}
			if c.Raw["iss"] != ti.URL {
				t.Errorf("Raw[iss] = %v", c.Raw["iss"])
			}
		})
	}
}

func TestSeveralIssuers(t *testing.T) {
	a, b := jwtest.NewIssuer(t), jwtest.NewIssuer(t)
	ka, kb := a.AddKey(jwa.ES256), b.AddKey(jwa.RS256)
	v := newTestVerifier(t, []Issuer{
		{Issuer: a.URL, Audiences: []string{"inventory"}},
		{Issuer: b.URL, JWKSURL: b.URL + "/jwks", Audiences: []string{"api://inventory"}},
	})
	if _, err := v.Verify(context.Background(), a.Sign(ka, nil, a.Claims("inventory", nil))); err != nil {
		t.Errorf("issuer a: %v", err)
	}
	if _, err := v.Verify(context.Background(), b.Sign(kb, nil, b.Claims("api://inventory", nil))); err != nil {
		t.Errorf("issuer b: %v", err)
	}
	// Audiences are per issuer: a's audience is not accepted from b.
	if got := ReasonOf(verifyErr(v, b.Sign(kb, nil, b.Claims("inventory", nil)))); got != ReasonAudience {
		t.Errorf("b with a's audience: reason %q, want %q", got, ReasonAudience)
	}
	// A key of b does not verify tokens claiming to be from a.
	if got := ReasonOf(verifyErr(v, b.Sign(kb, nil, a.Claims("inventory", map[string]any{"iss": a.URL})))); got != ReasonUnknownKey {
		t.Errorf("b's key for a's issuer: reason %q, want %q", got, ReasonUnknownKey)
	}
}

func verifyErr(v *Verifier, token string) error {
	_, err := v.Verify(context.Background(), token)
	return err
}

func TestCacheNeverOutlivesExpiry(t *testing.T) {
	ti := jwtest.NewIssuer(t)
	kid := ti.AddKey(jwa.ES256)
	now := time.Now()
	clock := jwtest.NewClock(now)
	v := newTestVerifier(t, []Issuer{{Issuer: ti.URL, Audiences: []string{"inventory"}}},
		WithClock(clock.Now), WithClockSkew(0))
	tok := ti.Sign(kid, nil, ti.Claims("inventory", map[string]any{"exp": now.Add(time.Minute).Unix()}))
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	if v.Stats().CachedTokens != 1 {
		t.Fatalf("cached tokens = %d, want 1", v.Stats().CachedTokens)
	}
	clock.Set(now.Add(time.Minute + time.Second))
	if got := ReasonOf(verifyErr(v, tok)); got != ReasonExpired {
		t.Errorf("after exp: reason %q, want %q", got, ReasonExpired)
	}
	// A token that differs in one signature byte never hits the cached entry.
	clock.Set(now)
	forged := tok[:len(tok)-2] + flip(tok[len(tok)-2]) + tok[len(tok)-1:]
	if got := ReasonOf(verifyErr(v, forged)); got != ReasonSignature {
		t.Errorf("forged twin of a cached token: reason %q, want %q", got, ReasonSignature)
	}
}

func flip(c byte) string {
	if c == 'A' {
		return "B"
	}
	return "A"
}

func TestCacheIsBounded(t *testing.T) {
	ti := jwtest.NewIssuer(t)
	kid := ti.AddKey(jwa.ES256)
	v := newTestVerifier(t, []Issuer{{Issuer: ti.URL, Audiences: []string{"inventory"}}}, WithCacheSize(64))
	for i := range 500 {
		tok := ti.Sign(kid, nil, ti.Claims("inventory", map[string]any{"jti": fmt.Sprint(i)}))
		if _, err := v.Verify(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
	}
	if n := v.Stats().CachedTokens; n > 64 {
		t.Errorf("cache holds %d tokens, bound is 64", n)
	}
}

func TestCheckHook(t *testing.T) {
	ti := jwtest.NewIssuer(t)
	kid := ti.AddKey(jwa.ES256)
	v := newTestVerifier(t, []Issuer{{Issuer: ti.URL, Audiences: []string{"inventory"}}},
		WithCheck(func(c *Claims) error {
			if c.Raw["tenant"] != "acme" {
				return errTenant
			}
			return nil
		}))
	if got := ReasonOf(verifyErr(v, ti.Sign(kid, nil, ti.Claims("inventory", nil)))); got != ReasonRejected {
		t.Errorf("without tenant: reason %q, want %q", got, ReasonRejected)
	}
	if err := verifyErr(v, ti.Sign(kid, nil, ti.Claims("inventory", map[string]any{"tenant": "acme"}))); err != nil {
		t.Errorf("with tenant: %v", err)
	}
}

var errTenant = &Error{Reason: ReasonRejected, msg: "wrong tenant"}

func TestNewRejectsBadConfig(t *testing.T) {
	for name, issuers := range map[string][]Issuer{
		"none":         nil,
		"no audience":  {{Issuer: "https://a"}},
		"empty issuer": {{Audiences: []string{"x"}}},
		"duplicate":    {{Issuer: "https://a", Audiences: []string{"x"}}, {Issuer: "https://a", Audiences: []string{"y"}}},
		"http JWKS off loopback under an https issuer": {{Issuer: "https://a", JWKSURL: "http://keys.example/jwks", Audiences: []string{"x"}}},
	} {
		if v, err := New(issuers); err == nil {
			v.Close()
			t.Errorf("New(%s) succeeded", name)
		}
	}
	if _, err := New([]Issuer{{Issuer: "https://a", Audiences: []string{"x"}}}, WithAlgorithms(jwa.HS256, jwa.NoSignature)); err == nil {
		t.Error("New with only HS256 and none allowed succeeded")
	}
	for _, skew := range []time.Duration{-time.Hour, -time.Nanosecond, MaxClockSkew + time.Second, 8760 * time.Hour} {
		if _, err := New([]Issuer{{Issuer: "https://a", Audiences: []string{"x"}}}, WithClockSkew(skew)); err == nil {
			t.Errorf("New with clock skew %s succeeded", skew)
		}
	}
}

func newTestVerifier(tb testing.TB, issuers []Issuer, opts ...Option) *Verifier {
	tb.Helper()
	v, err := New(issuers, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(v.Close)
	return v
}

// Every profile refuses a token that lacks any one of the claims its
// provider always sends, or carries it empty; the default is RFC 9068's.
func TestRequiredClaimsPerProfile(t *testing.T) {
	ti := jwtest.NewIssuer(t)
	kid := ti.AddKey(jwa.ES256)
	if got := profile(t, "tollgate").RequiredClaims; !slices.Equal(got, []string{"iss", "exp", "aud", "sub", "client_id", "iat", "jti"}) {
		t.Errorf("tollgate profile requires %v, want RFC 9068 §2.2's", got)
	}
	for _, p := range Profiles() {
		is := p.Apply(Issuer{Issuer: ti.URL, Audiences: []string{"inventory"}})
		v := newTestVerifier(t, []Issuer{is})
		full := ti.Claims("inventory", map[string]any{"azp": "c", "cid": "c", "tid": "t", "appid": "c"})
		if _, err := v.Verify(context.Background(), ti.Sign(kid, nil, full)); err != nil {
			t.Fatalf("profile %s refuses a token with every claim: %v", p.Name, err)
		}
		for _, name := range p.RequiredClaims {
			for _, value := range []any{nil, ""} {
				claims := maps.Clone(full)
				claims[name] = value
				if value == nil {
					delete(claims, name)
				}
				_, err := v.Verify(context.Background(), ti.Sign(kid, nil, claims))
				if r := ReasonOf(err); r == "" {
					t.Errorf("profile %s accepted a token whose %s is %v", p.Name, name, value)
				}
			}
		}
	}
	if _, ok := LookupProfile("nobody"); ok {
		t.Error("an unknown profile was found")
	}
}

// A token from which the issuer's profile finds no client ID is refused
// ("missing client id") unless the issuer's configuration says clients are
// optional; with several issuers, the same client ID from each stays
// apart by its issuer.
func TestClientIDRequired(t *testing.T) {
	a, b := jwtest.NewIssuer(t), jwtest.NewIssuer(t)
	ka, kb := a.AddKey(jwa.ES256), b.AddKey(jwa.ES256)
	v := newTestVerifier(t, []Issuer{
		{Issuer: a.URL, Audiences: []string{"inventory"}, RequiredClaims: []string{}},
		{Issuer: b.URL, Audiences: []string{"inventory"}, RequiredClaims: []string{}, ClientOptional: true},
	})
	anonymous := map[string]any{"client_id": nil, "azp": nil}
	_, err := v.Verify(context.Background(), a.Sign(ka, nil, a.Claims("inventory", anonymous)))
	if ReasonOf(err) != ReasonClaims || !strings.Contains(err.Error(), "missing client id") {
		t.Errorf("token naming no client: %v, want %s (missing client id)", err, ReasonClaims)
	}
	c, err := v.Verify(context.Background(), b.Sign(kb, nil, b.Claims("inventory", anonymous)))
	if err != nil || c.ClientID != "" {
		t.Errorf("token naming no client, clients optional: %v, client %q", err, c.ClientID)
	}
	ca, err := v.Verify(context.Background(), a.Sign(ka, nil, a.Claims("inventory", map[string]any{"client_id": nil, "azp": "admin"})))
	if err != nil {
		t.Fatal(err)
	}
	cb, err := v.Verify(context.Background(), b.Sign(kb, nil, b.Claims("inventory", map[string]any{"client_id": "admin"})))
	if err != nil {
		t.Fatal(err)
	}
	if ca.ClientID != "admin" || cb.ClientID != "admin" || ca.Issuer == cb.Issuer {
		t.Errorf("two issuers' admins: (%q, %q) and (%q, %q), want one client ID under two issuers", ca.Issuer, ca.ClientID, cb.Issuer, cb.ClientID)
	}
}
