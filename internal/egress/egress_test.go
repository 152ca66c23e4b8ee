package egress

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestCheckURL(t *testing.T) {
	for _, tc := range []struct {
		url       string
		plaintext bool
		ok        bool
	}{
		{"https://issuer.example/oauth/token", false, true},
		{"http://127.0.0.1:8400/oauth/token", false, true},
		{"http://[::1]:8400/oauth/token", false, true},
		{"http://localhost:8400/oauth/token", false, true},
		{"http://issuer.example/oauth/token", false, false},
		{"http://10.0.0.8/oauth/token", false, false},
		{"http://issuer.example/oauth/token", true, true},
		{"ftp://issuer.example/x", true, false},
		{"/oauth/token", false, false},
		{"http://user:hunter2@issuer.example/x", false, false},
	} {
		err := CheckURL("token URL", tc.url, tc.plaintext)
		if (err == nil) != tc.ok {
			t.Errorf("CheckURL(%q, plaintext=%v) = %v, want ok=%v", tc.url, tc.plaintext, err, tc.ok)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("CheckURL(%q) error shows the password: %v", tc.url, err)
		}
	}
	if err := CheckURL("token URL", "http://issuer.example/", false); !errors.Is(err, ErrPlaintext) {
		t.Errorf("plain http off loopback: %v, want ErrPlaintext", err)
	}
}

// A server that redirects to target, and one that records whether it was
// reached.
func redirector(t *testing.T, status int, target string) string {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", target)
		w.WriteHeader(status)
	}))
	t.Cleanup(s.Close)
	return s.URL
}

func TestRedirectPolicies(t *testing.T) {
	reached := 0
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached++
		_, _ = io.WriteString(w, "{}")
	}))
	defer sink.Close()
	tlsSink := httptest.NewTLSServer(sink.Config.Handler)
	defer tlsSink.Close()
	tlsRedirect := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, sink.URL+"/jwks", http.StatusFound) // https → http
	}))
	defer tlsRedirect.Close()
	tlsToTLS := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, tlsSink.URL+"/jwks", http.StatusFound)
	}))
	defer tlsToTLS.Close()
	trusting := tlsRedirect.Client() // trusts every httptest TLS server's certificate

	get := func(c *http.Client, url string) error {
		resp, err := c.Get(url)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	if err := get(Secure(trusting), tlsRedirect.URL); err == nil || !strings.Contains(err.Error(), "leaves https") {
		t.Errorf("Secure, https redirected to http: %v, want the redirect refused", err)
	}
	if reached != 0 {
		t.Fatalf("the http target was reached %d times", reached)
	}
	if err := get(Secure(trusting), tlsToTLS.URL); err != nil || reached != 1 {
		t.Errorf("Secure, https redirected to https: %v (reached %d), want followed", err, reached)
	}
	// A local http issuer may redirect within loopback.
	if err := get(Secure(nil), redirector(t, http.StatusFound, sink.URL+"/jwks")); err != nil || reached != 2 {
		t.Errorf("Secure, loopback http redirected to loopback http: %v (reached %d), want followed", err, reached)
	}
	if err := get(Secure(nil), redirector(t, http.StatusFound, "http://192.0.2.1/jwks")); err == nil {
		t.Error("Secure followed a loopback http redirect to a non-loopback http host")
	}
	for _, status := range []int{http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		resp, err := NoRedirects(nil).Post(redirector(t, status, sink.URL+"/token"), "application/x-www-form-urlencoded", strings.NewReader("client_secret=s"))
		if err == nil {
			resp.Body.Close()
			t.Errorf("NoRedirects followed a %d", status)
		}
	}
	if reached != 2 {
		t.Errorf("a token request reached the redirect's target (%d)", reached)
	}
	// The caller's own policy still applies after ours.
	own := &http.Client{Transport: trusting.Transport, CheckRedirect: func(*http.Request, []*http.Request) error { return errors.New("mine") }}
	if err := get(Secure(own), tlsToTLS.URL); err == nil || !strings.Contains(err.Error(), "mine") {
		t.Errorf("Secure dropped the client's own redirect policy: %v", err)
	}
	if own.CheckRedirect == nil || Secure(own) == own {
		t.Error("Secure changed the client it was given")
	}
}

func TestPublicOnly(t *testing.T) {
	for addr, public := range map[string]bool{
		"93.184.215.14:443": true, "[2606:4700::1]:443": true,
		"127.0.0.1:9090": false, "[::1]:443": false, "10.1.2.3:443": false, "172.16.0.1:443": false, "192.168.1.1:80": false,
		"169.254.169.254:80": false, "[fe80::1]:443": false, "[fd00::1]:443": false, "0.0.0.0:80": false, "100.64.0.1:80": false,
		"[::ffff:127.0.0.1]:80": false, "224.0.0.1:80": false,
	} {
		err := PublicOnly("tcp", addr, nil)
		if (err == nil) != public {
			t.Errorf("PublicOnly(%s) = %v, want public=%v", addr, err, public)
		}
		if err != nil && !errors.Is(err, ErrNotPublic) {
			t.Errorf("PublicOnly(%s) = %v, want ErrNotPublic", addr, err)
		}
	}
}

func TestCheckKeysURL(t *testing.T) {
	for _, tc := range []struct {
		issuer, jwks string
		ok           bool
	}{
		{"https://issuer.example", "https://keys.example/jwks", true},
		{"https://issuer.example", "http://127.0.0.1:8400/jwks", true},
		{"https://issuer.example", "http://keys.example/jwks", false},
		{"HTTPS://issuer.example", "http://10.0.0.1/jwks", false},
		{"http://127.0.0.1:8400", "http://127.0.0.1:8400/jwks", true},
	} {
		if err := CheckKeysURL(tc.issuer, tc.jwks); (err == nil) != tc.ok {
			t.Errorf("CheckKeysURL(%q, %q) = %v, want ok=%v", tc.issuer, tc.jwks, err, tc.ok)
		}
	}
}
