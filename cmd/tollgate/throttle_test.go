package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Valid credentials never spend the failed-authentication budget, with
// the real clock of a real issuer process: after 100 good token requests
// a client's first wrong secret is answered 401, not 429 slow_down (#25.3:
// before, about 12 good requests a minute were enough).
func TestGoodRequestsLeaveTheFailureBudget(t *testing.T) {
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "svc.secret")
	runTo(t, nil, "client", "add", "--data-dir", dir, "--id", "svc", "--scopes", "inventory.read", "--audiences", "inventory",
		"--secret-file", secretFile)
	secret, err := os.ReadFile(secretFile)
	if err != nil {
		t.Fatal(err)
	}
	issuerURL := "http://" + start(t, "issuer", nil, "issuer", "--addr", "127.0.0.1:0", "--data-dir", dir).listening(t, "issuer")
	token := func(secret string) int {
		req, _ := http.NewRequest(http.MethodPost, issuerURL+"/oauth/token", strings.NewReader("grant_type=client_credentials"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("svc", secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for i := range 100 {
		if code := token(strings.TrimSpace(string(secret))); code != http.StatusOK {
			t.Fatalf("good request %d: %d", i, code)
		}
	}
	if code := token("wrong"); code != http.StatusUnauthorized {
		t.Errorf("first wrong secret after 100 good requests: %d, want 401", code)
	}
}
