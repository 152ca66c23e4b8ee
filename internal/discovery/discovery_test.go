package discovery

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// server serves doc at path only.
func server(t *testing.T, path string, doc func(base string) map[string]string) *httptest.Server {
	t.Helper()
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != path {
			http.NotFound(w, r)
			return
		}
		_ = json.NewEncoder(w).Encode(doc(srv.URL))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestFetchFindsEachForm(t *testing.T) {
	for _, tc := range []struct{ name, issuerPath, served string }{
		{"OpenID Connect", "", "/.well-known/openid-configuration"},
		{"OpenID Connect, issuer with a path", "/realms/acme", "/realms/acme/.well-known/openid-configuration"},
		{"RFC 8414, path inserted", "/tenant", "/.well-known/oauth-authorization-server/tenant"},
		{"RFC 8414, no path", "", "/.well-known/oauth-authorization-server"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := server(t, tc.served, func(base string) map[string]string {
				return map[string]string{"issuer": base + tc.issuerPath, "token_endpoint": base + "/token", "jwks_uri": base + "/keys"}
			})
			m, err := Fetch(context.Background(), srv.Client(), srv.URL+tc.issuerPath)
			if err != nil || m.TokenEndpoint != srv.URL+"/token" || m.JWKSURI != srv.URL+"/keys" {
				t.Errorf("Fetch: %+v, %v", m, err)
			}
		})
	}
}

func TestFetchRefusals(t *testing.T) {
	srv := server(t, "/.well-known/openid-configuration", func(base string) map[string]string {
		return map[string]string{"issuer": "https://elsewhere.example", "token_endpoint": base + "/token"}
	})
	if _, err := Fetch(context.Background(), srv.Client(), srv.URL); err == nil || !strings.Contains(err.Error(), "names issuer") {
		t.Errorf("metadata for another issuer: %v", err)
	}
	empty := server(t, "/nothing", func(string) map[string]string { return nil })
	if _, err := Fetch(context.Background(), empty.Client(), empty.URL); err == nil || !strings.Contains(err.Error(), "no discovery document") {
		t.Errorf("an issuer serving no discovery: %v", err)
	}
	if !Downgrades("https://idp.example", "http://idp.example/token") || Downgrades("http://127.0.0.1:8400", "http://127.0.0.1:8400/token") {
		t.Error("Downgrades got a case wrong")
	}
}
