package main

import (
	"context"
	"crypto"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	inventoryv1 "github.com/tollgate-rpc/tollgate/gen/go/tollgate/inventory/v1"
	"github.com/tollgate-rpc/tollgate/internal/app/transport"
	"github.com/tollgate-rpc/tollgate/internal/devtls"
	"github.com/tollgate-rpc/tollgate/internal/jwtest"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Attacks from outside: floods of unknown key IDs and of guessed secrets.

// 10,000 tokens with unknown key IDs (signed with the issuer's real key, so
// only the kid is wrong) hit inventory from 8 goroutines while a good
// caller keeps calling: JWKS fetches stay bounded and good calls keep
// succeeding. Latencies are logged for the note, not asserted.
func TestFaultUnknownKidFlood(t *testing.T) {
	dev := startDevProcess(t)
	dir, info := dev.dir, dev.info
	key := issuerSigningKey(t, filepath.Join(dir, "keys.json"))
	admin := mustClient(t, info, "admin")
	_, dial := callerConn(t, info.TokenEndpoint, info.CAFile, admin.ClientID, admin.ClientSecret, "inventory")
	good := inventoryv1.NewInventoryServiceClient(dial(info.Services["inventory"]))
	measure := func(n int) (p50, p99 time.Duration) {
		var d []time.Duration
		for range n {
			start := time.Now()
			if _, err := good.GetItem(context.Background(), &inventoryv1.GetItemRequest{Sku: "widget-1"}); err != nil {
				t.Errorf("good call: %v", err)
				return
			}
			d = append(d, time.Since(start))
		}
		slices.Sort(d)
		return d[len(d)/2], d[len(d)*99/100]
	}
	quiet50, quiet99 := measure(300)
	fetchesBefore := scrapeValue(t, info.Metrics["inventory"], "tollgate_jwks_fetches_total")

	bad := inventoryv1.NewInventoryServiceClient(tlsConn(t, info.CAFile, info.Services["inventory"]))
	claims := map[string]any{"iss": info.Issuer, "sub": "dev-admin", "client_id": "dev-admin", "aud": "inventory",
		"exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix(), "scope": "inventory.read"}
	forged := make([]string, 10_000) // signed up front: the attacker's own CPU is not the service's
	for i := range forged {
		forged[i] = jwtest.SignWith(t, key, jwa.ES256, fmt.Sprintf("forged-%d", i), nil, claims)
	}
	var refused atomic.Int64
	var wg sync.WaitGroup
	done := make(chan struct{})
	var flood50, flood99 time.Duration
	go func() { flood50, flood99 = measure(300); close(done) }()
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(forged); i += 8 {
				_, err := bad.GetItem(bearer(forged[i]), &inventoryv1.GetItemRequest{Sku: "widget-1"})
				if status.Code(err) == codes.Unauthenticated {
					refused.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	<-done
	fetched := scrapeValue(t, info.Metrics["inventory"], "tollgate_jwks_fetches_total") - fetchesBefore
	t.Logf("good GetItem latency quiet p50 %s p99 %s; during the flood p50 %s p99 %s; %d of 10000 forged tokens refused; %v JWKS fetches",
		quiet50, quiet99, flood50, flood99, refused.Load(), fetched)
	if refused.Load() != 10_000 {
		t.Errorf("%d of 10000 tokens with unknown kids refused", refused.Load())
	}
	if fetched > 1 {
		t.Errorf("the flood caused %v JWKS fetches, want at most 1 per 30 s cooldown", fetched)
	}
	dev.stop(t)
}

// issuerSigningKey reads the issuer's current private key from its key file,
// as an insider with the file could.
func issuerSigningKey(t *testing.T, path string) crypto.Signer {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Keys []struct {
			Private json.RawMessage `json:"private_jwk"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(raw, &f); err != nil || len(f.Keys) == 0 {
		t.Fatalf("key file: %v", err)
	}
	k, err := jwk.ParseKey(f.Keys[len(f.Keys)-1].Private)
	if err != nil {
		t.Fatal(err)
	}
	var rawKey any
	if err := k.Raw(&rawKey); err != nil {
		t.Fatal(err)
	}
	signer, ok := rawKey.(crypto.Signer)
	if !ok {
		t.Fatal("not a signing key")
	}
	return signer
}

// scrapeValue sums the samples of one metric on a /metrics page, those
// whose line holds every one of labels (`grpc_method="Reserve"`) when
// given.
func scrapeValue(t *testing.T, addr, name string, labels ...string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var sum float64
	for _, line := range strings.Split(string(body), "\n") {
		if (strings.HasPrefix(line, name+"{") || strings.HasPrefix(line, name+" ")) &&
			!slices.ContainsFunc(labels, func(l string) bool { return !strings.Contains(line, l) }) {
			var v float64
			if _, err := fmt.Sscan(line[strings.LastIndexByte(line, ' ')+1:], &v); err == nil {
				sum += v
			}
		}
	}
	return sum
}

// Brute force on the token endpoint from one address: the guesses are
// throttled, while another client on the same host keeps getting tokens.
func TestFaultTokenEndpointBruteForce(t *testing.T) {
	dev := startDevProcess(t)
	info := dev.info
	pool, err := devtls.LoadPool(info.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	hc := transport.Transport{RootCAs: pool}.HTTPClient()
	post := func(id, secret string) int {
		req, _ := http.NewRequest(http.MethodPost, info.TokenEndpoint, strings.NewReader("grant_type=client_credentials&audience=inventory"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(id, secret)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	reader := mustClient(t, info, "reader")
	codes := map[int]int{}
	legitOK := 0
	for i := range 300 {
		codes[post("dev-admin", fmt.Sprintf("guess-%d", i))]++
		if i%30 == 0 && post(reader.ClientID, reader.ClientSecret) == http.StatusOK {
			legitOK++
		}
	}
	t.Logf("300 guesses at dev-admin's secret: %v; the reader client got %d of 10 tokens meanwhile", codes, legitOK)
	if codes[http.StatusTooManyRequests] < 250 {
		t.Errorf("only %d of 300 guesses throttled", codes[http.StatusTooManyRequests])
	}
	if codes[http.StatusOK] != 0 {
		t.Error("a guess got a token")
	}
	if legitOK != 10 {
		t.Errorf("the legitimate client got %d of 10 tokens during the attack", legitOK)
	}
	// The attacked client itself, on the attacker's address (one host, one
	// proxy), still gets its token: credentials are checked first.
	admin := mustClient(t, info, "admin")
	if got := post(admin.ClientID, admin.ClientSecret); got != http.StatusOK {
		t.Errorf("dev-admin with its secret from the attacking address: %d, want 200", got)
	}
	if n := scrapeValue(t, info.Metrics["issuer"], `tollgate_issuer_token_requests_total{client_id="dev-admin",outcome="slow_down"}`); n != float64(codes[http.StatusTooManyRequests]) {
		t.Errorf("issuer metrics count %v throttled requests, the test saw %d", n, codes[http.StatusTooManyRequests])
	}
	dev.stop(t)
}
