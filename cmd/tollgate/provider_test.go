package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	inventoryv1 "github.com/tollgate-rpc/tollgate/gen/go/tollgate/inventory/v1"
	"github.com/tollgate-rpc/tollgate/internal/jwtest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// provider is a fixture of an identity provider that cannot run here: its
// issuer identifier, and an access token with its exact header and claims
// (from its documentation, cited in verify's profiles) granting
// inventory.read to a client.
type provider struct {
	profile, audience, client string
	issuerPath                string // below the test issuer's URL
	header                    map[string]any
	claims                    func(iss, aud string) map[string]any
}

var providers = []provider{
	{profile: "auth0", audience: "https://inventory.acme.example", client: "K1AUPhZq8mRi0Q0pjhkfu1D7y6KjDQja", issuerPath: "/",
		header: map[string]any{"typ": "JWT"},
		claims: func(iss, aud string) map[string]any {
			return map[string]any{"iss": iss, "sub": "K1AUPhZq8mRi0Q0pjhkfu1D7y6KjDQja@clients", "aud": aud,
				"azp": "K1AUPhZq8mRi0Q0pjhkfu1D7y6KjDQja", "gty": "client-credentials", "scope": "inventory.read",
				"permissions": []string{"inventory.read"}}
		}},
	{profile: "okta", audience: "api://inventory", client: "0oa1b2c3d4E5F6g7H8i9",
		header: map[string]any{"typ": nil},
		claims: func(iss, aud string) map[string]any {
			return map[string]any{"ver": 1, "jti": "AT.x1", "iss": iss, "aud": aud, "cid": "0oa1b2c3d4E5F6g7H8i9",
				"sub": "0oa1b2c3d4E5F6g7H8i9", "scp": []string{"inventory.read"}}
		}},
	{profile: "entra", audience: "6e74172b-be56-4843-9ff4-e66a39bb12e3", client: "f0c2c2a6-1c1b-4a4c-9a38-0b6a1e6c6f11",
		issuerPath: "/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0", header: map[string]any{"typ": "JWT"},
		claims: func(iss, aud string) map[string]any {
			return map[string]any{"iss": iss, "aud": aud, "azp": "f0c2c2a6-1c1b-4a4c-9a38-0b6a1e6c6f11", "azpacr": "1",
				"tid": "72f988bf-86f1-41af-91ab-2d7cd011db47", "oid": "3c1f", "sub": "3c1f", "roles": []string{"inventory.read"},
				"uti": "AbCd", "ver": "2.0"}
		}},
	{profile: "keycloak", audience: "inventory", client: "orders-svc", issuerPath: "/realms/acme",
		header: map[string]any{"typ": "JWT"},
		claims: func(iss, aud string) map[string]any {
			return map[string]any{"iss": iss, "aud": []string{aud, "account"}, "azp": "orders-svc", "jti": "onrtcc:1",
				"sub": "9b1e", "typ": "Bearer", "scope": "profile inventory.read email"}
		}},
	{profile: "hydra", audience: "inventory", client: "orders-hydra",
		header: map[string]any{"typ": "JWT"},
		claims: func(iss, aud string) map[string]any {
			return map[string]any{"iss": iss, "aud": []string{aud}, "client_id": "orders-hydra", "sub": "orders-hydra",
				"jti": "7f1c", "scp": []string{"inventory.read"}, "ext": map[string]any{}}
		}},
}

// Each provider's tokens, as it shapes them, through a real inventory
// process started with only --issuer-url, --issuer-profile and --audience:
// accepted, scopes enforced, the client named in the access log. The same
// token is refused by a service that trusts the issuer with the default
// (RFC 9068) profile, naming why.
func TestProviderProfilesThroughTheRealService(t *testing.T) {
	for _, p := range providers {
		t.Run(p.profile, func(t *testing.T) {
			t.Parallel()
			ti := jwtest.NewIssuer(t)
			kid := ti.AddKey(jwa.RS256)
			ti.SetID(ti.URL + p.issuerPath)
			now := time.Now()
			claims := p.claims(ti.ID(), p.audience)
			claims["iat"], claims["exp"] = now.Unix(), now.Add(time.Hour).Unix()
			token := ti.Sign(kid, p.header, claims)

			call := func(profile string) (*proc, inventoryv1.InventoryServiceClient) {
				args := []string{"inventory", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--issuer-url", ti.ID(), "--audience", p.audience}
				if profile != "" {
					args = append(args, "--issuer-profile", profile)
				}
				inv := start(t, "inventory "+profile, nil, args...)
				addr := inv.listening(t, "inventory")
				conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { conn.Close() })
				return inv, inventoryv1.NewInventoryServiceClient(conn)
			}
			ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+token)
			inv, client := call(p.profile)
			jwtest.Eventually(t, "inventory to accept the "+p.profile+" token", func() bool {
				_, err := client.GetItem(ctx, &inventoryv1.GetItemRequest{Sku: "widget-1"})
				return err == nil
			})
			if _, err := client.AdjustStock(ctx, &inventoryv1.AdjustStockRequest{Sku: "widget-1", Delta: 1}); status.Code(err) != codes.PermissionDenied {
				t.Errorf("AdjustStock with only inventory.read: %v, want PermissionDenied", err)
			}
			if out := inv.out.String(); !strings.Contains(out, "client_id="+p.client) || strings.Contains(out, token) {
				t.Errorf("access log lacks client_id=%s (or quotes the token):\n%s", p.client, out)
			}

			_, strict := call("")
			var err error
			jwtest.Eventually(t, "the default profile to answer", func() bool {
				_, err = strict.GetItem(ctx, &inventoryv1.GetItemRequest{Sku: "widget-1"})
				return status.Code(err) == codes.Unauthenticated
			})
			if msg := status.Convert(err).Message(); !strings.Contains(msg, "token type") && !strings.Contains(msg, "required claim") {
				t.Errorf("default profile refusing a %s token: %q; want it to say which rule", p.profile, msg)
			}
		})
	}
}

// Misconfiguration is refused at start, naming the fix.
func TestTrustMisconfiguration(t *testing.T) {
	trustFile := filepath.Join(t.TempDir(), "trust.yaml")
	if err := os.WriteFile(trustFile, []byte("issuers:\n  - issuer: https://a.example\n    audiences: [inventory]\n    profile: okto\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--issuer-url", "https://a.example", "--issuer-profile", "okto"}, 2, "the profiles: tollgate, auth0"},
		{[]string{"--trust-file", trustFile, "--issuer-url", "https://a.example"}, 2, "--trust-file and --issuer-url together"},
		{[]string{"--trust-file", trustFile}, 1, "line 2: issuers[0]: unknown issuer profile"},
		{[]string{}, 2, "--issuer-url (or TOLLGATE_ISSUER_URL) or --trust-file is required"},
	} {
		_, stderr, code := runIn(t, append([]string{"inventory", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir()}, tc.args...)...)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("inventory %s: exit %d, %q; want exit %d saying %q", strings.Join(tc.args, " "), code, stderr, tc.code, tc.want)
		}
	}
	// An issuer URL that serves no discovery: orders starts (its issuer may
	// come later, #29.4) but is not ready, and its log says why.
	ti := jwtest.NewIssuer(t)
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte("s"), 0o600); err != nil {
		t.Fatal(err)
	}
	ord := start(t, "orders", nil, "orders", "--addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", "--data-dir", t.TempDir(),
		"--issuer-url", ti.URL+"/nowhere", "--client-secret-file", secret)
	admin := ord.listening(t, "admin")
	jwtest.Eventually(t, "orders to say why it cannot verify or call", func() bool {
		return strings.Contains(ord.out.String(), "no discovery document")
	})
	if code := readyz(t, admin); code != http.StatusServiceUnavailable {
		t.Errorf("orders trusting an issuer without discovery: /readyz %d, want 503", code)
	}
}

// strictTokenEndpoint is a provider's discovery document and token endpoint
// that refuses what that provider refuses, answering as it does.
func strictTokenEndpoint(t *testing.T, issuerPath string, refuse func(r *http.Request) string) string {
	t.Helper()
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		issuer := srv.URL + issuerPath
		switch r.URL.Path {
		case strings.TrimSuffix(issuerPath, "/") + "/.well-known/openid-configuration":
			_ = json.NewEncoder(w).Encode(map[string]string{"issuer": issuer, "token_endpoint": srv.URL + "/oauth2/v2.0/token", "jwks_uri": srv.URL + "/keys"})
		case "/oauth2/v2.0/token":
			_ = r.ParseForm()
			w.Header().Set("Content-Type", "application/json")
			if msg := refuse(r); msg != "" {
				w.WriteHeader(http.StatusBadRequest)
				_ = json.NewEncoder(w).Encode(map[string]string{"error": "invalid_request", "error_description": msg})
				return
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "provider-token", "token_type": "Bearer", "expires_in": 3599})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL + issuerPath
}

// The caller side against providers' rules: Entra ID's v2 endpoint refuses
// `resource` (AADSTS901002) and wants the API as a .default scope; Auth0
// refuses a request without `audience`. tollgate token, configured as the
// README says, gets a token from each; configured otherwise it reports the
// provider's refusal.
func TestCallersFollowProviderTokenRules(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte("s3cret"), 0o600); err != nil {
		t.Fatal(err)
	}
	entra := strictTokenEndpoint(t, "/72f988bf/v2.0", func(r *http.Request) string {
		if r.PostForm.Has("resource") {
			return "AADSTS901002: The 'resource' request parameter is not supported."
		}
		if r.PostForm.Get("scope") != "api://inventory/.default" {
			return "AADSTS1002012: The provided value for scope is not valid."
		}
		return ""
	})
	auth0 := strictTokenEndpoint(t, "/", func(r *http.Request) string { // Auth0's issuer ends with a slash
		if r.PostForm.Get("audience") == "" {
			return "Non-global clients are not allowed access to APIv1"
		}
		return ""
	})
	for _, tc := range []struct {
		name string
		args []string
		want string // "" means the token
	}{
		{"entra as documented", []string{"--issuer-url", entra, "--audience-param", "none", "--scope", "api://inventory/.default"}, ""},
		{"entra with resource", []string{"--issuer-url", entra, "--audience", "api://inventory", "--audience-param", "resource", "--scope", "api://inventory/.default"}, "AADSTS901002"},
		{"auth0 as documented", []string{"--issuer-url", auth0, "--audience", "https://inventory.acme.example"}, ""},
		{"auth0 without audience", []string{"--issuer-url", auth0}, "Non-global clients"},
	} {
		stdout, stderr, code := runIn(t, append([]string{"token", "--client-id", "c", "--client-secret-file", secret}, tc.args...)...)
		if tc.want == "" && (code != 0 || strings.TrimSpace(stdout) != "provider-token") {
			t.Errorf("%s: exit %d, %q %q", tc.name, code, stdout, stderr)
		}
		if tc.want != "" && (code != 1 || !strings.Contains(stderr, tc.want)) {
			t.Errorf("%s: exit %d, %q; want the provider's refusal %q", tc.name, code, stderr, tc.want)
		}
	}
}

// A trust file with two issuers, as during a migration from the suite's own
// issuer to an Auth0 tenant: a real inventory process accepts each one's
// tokens under its own rules, and no one else's.
func TestTrustFileWithTwoIssuers(t *testing.T) {
	own, tenant, stranger := jwtest.NewIssuer(t), jwtest.NewIssuer(t), jwtest.NewIssuer(t)
	ownKid, tenantKid, strangerKid := own.AddKey(jwa.ES256), tenant.AddKey(jwa.RS256), stranger.AddKey(jwa.ES256)
	tenant.SetID(tenant.URL + "/")
	trustFile := filepath.Join(t.TempDir(), "trust.yaml")
	body := fmt.Sprintf("issuers:\n  - issuer: %s\n    audiences: [inventory]\n  - issuer: %s\n    profile: auth0\n    audiences: [https://inventory.acme.example]\n",
		own.ID(), tenant.ID())
	if err := os.WriteFile(trustFile, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := start(t, "inventory", nil, "inventory", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--trust-file", trustFile).
		listening(t, "inventory")
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	inv := inventoryv1.NewInventoryServiceClient(conn)
	exp := time.Now().Add(time.Hour).Unix()
	ownToken := own.Sign(ownKid, nil, own.Claims("inventory", map[string]any{"scope": "inventory.read"}))
	tenantToken := tenant.Sign(tenantKid, map[string]any{"typ": "JWT"}, map[string]any{"iss": tenant.ID(), "sub": "abc@clients", "azp": "abc",
		"aud": "https://inventory.acme.example", "iat": time.Now().Unix(), "exp": exp, "permissions": []string{"inventory.read"}})
	strangerToken := stranger.Sign(strangerKid, nil, stranger.Claims("inventory", map[string]any{"scope": "inventory.read"}))
	for name, tok := range map[string]string{"own issuer": ownToken, "Auth0 tenant": tenantToken} {
		jwtest.Eventually(t, name+"'s token to pass", func() bool {
			_, err := inv.GetItem(bearer(tok), &inventoryv1.GetItemRequest{Sku: "widget-1"})
			return err == nil
		})
	}
	_, err = inv.GetItem(bearer(strangerToken), &inventoryv1.GetItemRequest{Sku: "widget-1"})
	if status.Code(err) != codes.Unauthenticated || !strings.Contains(status.Convert(err).Message(), "issuer not trusted") {
		t.Errorf("a token of an issuer not in the trust file: %v", err)
	}
}
