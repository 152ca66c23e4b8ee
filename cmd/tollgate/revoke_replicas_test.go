package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	inventoryv1 "github.com/tollgate-rpc/tollgate/gen/go/tollgate/inventory/v1"
	"github.com/tollgate-rpc/tollgate/interceptors/callcreds"
	"github.com/tollgate-rpc/tollgate/internal/jwtest"
	"github.com/tollgate-rpc/tollgate/internal/pgtest"
	"github.com/tollgate-rpc/tollgate/internal/tcpproxy"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// formPost posts form to u as client id with secret and decodes the JSON
// answer, if any.
func formPost(t *testing.T, u, id, secret string, form url.Values) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(id, secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

// Two issuer replicas on PostgreSQL. Inventory reaches the issuer — keys
// and revocation feed — only through a proxy to the second replica; every
// revocation goes to the first (RFC 7009) or to the database (the CLI).
// Each revoked token is refused TOKEN_REVOKED at inventory while four
// callers keep calling with a live token (none of whose calls may fail);
// the time from the revoke's answer to the first refusal is logged as a
// distribution.
// Then the proxy cuts inventory off the feed for 10 s (its revocations'
// age says so), tokens are revoked meanwhile, and once the path is
// restored they are refused too: nothing is lost.
func TestRevocationAcrossReplicas(t *testing.T) {
	dbURL := pgtest.URL(t)
	env := []string{"TOLLGATE_KEY_ENCRYPTION_KEY=" + testKEK, "TOLLGATE_DATABASE_URL=" + dbURL,
		"TOLLGATE_DATABASE_SCHEMA=" + pgtest.Schema(t, dbURL), "TOLLGATE_DATA_DIR=" + t.TempDir()}
	dir := t.TempDir()
	secretOf := func(id string) string {
		b, err := os.ReadFile(filepath.Join(dir, id+".secret"))
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	for _, id := range []string{"svc", "leaky"} {
		runTo(t, env, "client", "add", "--id", id, "--scopes", "inventory.read", "--audiences", "inventory",
			"--secret-file", filepath.Join(dir, id+".secret"))
	}
	first := start(t, "issuer 0", env, "issuer", "--addr", "127.0.0.1:0").listening(t, "issuer")
	second := start(t, "issuer 1", env, "issuer", "--addr", "127.0.0.1:0", "--issuer-url", "http://"+first).listening(t, "issuer")
	toSecond := tcpproxy.New(t, "tcp://"+second)
	// The issuer identifier is the first replica's URL; inventory trusts
	// it, but its keys and feed come through the proxy to the second.
	trust := filepath.Join(dir, "trust.yaml")
	if err := os.WriteFile(trust, []byte(fmt.Sprintf("issuers:\n  - issuer: http://%s\n    audiences: [inventory]\n    jwks_url: http://%s/.well-known/jwks.json\n    revocation_feed_url: http://%s/oauth/revocations\n",
		first, toSecond.Addr(), toSecond.Addr())), 0o600); err != nil {
		t.Fatal(err)
	}
	invProc := start(t, "inventory", env, "inventory", "--addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", "--trust-file", trust, "--access-log", "refused")
	invAddr, invAdmin := invProc.listening(t, "inventory"), invProc.listening(t, "admin")
	conn, err := grpc.NewClient(invAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	inv := inventoryv1.NewInventoryServiceClient(conn)
	token := func(id string) string {
		t.Helper()
		code, body := formPost(t, "http://"+first+"/oauth/token", id, secretOf(id), url.Values{"grant_type": {"client_credentials"}})
		if code != http.StatusOK {
			t.Fatalf("token for %s: %d %v", id, code, body)
		}
		return body["access_token"].(string)
	}
	call := func(tok string) error {
		_, err := inv.GetItem(bearer(tok), &inventoryv1.GetItemRequest{Sku: "widget-1"})
		return err
	}
	refusedAfter := func(tok string, since time.Time) time.Duration {
		t.Helper()
		jwtest.Eventually(t, "the revoked token refused at inventory", func() bool { return callcreds.TokenRevoked(call(tok)) })
		return time.Since(since)
	}
	live := token("svc")
	jwtest.Eventually(t, "inventory to accept tokens", func() bool { return call(live) == nil })

	// Under load: four callers with a token never revoked keep calling,
	// and none of their calls may fail.
	stop := make(chan struct{})
	var calls, failed atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				calls.Add(1)
				if call(live) != nil {
					failed.Add(1)
				}
			}
		})
	}
	var took []time.Duration
	for range 10 {
		tok := token("svc")
		if err := call(tok); err != nil {
			t.Fatalf("before its revocation: %v", err)
		}
		if code, body := formPost(t, "http://"+first+"/oauth/revoke", "svc", secretOf("svc"), url.Values{"token": {tok}}); code != http.StatusOK {
			t.Fatalf("revoke at the first replica: %d %v", code, body)
		}
		took = append(took, refusedAfter(tok, time.Now()))
	}
	if err := call(live); err != nil {
		t.Errorf("a token never revoked: %v", err)
	}
	// A client disabled in the database while it holds a WatchStock
	// stream open and calls in a loop: the stream ends TOKEN_REVOKED, and
	// every call after the first refusal is refused.
	leaky := token("leaky")
	streamEnded := watchStock(t, inv, leaky)
	runTo(t, env, "client", "disable", "--id", "leaky")
	took = append(took, refusedAfter(leaky, time.Now()))
	for range 20 {
		if err := call(leaky); !callcreds.TokenRevoked(err) {
			t.Fatalf("a call after the first refusal: %v, want TOKEN_REVOKED", err)
		}
	}
	if err := <-streamEnded; !callcreds.TokenRevoked(err) {
		t.Errorf("the disabled client's open stream ended with %v, want TOKEN_REVOKED", err)
	}
	close(stop)
	wg.Wait()
	slices.Sort(took)
	t.Logf("revoked → refused at a service fed by the other replica, %d revocations, under %d calls of a live token: min %s, median %s, max %s",
		len(took), calls.Load(), took[0].Round(time.Millisecond), took[len(took)/2].Round(time.Millisecond), took[len(took)-1].Round(time.Millisecond))
	if failed.Load() > 0 {
		t.Errorf("%d of %d calls with a token never revoked failed", failed.Load(), calls.Load())
	}

	// The feed cut off for 10 s: revocations made meanwhile arrive once it
	// is back. Cut closes the feed's waiting request, so what is revoked
	// since can only arrive through a new one.
	cut := []string{token("svc"), token("svc")}
	toSecond.Cut()
	for _, tok := range cut {
		if code, body := formPost(t, "http://"+first+"/oauth/revoke", "svc", secretOf("svc"), url.Values{"token": {tok}}); code != http.StatusOK {
			t.Fatalf("revoke while inventory is cut off the feed: %d %v", code, body)
		}
	}
	jwtest.EventuallyWithin(t, "inventory's revocations 10 s old", time.Minute, func() bool {
		return scrapeValue(t, invAdmin, "tollgate_revocations_age_seconds") >= 10
	})
	if err := call(cut[0]); err != nil {
		t.Errorf("a token revoked while the feed was down was refused before it came back: %v", err)
	}
	toSecond.Restore()
	restored := time.Now()
	for _, tok := range cut {
		refusedAfter(tok, restored)
	}
	if err := call(live); err != nil {
		t.Errorf("a token never revoked, after the outage: %v", err)
	}
}
