package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// capture is a plain-HTTP server on loopback that records whether anything
// reached it, and what.
type capture struct {
	*httptest.Server
	hits atomic.Int64
	got  atomic.Value // the last request's body and Authorization header
}

func newCapture(t *testing.T) *capture {
	t.Helper()
	c := &capture{}
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.hits.Add(1)
		body, _ := io.ReadAll(r.Body)
		c.got.Store(r.Header.Get("Authorization") + " " + string(body))
		http.Error(w, "captured", http.StatusTeapot)
	}))
	t.Cleanup(c.Close)
	return c
}

// The secret a token request carries never follows a redirect: the token
// endpoint answering 307 (which replays the body) or 302 to a capture
// server gets an error naming the redirect, and the capture server sees
// nothing. Before, the secret arrived there in the clear.
func TestTokenRequestsAreNeverRedirected(t *testing.T) {
	secretFile := filepath.Join(t.TempDir(), "secret")
	const secret = "s3cret-never-to-be-seen-elsewhere"
	if err := os.WriteFile(secretFile, []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, status := range []int{http.StatusTemporaryRedirect, http.StatusFound} {
		for _, auth := range []string{"basic", "post"} {
			sink := newCapture(t)
			redirect := httptest.NewServer(http.RedirectHandler(sink.URL+"/oauth/token", status))
			t.Cleanup(redirect.Close)
			var stderr bytes.Buffer
			cmd := execTollgate(t, nil, "token", "--token-url", redirect.URL+"/oauth/token", "--client-id", "svc",
				"--client-secret-file", secretFile, "--client-auth", auth)
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err == nil {
				t.Errorf("%d, %s: token printed %q, want an error", status, auth, out)
			}
			if !strings.Contains(stderr.String(), "never redirected") {
				t.Errorf("%d, %s: error %q does not say the redirect was refused", status, auth, stderr.String())
			}
			if strings.Contains(stderr.String(), secret) {
				t.Errorf("%d, %s: the error shows the secret", status, auth)
			}
			if n := sink.hits.Load(); n != 0 {
				t.Errorf("%d, %s: the redirect's target got %d requests (%v)", status, auth, n, sink.got.Load())
			}
		}
	}
}

// --allow-plaintext governs what a process sends as well as where it
// listens: a plaintext gRPC dial to a host that is not loopback, or an
// http token endpoint or JWKS there, is refused at start, naming the flag.
// The addresses are TEST-NET ones, never contacted after the fix (before
// it, orders started and sent its secret there).
func TestPlaintextOffLoopbackIsRefused(t *testing.T) {
	secretFile := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretFile, []byte("s"), 0o600); err != nil {
		t.Fatal(err)
	}
	issuer := newCapture(t) // a loopback issuer that is never reached before the refusal
	const remote = "198.51.100.7"
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"inventory over plaintext to a remote host", []string{"orders", "--issuer-url", issuer.URL, "--token-url", issuer.URL + "/oauth/token",
			"--inventory-addr", remote + ":8401", "--client-secret-file", secretFile}},
		{"a remote http token endpoint", []string{"orders", "--issuer-url", issuer.URL, "--token-url", "http://" + remote + "/oauth/token",
			"--client-secret-file", secretFile}},
		{"a remote http JWKS", []string{"inventory", "--issuer-url", issuer.URL, "--jwks-url", "http://" + remote + "/jwks"}},
		{"a remote http issuer", []string{"inventory", "--issuer-url", "http://" + remote}},
		{"token from a remote http endpoint", []string{"token", "--token-url", "http://" + remote + "/oauth/token", "--client-id", "svc",
			"--client-secret-file", secretFile}},
	} {
		args := append([]string{tc.args[0], "--addr", "127.0.0.1:0", "--data-dir", t.TempDir()}, tc.args[1:]...)
		if tc.args[0] == "token" {
			args = tc.args
		}
		out, err := exitsWithin(t, execTollgate(t, nil, args...), 30*time.Second)
		if err == nil || !strings.Contains(string(out), "--allow-plaintext") {
			t.Errorf("%s: err %v, output %q; want a refusal naming --allow-plaintext", tc.name, err, out)
		}
	}
	if n := issuer.hits.Load(); n != 0 {
		t.Errorf("the issuer was reached %d times before the refusal", n)
	}
}

// exitsWithin runs cmd and returns its combined output, killing it (and
// saying so in the error) when it is still running after d: a command that
// should refuse to start, but serves instead, fails the test rather than
// hang it.
func exitsWithin(t *testing.T, cmd *exec.Cmd, d time.Duration) ([]byte, error) {
	t.Helper()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return out.Bytes(), err
	case <-time.After(d):
		_ = cmd.Process.Kill()
		<-done
		return out.Bytes(), fmt.Errorf("still running after %s: it did not refuse", d)
	}
}
