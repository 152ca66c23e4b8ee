package issuer

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jwt"
	"github.com/tollgate-rpc/tollgate/internal/jwtest"
)

// A JSON token request is read as strictly as a form: encoding/json alone
// lets the last of two client_id values win (the review got an admin token
// with {"client_id":"dev-reader","client_id":"dev-admin",…}), matches names
// in any case and ignores trailing data.
func TestJSONTokenRequestIsStrict(t *testing.T) {
	ts := newTestServer(t)
	secret := ts.addClient(t, basicClient("svc-json"))
	send := func(body string) response {
		req, err := http.NewRequest(http.MethodPost, ts.URL+"/oauth/token", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		return do(t, req)
	}
	good := `{"grant_type":"client_credentials","client_id":"svc-json","client_secret":"` + secret + `","audience":"inventory"}`
	if r := send(good); r.status != http.StatusOK {
		t.Fatalf("well-formed JSON request: %d %s", r.status, r.raw)
	}
	if r := send(strings.TrimSuffix(good, "}") + `,"unknown_extension":1}`); r.status != http.StatusOK {
		t.Errorf("unknown parameters are ignored (RFC 6749 §3.1), got %d %s", r.status, r.raw)
	}
	for name, body := range map[string]string{
		"repeated client_id":        strings.Replace(good, `"client_id":"svc-json"`, `"client_id":"svc-other","client_id":"svc-json"`, 1),
		"repeated, escaped":         strings.Replace(good, `"audience":"inventory"`, `"audience":"inventory","audienc\u0065":"orders"`, 1),
		"name in another case":      strings.Replace(good, `"client_id"`, `"Client_ID"`, 1),
		"trailing data":             good + `{"client_id":"svc-other"}`,
		"trailing garbage":          good + `x`,
		"not an object":             `["client_credentials"]`,
		"wrong type":                strings.Replace(good, `"audience":"inventory"`, `"audience":7`, 1),
		"truncated":                 good[:len(good)-5],
		"repeated grant_type":       strings.Replace(good, `{`, `{"grant_type":"password",`, 1),
		"repeated client_secret":    strings.Replace(good, `{`, `{"client_secret":"x",`, 1),
		"name folds to a known one": strings.Replace(good, `"grant_type"`, `"GRANT_TYPE"`, 1),
	} {
		r := send(body)
		if r.status != http.StatusBadRequest || r.body["error"] != "invalid_request" {
			t.Errorf("%s: %d %s, want 400 invalid_request", name, r.status, r.raw)
		}
		if strings.Contains(r.raw, secret) {
			t.Errorf("%s: the error echoes the secret", name)
		}
	}
}

// An assertion is accepted until exp plus the allowed skew, so its jti is
// remembered that long: replays at exp+2s and exp+20s were accepted before.
// An empty jti cannot be remembered and is refused.
func TestAssertionReplayRememberedUntilItCannotValidate(t *testing.T) {
	start := time.Now().Truncate(time.Second)
	clock := jwtest.NewClock(start)
	ts := newTestServer(t, func(c *Config) { c.Now = clock.Now })
	raw, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	priv, _ := jwk.FromRaw(raw)
	_ = priv.Set(jwk.KeyIDKey, "k1")
	pub, _ := priv.PublicKey()
	set := jwk.NewSet()
	_ = set.AddKey(pub)
	setJSON, _ := json.Marshal(set)
	c := basicClient("keyed")
	c.JWKS = setJSON
	ts.addClient(t, c)
	sign := func(jti string, exp time.Time) string {
		b := jwt.New()
		for k, v := range map[string]any{"iss": "keyed", "sub": "keyed", "aud": ts.URL + "/oauth/token",
			"exp": exp.Unix(), "iat": start.Unix(), "jti": jti} {
			_ = b.Set(k, v)
		}
		signed, err := jwt.Sign(b, jwt.WithKey(jwa.ES256, priv))
		if err != nil {
			t.Fatal(err)
		}
		return string(signed)
	}
	send := func(a string) response {
		return ts.post(t, form("grant_type", "client_credentials", "client_assertion_type", assertionTypeJWT, "client_assertion", a), nil)
	}
	exp := start.Add(time.Minute)
	a := sign("once", exp)
	if r := send(a); r.status != http.StatusOK {
		t.Fatalf("first use: %d %s", r.status, r.raw)
	}
	for _, after := range []time.Duration{2 * time.Second, 20 * time.Second, 29 * time.Second} {
		clock.Set(exp.Add(after))
		if r := send(a); r.status != http.StatusUnauthorized || !strings.Contains(r.raw, "already used") {
			t.Errorf("replay at exp+%s: %d %s, want 401 already used", after, r.status, r.raw)
		}
	}
	clock.Set(start)
	if r := send(sign("", exp)); r.status != http.StatusUnauthorized || !strings.Contains(r.raw, "empty jti") {
		t.Errorf("empty jti: %d %s, want 401 naming the empty jti", r.status, r.raw)
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
