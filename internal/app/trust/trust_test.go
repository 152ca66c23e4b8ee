package trust

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tollgate-rpc/tollgate/interceptors/verify"
)

func write(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "trust.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Two issuers at once, as during a migration from the suite's own issuer to
// a company Auth0 tenant; each gets its profile, explicit fields win.
func TestLoadSeveralIssuers(t *testing.T) {
	issuers, err := Load(write(t, `
issuers:
  - issuer: https://issuer.internal:8400
    audiences: [inventory]
  - issuer: https://acme.eu.auth0.com
    profile: auth0
    audiences: [https://inventory.acme.example]
    scope_claims: [permissions]
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(issuers) != 2 {
		t.Fatalf("%d issuers, want 2", len(issuers))
	}
	own, auth0 := issuers[0], issuers[1]
	if own.AllowJWTType || !slices.Equal(own.RequiredClaims, verify.RFC9068RequiredClaims()) {
		t.Errorf("own issuer without a profile is not RFC 9068's: %+v", own)
	}
	if auth0.Issuer != "https://acme.eu.auth0.com/" {
		t.Errorf("auth0 issuer %q, want the tenant URL with its trailing slash", auth0.Issuer)
	}
	if !auth0.AllowJWTType || !slices.Equal(auth0.ScopeClaims, []string{"permissions"}) || !slices.Equal(auth0.ClientIDClaims, []string{"azp", "client_id"}) {
		t.Errorf("auth0 issuer: %+v; want the profile's typ and client claims, the file's scope claims", auth0)
	}
}

func TestExplicitFieldsOverrideTheProfile(t *testing.T) {
	no := false
	is, err := Spec{Issuer: "https://kc.example/realms/acme", Audiences: []string{"inventory"}, Profile: "keycloak",
		AllowJWTType: &no, ClientIDClaims: []string{"clientId"}}.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	if is.AllowJWTType || !slices.Equal(is.ClientIDClaims, []string{"clientId"}) || !slices.Equal(is.ScopeClaims, []string{"scope"}) {
		t.Errorf("resolved %+v", is)
	}
}

// A bad file is refused at start, naming the line and what is wrong.
func TestBadTrustFiles(t *testing.T) {
	for _, tc := range []struct{ name, body, want string }{
		{"unknown field", "issuers:\n  - issuer: https://a.example\n    audiences: [x]\n    audience: [y]\n", "line 4"},
		{"unknown profile", "issuers:\n  - issuer: https://a.example\n    audiences: [x]\n  - issuer: https://b.example\n    audiences: [x]\n    profile: okto\n", "line 4: issuers[1]: unknown issuer profile \"okto\" (the profiles: tollgate, auth0, okta, entra, keycloak, hydra)"},
		{"no audiences", "issuers:\n  - issuer: https://a.example\n", "line 2: issuers[0]: issuer https://a.example: audiences"},
		{"not a URL", "issuers:\n  - issuer: a.example\n    audiences: [x]\n", "not an http(s) URL"},
		{"twice", "issuers:\n  - issuer: https://a.example\n    audiences: [x]\n  - issuer: https://a.example\n    audiences: [y]\n", "listed twice"},
		{"empty", "", "empty"},
		{"no issuers", "issuers: []\n", "no issuers"},
		{"not YAML", "issuers: [\n", "trust file"},
		{"two documents", "issuers:\n  - issuer: https://a.example\n    audiences: [x]\n---\nissuers:\n  - issuer: https://evil.example\n    audiences: [x]\n", "more than one YAML document"},
		{"http keys under https", "issuers:\n  - issuer: https://a.example\n    audiences: [x]\n    jwks_url: http://keys.example/jwks\n", "line 2: issuers[0]: jwks_url: JWKS URL http://keys.example/jwks is plain http off loopback"},
		{"http feed under https", "issuers:\n  - issuer: https://a.example\n    audiences: [x]\n    jwks_url: https://a.example/jwks\n    revocation_feed_url: http://a.example/oauth/revocations\n",
			"line 2: issuers[0]: revocation_feed_url: JWKS URL http://a.example/oauth/revocations is plain http off loopback"},
		{"over 1 MiB", "issuers:\n  - issuer: https://a.example\n    audiences: [x]\n" + strings.Repeat("# padding\n", MaxFileBytes/10+1), "larger than 1048576 bytes"},
	} {
		_, err := Load(write(t, tc.body))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error saying %q", tc.name, err, tc.want)
		}
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.yaml")); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing file: %v", err)
	}
}

func TestSplitList(t *testing.T) {
	if got := SplitList(" scope, permissions ,,"); !slices.Equal(got, []string{"scope", "permissions"}) {
		t.Errorf("SplitList = %q", got)
	}
	if SplitList("") != nil {
		t.Error("an empty flag must leave the profile's default (nil)")
	}
}
