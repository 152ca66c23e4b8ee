package issuer

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// FuzzTokenRequest sends arbitrary token requests (form or JSON bodies,
// Basic headers, client assertions) to the real handler: it never panics,
// always answers JSON that is either a token or an RFC 6749 error, and never
// echoes the client's secret.
func FuzzTokenRequest(f *testing.F) {
	ts := newTestServer(f)
	secret := ts.addClient(f, basicClient("fz"))
	codes := []string{"invalid_request", "invalid_client", "unauthorized_client", "unsupported_grant_type",
		"invalid_scope", "invalid_target", "slow_down", "server_error"}
	basic := "Basic " + b64("fz:"+secret)
	f.Add("application/x-www-form-urlencoded", "grant_type=client_credentials", basic)
	f.Add("application/x-www-form-urlencoded", "grant_type=client_credentials&client_id=fz&client_secret="+secret+"&scope=inventory.write", "")
	f.Add("application/json", `{"grant_type":"client_credentials","client_id":"fz","client_secret":"`+secret+`","audience":"orders"}`, "")
	f.Add("application/json", `{"resource":["inventory",7]}`, basic)
	// What strict JSON parsing refuses: repeated names (also escaped), another case, trailing data.
	f.Add("application/json", `{"grant_type":"client_credentials","client_id":"x","client_i\u0064":"fz"}`, basic)
	f.Add("application/json", `{"Grant_Type":"client_credentials"}`, basic)
	f.Add("application/json", `{"grant_type":"client_credentials"}{"client_id":"fz"}`, basic)
	f.Add("application/x-www-form-urlencoded", "grant_type=client_credentials&client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer&client_assertion=e30.e30.", "")
	f.Add("text/plain", "%%%", "Basic !!!")
	h := ts.Handler()
	f.Fuzz(func(t *testing.T, contentType, body, authorization string) {
		req := httptest.NewRequest(http.MethodPost, "/oauth/token", strings.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		if authorization != "" {
			req.Header.Set("Authorization", authorization)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var resp map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
			t.Fatalf("status %d, body not JSON: %q", rec.Code, rec.Body)
		}
		if rec.Code == http.StatusOK {
			if resp["access_token"] == nil {
				t.Fatalf("200 without a token: %v", resp)
			}
			return
		}
		if code, _ := resp["error"].(string); !slices.Contains(codes, code) {
			t.Fatalf("status %d with error %q", rec.Code, resp["error"])
		}
		if strings.Contains(rec.Body.String(), secret) {
			t.Fatal("error response echoes the secret")
		}
	})
}

// FuzzRegistryFile loads arbitrary bytes as clients.json: no panic, and a
// registry that loads holds only valid clients.
func FuzzRegistryFile(f *testing.F) {
	good, _ := json.Marshal(registryFile{Clients: []*Client{{ID: "a", AllowedAudiences: []string{"x"}, Created: time.Now()}}})
	f.Add(good)
	f.Add([]byte(`{"clients":[{"client_id":"a","allowed_audiences":["x"],"token_lifetime":"1h"},{"client_id":"a"}]}`))
	f.Add([]byte(`{"clients":[{"client_id":"b","allowed_audiences":["x"],"jwks":{"keys":[{"kty":"oct","k":"AA"}]}}]}`))
	f.Add([]byte(`not json`))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "clients.json"), data, 0o600); err != nil {
			t.Fatal(err)
		}
		r, err := NewRegistry(t.Context(), OpenDir(dir))
		if err != nil {
			return
		}
		for _, c := range r.List() {
			if err := c.Validate(); err != nil {
				t.Fatalf("loaded an invalid client: %v", err)
			}
		}
	})
}

// FuzzKeyFile loads arbitrary bytes as keys.json: no panic, and a key store
// that loads can sign.
func FuzzKeyFile(f *testing.F) {
	dir := f.TempDir()
	if _, err := OpenKeyStore(f.Context(), OpenDir(dir), "ES256", time.Now()); err != nil {
		f.Fatal(err)
	}
	good, err := os.ReadFile(filepath.Join(dir, "keys.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"keys":[]}`))
	f.Add([]byte(`{"keys":[{"kid":"x","alg":"ES256","private_jwk":{"kty":"EC"}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "keys.json"), data, 0o600); err != nil {
			t.Fatal(err)
		}
		ks, err := OpenKeyStore(t.Context(), OpenDir(dir), "ES256", time.Now())
		if err != nil {
			return
		}
		if len(ks.JWKS()) == 0 {
			t.Fatal("loaded key store publishes nothing")
		}
	})
}
