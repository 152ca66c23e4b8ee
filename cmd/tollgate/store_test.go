package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/tollgate-rpc/tollgate/internal/jwtest"
)

// runConcurrently runs n tollgate processes at once, args(i) each, and
// returns their stdouts; any failure fails the test.
func runConcurrently(t *testing.T, n int, args func(i int) []string) []string {
	t.Helper()
	outs, errs := make([]string, n), make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		cmd := execTollgate(t, nil, args(i)...)
		wg.Go(func() {
			out, err := cmd.Output()
			outs[i], errs[i] = string(out), err
			if ee, ok := err.(interface{ Stderr() []byte }); ok && err != nil {
				errs[i] = fmt.Errorf("%w: %s", err, ee.Stderr())
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("process %d (%s): %v", i, strings.Join(args(i), " "), err)
		}
	}
	return outs
}

// Twenty `tollgate client add` processes on one data directory at once (as
// docker-compose starts two): every registration is kept.
func TestConcurrentClientAddProcesses(t *testing.T) {
	const n = 20
	dir := t.TempDir()
	runConcurrently(t, n, func(i int) []string {
		return []string{"client", "add", "--data-dir", dir, "--id", fmt.Sprint("svc-", i), "--scopes", "inventory.read",
			"--audiences", "inventory", "--secret-file", filepath.Join(dir, fmt.Sprint("svc-", i, ".secret"))}
	})
	list := runTo(t, nil, "client", "list", "--data-dir", dir)
	for i := range n {
		if id := fmt.Sprint("svc-", i); !regexp.MustCompile(`(?m)^` + id + `\s`).MatchString(list) {
			t.Errorf("client %s lost; client list:\n%s", id, list)
		}
	}
}

// Five `tollgate issuer keys rotate` processes at once, beside a running
// issuer: every new key is in keys.json and in the JWKS the issuer serves.
func TestKeyRotationProcessesWhileIssuerRuns(t *testing.T) {
	dir, addr := t.TempDir(), freePort(t)
	start(t, "issuer", nil, "issuer", "--addr", addr, "--data-dir", dir)
	jwksURL := "http://" + addr + "/.well-known/jwks.json"
	served := func() []string {
		resp, err := http.Get(jwksURL)
		if err != nil {
			return nil
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		var set struct {
			Keys []struct {
				Kid string `json:"kid"`
			} `json:"keys"`
		}
		if json.Unmarshal(body, &set) != nil {
			return nil
		}
		var kids []string
		for _, k := range set.Keys {
			kids = append(kids, k.Kid)
		}
		return kids
	}
	jwtest.Eventually(t, "the issuer to serve its first key", func() bool { return len(served()) == 1 })

	outs := runConcurrently(t, 5, func(int) []string { return []string{"issuer", "keys", "rotate", "--data-dir", dir} })
	want := served()
	for _, out := range outs {
		m := regexp.MustCompile(`new key (\S+) published`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("rotate printed %q", out)
		}
		want = append(want, m[1])
	}
	data, err := os.ReadFile(filepath.Join(dir, "keys.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, kid := range want {
		if !strings.Contains(string(data), kid) {
			t.Errorf("key %s missing from keys.json", kid)
		}
	}
	jwtest.Eventually(t, "the issuer to serve every rotated key", func() bool {
		got := served()
		return !slices.ContainsFunc(want, func(kid string) bool { return !slices.Contains(got, kid) })
	})
}
