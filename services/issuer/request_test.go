package issuer

import (
	"net/http"
	"strings"
	"testing"
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
