package main

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/tollgate-rpc/tollgate/internal/jwtest"
	"github.com/tollgate-rpc/tollgate/internal/pgtest"
)

// Two issuer replicas on PostgreSQL; a client is disabled while the second
// replica cannot read the clients table (it logs in as its own role, whose
// SELECT the test revokes: its reload fails as when its backend was
// terminated mid-query). Within the staleness bound the second replica
// stops issuing tokens and fails /readyz; once it can read again it loads
// the change and refuses the disabled client.
func TestStaleIssuerReplicaStopsIssuing(t *testing.T) {
	dbURL := pgtest.URL(t)
	schema := pgtest.Schema(t, dbURL)
	env := []string{"TOLLGATE_KEY_ENCRYPTION_KEY=" + testKEK, "TOLLGATE_DATABASE_URL=" + dbURL,
		"TOLLGATE_DATABASE_SCHEMA=" + schema, "TOLLGATE_DATA_DIR=" + t.TempDir()}
	secretFile := filepath.Join(t.TempDir(), "svc.secret")
	runTo(t, env, "client", "add", "--id", "svc", "--scopes", "inventory.read", "--audiences", "inventory", "--secret-file", secretFile)
	secret, err := os.ReadFile(secretFile)
	if err != nil {
		t.Fatal(err)
	}
	first := start(t, "issuer 0", env, "issuer", "--addr", "127.0.0.1:0").listening(t, "issuer")

	role := schema + "_replica"
	sql := func(stmt string) {
		t.Helper()
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, dbURL)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	r, s := pgx.Identifier{role}.Sanitize(), pgx.Identifier{schema}.Sanitize()
	sql("CREATE ROLE " + r + " LOGIN")
	t.Cleanup(func() { sql("DROP OWNED BY " + r); sql("DROP ROLE " + r) })
	sql("DO $$ BEGIN EXECUTE format('GRANT CREATE ON DATABASE %I TO " + role + "', current_database()); END $$")
	sql("GRANT USAGE, CREATE ON SCHEMA " + s + " TO " + r)
	sql("GRANT ALL ON ALL TABLES IN SCHEMA " + s + " TO " + r)
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.User(role)
	replica := start(t, "issuer 1", append(env, "TOLLGATE_DATABASE_URL="+u.String()), "issuer", "--addr", "127.0.0.1:0",
		"--issuer-url", "http://"+first)
	second := replica.listening(t, "issuer")

	get := func(addr, path string) int {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	token := func(addr string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/oauth/token", strings.NewReader("grant_type=client_credentials"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("svc", strings.TrimSpace(string(secret)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode == http.StatusOK {
			return resp.StatusCode, "(a token)"
		}
		return resp.StatusCode, string(body)
	}
	if code, body := token(second); code != http.StatusOK {
		t.Fatalf("second replica before the fault: %d %s", code, body)
	}

	sql("REVOKE SELECT ON " + s + ".clients FROM " + r)
	runTo(t, env, "client", "disable", "--id", "svc")
	jwtest.Eventually(t, "the second replica's reload to fail", func() bool {
		return strings.Contains(replica.out.String(), "reload failed")
	})
	jwtest.Eventually(t, "the stale replica to fail /readyz", func() bool { return get(second, "/readyz") == http.StatusServiceUnavailable })
	if code, body := token(second); code != http.StatusServiceUnavailable || !strings.Contains(body, "temporarily_unavailable") {
		t.Errorf("stale replica, token for the disabled client: %d %s, want 503 temporarily_unavailable", code, body)
	}
	if code, body := token(first); code != http.StatusBadRequest || !strings.Contains(body, "client is disabled") {
		t.Errorf("current replica, token for the disabled client: %d %s, want 400 client is disabled", code, body)
	}

	sql("GRANT SELECT ON " + s + ".clients TO " + r)
	jwtest.Eventually(t, "the replica to catch up", func() bool { return get(second, "/readyz") == http.StatusOK })
	if code, body := token(second); code != http.StatusBadRequest || !strings.Contains(body, "client is disabled") {
		t.Errorf("caught-up replica, token for the disabled client: %d %s, want 400 client is disabled", code, body)
	}
}
