package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/tollgate-rpc/tollgate/internal/devtls"
	"github.com/tollgate-rpc/tollgate/internal/jwtest"
)

// runIn runs the command in this process and returns its outputs and the
// exit code main would give.
func runIn(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut jwtest.Buffer // background goroutines may still write

	err := run(context.Background(), args, &out, &errOut)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
	case errors.Is(err, errUsage):
		code = 2
		_, _ = errOut.Write([]byte(err.Error()))
	default:
		code = 1
		_, _ = errOut.Write([]byte(err.Error()))
	}
	return out.String(), errOut.String(), code
}

// Every command and subcommand answers -h/--help with its usage on stdout
// and exit 0 (`tollgate health --help` used to dial a host named --help,
// `tollgate client --help` was an unknown command); usage mistakes exit 2.
func TestHelpAndUsageConventions(t *testing.T) {
	for _, args := range [][]string{
		{"--help"}, {"help"}, {"dev", "--help"}, {"issuer", "-h"}, {"issuer", "keys", "--help"},
		{"issuer", "keys", "rotate", "--help"}, {"inventory", "--help"}, {"orders", "-help"}, {"token", "--help"},
		{"client", "--help"}, {"client", "add", "--help"}, {"client", "list", "-h"}, {"health", "--help"},
		{"health", "127.0.0.1:1", "--help"}, {"certs", "--help"}, {"version", "--help"}, {"token", "revoke", "--help"},
	} {
		stdout, stderr, code := runIn(t, args...)
		if code != 0 || stdout == "" || !strings.Contains(strings.ToLower(stdout), "usage") || stderr != "" {
			t.Errorf("tollgate %s: exit %d, stdout %q, stderr %q; want the usage on stdout and exit 0",
				strings.Join(args, " "), code, firstLine(stdout), firstLine(stderr))
		}
		// A flag's argument name is one word: Go's flag package takes
		// text in backquotes in a usage string as the name.
		for line := range strings.Lines(stdout) {
			if f := strings.Fields(line); strings.HasPrefix(line, "  -") && len(f) > 2 {
				t.Errorf("tollgate %s: flag line %q names its argument in more than one word", strings.Join(args, " "), strings.TrimSpace(line))
			}
		}
	}
	for _, args := range [][]string{
		{}, {"nonsense"}, {"dev", "--no-such-flag"}, {"client"}, {"client", "frobnicate"}, {"health"},
		{"health", "--timeout", "1s"}, {"issuer", "keys"}, {"issuer", "--max-connections", "0", "--addr", "127.0.0.1:0"},
		{"token", "--client", "admin", "--client-id", "x"}, {"dev", "--access-log", "some"},
		{"inventory", "--access-log", "some", "--issuer-url", "http://127.0.0.1:1"},
		{"token", "revoke"}, {"token", "revoke", "--jti", "j", "--issued-before", "2026-01-01T00:00:00Z"},
		{"token", "revoke", "--client", "c", "--issued-before", "2999-01-01T00:00:00Z"},
		{"token", "revoke", "--client", "c", "--issued-before", "yesterday"},
	} {
		if _, stderr, code := runIn(t, args...); code != 2 {
			t.Errorf("tollgate %s: exit %d (%s), want 2 for a usage mistake", strings.Join(args, " "), code, firstLine(stderr))
		}
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func TestVersion(t *testing.T) {
	stdout, _, code := runIn(t, "version")
	if code != 0 || !strings.HasPrefix(stdout, "tollgate ") || !strings.Contains(stdout, " built with "+runtime.Version()) {
		t.Errorf("tollgate version: exit %d, %q, want the version and the Go it was built with", code, stdout)
	}
}

func TestGoVulnerable(t *testing.T) {
	for v, vulnerable := range map[string]bool{"go1.26.8": true, "go1.26.0": true, "go1.26.10": false, "go1.26.11": false,
		"go1.27.3": false, "devel go1.27-abcdef": false} {
		if got := goVulnerable(v) != ""; got != vulnerable {
			t.Errorf("goVulnerable(%q) = %q, want vulnerable=%v", v, goVulnerable(v), vulnerable)
		}
	}
}

// A health check without --ca-file against a TLS service says so, instead
// of only "error reading server preface: EOF".
func TestHealthNamesATLSMismatch(t *testing.T) {
	ca, err := devtls.LoadOrCreate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.ServerCert("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) { // a TLS server that finishes the handshake, then closes
				_ = c.(*tls.Conn).Handshake()
				c.Close()
			}(c)
		}
	}()
	_, stderr, code := runIn(t, "health", l.Addr().String(), "--timeout", "2s")
	if code != 1 || !strings.Contains(stderr, "--ca-file") {
		t.Errorf("plaintext health check of a TLS server: exit %d, %q; want exit 1 suggesting --ca-file", code, stderr)
	}
	// Flags go before the target too, and a CA file that is missing is
	// named (not "usage: usage: …").
	_, stderr, code = runIn(t, "health", "--timeout", "2s", "--ca-file", filepath.Join(t.TempDir(), "missing.pem"), l.Addr().String())
	if code != 1 || !strings.Contains(stderr, "--ca-file") || strings.Contains(stderr, "usage") {
		t.Errorf("health with flags first and a missing CA: exit %d, %q", code, stderr)
	}
	if _, stderr, code := runIn(t, "health", "a:1", "b:2"); code != 2 || strings.Count(stderr, "usage") != 1 {
		t.Errorf("health with two targets: exit %d, %q; want one usage error", code, stderr)
	}
}

// A gRPC health check of an HTTP listener (an admin port) says what it
// reached and what to check instead.
func TestHealthNamesAnHTTPListener(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	_, stderr, code := runIn(t, "health", "--timeout", "2s", strings.TrimPrefix(srv.URL, "http://"))
	if code != 1 || !strings.Contains(stderr, "an HTTP/1 server answered") || !strings.Contains(stderr, "/readyz") {
		t.Errorf("gRPC health check of an HTTP listener: exit %d, %q", code, stderr)
	}
}
