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
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/tollgate-rpc/tollgate/internal/jwtest"
	"github.com/tollgate-rpc/tollgate/internal/pgtest"
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
	dir := t.TempDir()
	addr := start(t, "issuer", nil, "issuer", "--addr", "127.0.0.1:0", "--data-dir", dir).listening(t, "issuer")
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

// `client rotate-secret` keeps the previous secret for a grace period (24 h
// by default) that `client list` shows; `--revoke-previous` and `client
// revoke-previous` end it; a grace beyond 30 days is a usage error.
func TestClientSecretRotationCommands(t *testing.T) {
	dir := t.TempDir()
	client := func(args ...string) string {
		return runTo(t, nil, append([]string{"client"}, append(args, "--data-dir", dir)...)...)
	}
	client("add", "--id", "svc", "--scopes", "inventory.read", "--audiences", "inventory")
	row := func() string {
		t.Helper()
		for line := range strings.Lines(client("list")) {
			if strings.HasPrefix(line, "svc ") {
				return line
			}
		}
		t.Fatal("svc missing from client list")
		return ""
	}
	if r := row(); !strings.HasSuffix(strings.TrimSpace(r), "-") {
		t.Errorf("new client lists a previous secret: %s", r)
	}
	before := time.Now().Truncate(time.Second)
	client("rotate-secret", "--id", "svc")
	after := time.Now()
	r := row()
	m := regexp.MustCompile(`valid until (\S+)`).FindStringSubmatch(r)
	if m == nil {
		t.Fatalf("after rotate-secret, no grace listed: %s", r)
	}
	until, err := time.Parse(time.RFC3339, m[1])
	if err != nil || until.Before(before.Add(24*time.Hour)) || until.After(after.Add(24*time.Hour)) {
		t.Errorf("after rotate-secret, the previous secret is valid until %s; want 24h after the rotation", m[1])
	}
	client("revoke-previous", "--id", "svc")
	if r := row(); !strings.HasSuffix(strings.TrimSpace(r), "-") {
		t.Errorf("after revoke-previous: %s", r)
	}
	client("rotate-secret", "--id", "svc", "--previous-secret-grace", "1h")
	client("rotate-secret", "--id", "svc", "--revoke-previous")
	if r := row(); !strings.HasSuffix(strings.TrimSpace(r), "-") {
		t.Errorf("after rotate-secret --revoke-previous: %s", r)
	}
	cmd := execTollgate(t, nil, "client", "rotate-secret", "--id", "svc", "--previous-secret-grace", "1000h", "--data-dir", dir)
	out, _ := cmd.CombinedOutput()
	if cmd.ProcessState.ExitCode() != 2 || !strings.Contains(string(out), `invalid value "1000h" for flag -previous-secret-grace: use 0 to 720h0m0s`) {
		t.Errorf("grace of 1000h: exit %d, %s; want exit 2 naming the flag", cmd.ProcessState.ExitCode(), out)
	}
}

// The review's attack on a real issuer process: a data directory every user
// can write, holding a keys.json another user put there. The issuer refuses
// to start, naming the directory, instead of serving that user's key.
func TestIssuerRefusesAnUntrustedDataDirectory(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root, to give the planted key file another owner (CI runs as root)")
	}
	planted := t.TempDir()
	runTo(t, nil, "issuer", "keys", "rotate", "--data-dir", planted) // a valid key file, made by "another user"
	dir := filepath.Join(t.TempDir(), "shared")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(planted, "keys.json"), filepath.Join(dir, "keys.json")); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(filepath.Join(dir, "keys.json"), 65534, 65534); err != nil {
		t.Fatal(err)
	}
	for name, prepare := range map[string]func() error{
		"world-writable directory": func() error { return os.Chmod(dir, 0o777) },
		"key file of another user": func() error { return os.Chmod(dir, 0o700) },
	} {
		if err := prepare(); err != nil {
			t.Fatal(err)
		}
		cmd := execTollgate(t, nil, "issuer", "--data-dir", dir, "--addr", "127.0.0.1:0")
		out, err := cmd.CombinedOutput()
		if err == nil || cmd.ProcessState.ExitCode() != 1 || !strings.Contains(string(out), dir) {
			t.Errorf("%s: issuer exited %d: %s; want exit 1 naming %s", name, cmd.ProcessState.ExitCode(), out, dir)
		}
	}
}

// The CLI on PostgreSQL: twenty concurrent `tollgate client add
// --database-url` processes keep all twenty; `issuer migrate` moves a data
// directory's clients and keys into the database, where an issuer process
// serves the same keys and the clients get tokens.
func TestCLIOnPostgreSQL(t *testing.T) {
	url := pgtest.URL(t)
	schema := pgtest.Schema(t, url)
	unused := t.TempDir() // the data directory, which a database store leaves alone
	env := []string{"TOLLGATE_KEY_ENCRYPTION_KEY=" + testKEK, "TOLLGATE_DATABASE_URL=" + url,
		"TOLLGATE_DATABASE_SCHEMA=" + schema, "TOLLGATE_DATA_DIR=" + unused}
	dir := t.TempDir()
	const n = 20
	outs, errs := make([]string, n), make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		cmd := execTollgate(t, env, "client", "add", "--id", fmt.Sprint("svc-", i), "--scopes", "inventory.read", "--audiences", "inventory",
			"--secret-file", filepath.Join(dir, fmt.Sprint("svc-", i, ".secret")))
		wg.Go(func() {
			out, err := cmd.CombinedOutput()
			outs[i], errs[i] = string(out), err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("client add %d: %v\n%s", i, err, outs[i])
		}
	}
	list := runTo(t, env, "client", "list")
	// Client and revocation commands touch no signing key: they run
	// without the key-encryption key; a key command says it needs one.
	noKEK := env[1:]
	if got := runTo(t, noKEK, "client", "list"); got != list {
		t.Errorf("client list without the key-encryption key:\n%s\nwant:\n%s", got, list)
	}
	runTo(t, noKEK, "token", "revoke", "--client", "svc-0")
	if out, err := execTollgate(t, noKEK, "issuer", "keys", "rotate").CombinedOutput(); err == nil || !strings.Contains(string(out), "--key-encryption-key-file") {
		t.Errorf("issuer keys rotate without the key-encryption key: %v %s; want it refused, naming the flag", err, out)
	}
	for i := range n {
		if id := fmt.Sprint("svc-", i); !regexp.MustCompile(`(?m)^` + id + `\s`).MatchString(list) {
			t.Errorf("client %s lost; client list:\n%s", id, list)
		}
	}
	// The URL from a file (its password kept out of the process list),
	// read with the secret files' trust rules.
	urlFile := filepath.Join(t.TempDir(), "database-url")
	if err := os.WriteFile(urlFile, []byte(url+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fileEnv := []string{"TOLLGATE_KEY_ENCRYPTION_KEY=" + testKEK, "TOLLGATE_DATABASE_URL_FILE=" + urlFile,
		"TOLLGATE_DATABASE_SCHEMA=" + schema, "TOLLGATE_DATA_DIR=" + unused}
	if got := runTo(t, fileEnv, "client", "list"); got != list {
		t.Errorf("client list through TOLLGATE_DATABASE_URL_FILE:\n%s\nwant:\n%s", got, list)
	}
	if err := os.Chmod(urlFile, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := execTollgate(t, fileEnv, "client", "list").CombinedOutput(); err == nil || !strings.Contains(string(out), "--database-url-file") {
		t.Errorf("a database URL file others can read: %v %s, want it refused", err, out)
	}
	if out, err := execTollgate(t, append(env, "TOLLGATE_DATABASE_URL_FILE="+urlFile), "client", "list").CombinedOutput(); err == nil ||
		!strings.Contains(string(out), "--database-url and --database-url-file together") {
		t.Errorf("both a database URL and a file: %v %s", err, out)
	}
	if entries, _ := os.ReadDir(unused); len(entries) > 0 {
		t.Errorf("with --database-url, %d files were written to the data directory", len(entries))
	}

	// Migrate an embedded store into a second schema.
	old := t.TempDir()
	runTo(t, nil, "client", "add", "--data-dir", old, "--id", "legacy", "--scopes", "inventory.read", "--audiences", "inventory",
		"--default-audience", "inventory", "--secret-file", filepath.Join(dir, "legacy.secret"))
	runTo(t, nil, "issuer", "keys", "rotate", "--data-dir", old)
	runTo(t, nil, "token", "revoke", "--data-dir", old, "--jti", "leaked")
	target := pgtest.Schema(t, url)
	migrateEnv := []string{env[0], env[1], "TOLLGATE_DATABASE_SCHEMA=" + target, env[3]}
	if out := runTo(t, migrateEnv, "issuer", "migrate", "--from-data-dir", old); !strings.Contains(out, "copied 1 clients, 2 signing keys and 1 revocations") {
		t.Errorf("migrate: %s", out)
	}
	// A source that holds no issuer is refused before the database is
	// touched: no schema is made for it.
	empty := pgtest.Schema(t, url)
	emptyEnv := []string{env[0], env[1], "TOLLGATE_DATABASE_SCHEMA=" + empty, env[3]}
	if out, err := execTollgate(t, emptyEnv, "issuer", "migrate", "--from-data-dir", t.TempDir()).CombinedOutput(); err == nil ||
		!strings.Contains(string(out), "holds no signing keys") {
		t.Errorf("migrate from an empty directory: %v %s", err, out)
	}
	if conn, err := pgx.Connect(t.Context(), url); err == nil {
		var n int
		_ = conn.QueryRow(t.Context(), "SELECT count(*) FROM information_schema.tables WHERE table_schema = $1", empty).Scan(&n)
		conn.Close(t.Context())
		if n != 0 {
			t.Errorf("a refused migration made %d tables in schema %s", n, empty)
		}
	}
	cmd := execTollgate(t, migrateEnv, "issuer", "migrate", "--from-data-dir", old)
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "already holds") {
		t.Errorf("a second migration into the same schema: %v %s; want it refused", err, out)
	}
	iss := start(t, "issuer on postgres", migrateEnv, "issuer", "--addr", "127.0.0.1:0")
	addr := iss.listening(t, "issuer")
	jwtest.Eventually(t, "the issuer on PostgreSQL to answer", func() bool {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	if feed, err := http.Get("http://" + addr + "/oauth/revocations?wait=0s"); err != nil {
		t.Error(err)
	} else {
		body, _ := io.ReadAll(feed.Body)
		feed.Body.Close()
		if !strings.Contains(string(body), `"jti":"leaked"`) {
			t.Errorf("the migrated issuer's revocation feed: %s; want the revocation of jti leaked", body)
		}
	}
	secret, err := os.ReadFile(filepath.Join(dir, "legacy.secret"))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/oauth/token", strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("legacy", strings.TrimSpace(string(secret)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("a migrated client's token from the issuer on PostgreSQL: %s", resp.Status)
	}
	iss.stop(t)
	if entries, _ := os.ReadDir(unused); len(entries) > 0 {
		t.Errorf("the issuer on PostgreSQL wrote %d files to the data directory", len(entries))
	}
}
