package main

import (
	"context"
	"crypto"
	"encoding/json"
	"fmt"
	"io"
	"net"
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
	ordersv1 "github.com/tollgate-rpc/tollgate/gen/go/tollgate/orders/v1"
	"github.com/tollgate-rpc/tollgate/interceptors/callcreds"
	"github.com/tollgate-rpc/tollgate/internal/devtls"
	"github.com/tollgate-rpc/tollgate/internal/jwtest"
	"github.com/tollgate-rpc/tollgate/internal/transport"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Fault tests: real processes on loopback, bounded in time and traffic.

// load calls GetItem from workers goroutines until stop is closed and
// counts successes and failures (keeping the first failure).
type load struct {
	ok, failed atomic.Int64
	firstErr   atomic.Value
	wg         sync.WaitGroup
}

func runLoad(inv inventoryv1.InventoryServiceClient, workers int, stop <-chan struct{}) *load {
	l := &load{}
	for range workers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				_, err := inv.GetItem(ctx, &inventoryv1.GetItemRequest{Sku: "widget-1"})
				cancel()
				if err != nil {
					l.failed.Add(1)
					l.firstErr.CompareAndSwap(nil, err.Error())
				} else {
					l.ok.Add(1)
				}
				time.Sleep(2 * time.Millisecond) // bounded traffic: ~500 calls/s per worker at most
			}
		}()
	}
	return l
}

// waitFor waits until the load has made n more successful calls: traffic
// ran through whatever happened meanwhile.
func (l *load) waitFor(t *testing.T, n int64) {
	t.Helper()
	target := l.ok.Load() + n
	jwtest.Eventually(t, fmt.Sprintf("%d more successful calls", n), func() bool { return l.ok.Load() >= target })
}

func (l *load) report(t *testing.T, what string) {
	t.Helper()
	t.Logf("%s: %d RPCs succeeded, %d failed", what, l.ok.Load(), l.failed.Load())
	if l.failed.Load() > 0 {
		t.Errorf("%s: %d failed RPCs (first: %v)", what, l.failed.Load(), l.firstErr.Load())
	}
	if l.ok.Load() == 0 {
		t.Errorf("%s: no RPC succeeded", what)
	}
}

// callerConn dials with caller credentials for a client of the issuer.
func callerConn(t *testing.T, tokenURL, caFile, clientID, secret, audience string) (*callcreds.Source, func(addr string) *grpc.ClientConn) {
	t.Helper()
	pool, err := devtls.LoadPool(caFile)
	if err != nil {
		t.Fatal(err)
	}
	tr := transport.Transport{RootCAs: pool}
	// A token is valid at one service: one source per audience.
	src, err := callcreds.NewSource(callcreds.Config{TokenURL: tokenURL, ClientID: clientID, ClientSecret: secret,
		Audience: audience, HTTPClient: tr.HTTPClient()})
	if err != nil {
		t.Fatal(err)
	}
	dial := func(addr string) *grpc.ClientConn {
		conn, err := callcreds.New(src).NewClient(addr, grpc.WithTransportCredentials(tr.DialCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		return conn
	}
	return src, dial
}

// The issuer goes away for longer than the services' JWKS refresh interval
// while callers keep calling: no RPC fails while tokens are valid, and
// everything works again when it returns.
func TestFaultIssuerDown(t *testing.T) { testIssuerOutage(t, false) }

// The issuer's address keeps accepting connections but never answers, as a
// wedged load balancer would: JWKS fetches time out on their own, and known
// keys keep verifying.
func TestFaultIssuerHanging(t *testing.T) { testIssuerOutage(t, true) }

func testIssuerOutage(t *testing.T, hang bool) {
	dir := t.TempDir()
	issuerAddr, invAddr := freePort(t), freePort(t)
	certs := filepath.Join(dir, "certs")
	runTo(t, nil, "certs", "--dir", certs, "--hosts", "127.0.0.1")
	secretFile := filepath.Join(dir, "caller.secret")
	runTo(t, []string{"TOLLGATE_DATA_DIR=" + dir}, "client", "add", "--id", "caller", "--scopes", "inventory.read",
		"--audiences", "inventory", "--secret-file", secretFile)
	tlsEnv := []string{"TOLLGATE_TLS_CERT=" + filepath.Join(certs, "server.pem"), "TOLLGATE_TLS_KEY=" + filepath.Join(certs, "server-key.pem"),
		"TOLLGATE_CA_FILE=" + filepath.Join(certs, "ca.pem")}
	issuerArgs := []string{"issuer", "--addr", issuerAddr, "--data-dir", dir, "--jwks-max-age", "1s"}
	iss := start(t, "issuer", tlsEnv, issuerArgs...)
	inv := start(t, "inventory", tlsEnv, "inventory", "--addr", invAddr, "--issuer-url", "https://"+issuerAddr,
		"--data-dir", dir, "--jwks-min-refresh", "200ms", "--jwks-max-refresh", "1s", "--jwks-fetch-timeout", "300ms")
	jwtest.Eventually(t, "inventory healthy", func() bool {
		return execTollgate(t, nil, "health", invAddr, "--ca-file", filepath.Join(certs, "ca.pem")).Run() == nil
	})
	secret, err := os.ReadFile(secretFile)
	if err != nil {
		t.Fatal(err)
	}
	src, dial := callerConn(t, "https://"+issuerAddr+"/oauth/token", filepath.Join(certs, "ca.pem"), "caller", strings.TrimSpace(string(secret)), "inventory")
	client := inventoryv1.NewInventoryServiceClient(dial(invAddr))
	jwtest.Eventually(t, "a first successful call", func() bool {
		_, err := client.GetItem(context.Background(), &inventoryv1.GetItemRequest{Sku: "widget-1"})
		return err == nil
	})

	stop := make(chan struct{})
	l := runLoad(client, 4, stop)
	l.waitFor(t, 100)
	iss.stop(t)
	want, closeHole := "jwks refresh failed", func() {}
	if hang {
		want, closeHole = "context deadline exceeded", blackHole(t, issuerAddr)
	}
	// Out for three of the inventory's refresh intervals (and then some).
	jwtest.Eventually(t, "inventory to fail three JWKS refreshes", func() bool {
		return strings.Count(inv.out.String(), want) >= 3
	})
	l.waitFor(t, 100) // callers kept succeeding through the outage
	if hang {
		t.Logf("JWKS fetches that timed out while the issuer hung: %d", strings.Count(inv.out.String(), want))
	}
	closeHole()
	restarted := start(t, "issuer (restarted)", tlsEnv, issuerArgs...)
	jwtest.Eventually(t, "the issuer back", func() bool {
		return execTollgate(t, nil, "health", "https://"+issuerAddr+"/healthz", "--ca-file", filepath.Join(certs, "ca.pem")).Run() == nil
	})
	// A fresh token from the restarted issuer (same keys, same clients).
	before := src.Stats().Fetches
	if err := freshToken(src); err != nil {
		t.Errorf("token after the issuer returned: %v", err)
	}
	l.waitFor(t, 100)
	close(stop)
	l.wg.Wait()
	l.report(t, map[bool]string{false: "issuer down", true: "issuer hanging"}[hang]+" for >3 JWKS refresh intervals")
	if src.Stats().Fetches <= before {
		t.Error("no token was fetched from the restarted issuer")
	}
	restarted.stop(t)
	inv.stop(t)
}

// blackHole listens on addr and holds every connection without a word; the
// returned function closes it all.
func blackHole(t *testing.T, addr string) func() {
	t.Helper()
	hole, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var held []net.Conn
	go func() {
		for {
			c, err := hole.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	return func() {
		hole.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	}
}

// freshToken forces the caller to fetch a new token now.
func freshToken(src *callcreds.Source) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	t, err := src.Token(ctx)
	if err != nil {
		return err
	}
	src.Invalidate(t)
	_, err = src.Token(ctx)
	return err
}

// A key rotation in the middle of sustained load: callers holding tokens of
// the old key and callers with tokens of the new key all keep succeeding.
func TestFaultKeyRotationUnderLoad(t *testing.T) {
	dev := startDevProcess(t, "--jwks-max-age", "1s")
	dir, info := dev.dir, dev.info
	admin := mustClient(t, info, "admin")
	oldSrc, dialOld := callerConn(t, info.TokenEndpoint, info.CAFile, admin.ClientID, admin.ClientSecret, "inventory")
	oldClient := inventoryv1.NewInventoryServiceClient(dialOld(info.Services["inventory"]))
	stop := make(chan struct{})
	lOld := runLoad(oldClient, 4, stop)
	lOld.waitFor(t, 100)
	oldTok, err := oldSrc.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}

	out := runTo(t, nil, "issuer", "keys", "rotate", "--data-dir", dir, "--jwks-max-age", "1s")
	t.Log(strings.TrimSpace(out))
	// A new caller gets a token signed by the new key once it may sign (after
	// the publish-ahead, and once the running issuer has reloaded the file).
	newSrc, dialNew := callerConn(t, info.TokenEndpoint, info.CAFile, admin.ClientID, admin.ClientSecret, "inventory")
	jwtest.Eventually(t, "a token signed by the rotated key", func() bool {
		tok, err := newSrc.Token(context.Background())
		if err != nil {
			return false
		}
		if kidOf(tok.Value) != kidOf(oldTok.Value) {
			return true
		}
		newSrc.Invalidate(tok)
		return false
	})
	lNew := runLoad(inventoryv1.NewInventoryServiceClient(dialNew(info.Services["inventory"])), 4, stop)
	lNew.waitFor(t, 100)
	lOld.waitFor(t, 100)
	close(stop)
	lOld.wg.Wait()
	lNew.wg.Wait()
	lOld.report(t, "callers with old-key tokens")
	lNew.report(t, "callers with new-key tokens")
	dev.stop(t)
}

func kidOf(token string) string {
	seg, _, _ := strings.Cut(token, ".")
	var h struct {
		Kid string `json:"kid"`
	}
	_ = decodeJWTSegment(seg, &h)
	return h.Kid
}

// The suite is killed (SIGKILL, no graceful stop) while orders are being
// placed, then restarted on the same data directory. Callers retry every
// order they could not confirm, with the same order ID: afterwards every
// order is recorded once, and inventory holds exactly one reservation per
// order, never two.
func TestFaultKilledMidPlaceOrder(t *testing.T) {
	// Fixed ports: the restarted suite must come back where callers look.
	first := startDevProcess(t, fixedPorts(t)...)
	args, info := first.args, first.info
	admin := mustClient(t, info, "admin")
	_, dialOrders := callerConn(t, info.TokenEndpoint, info.CAFile, admin.ClientID, admin.ClientSecret, "orders")
	_, dialInventory := callerConn(t, info.TokenEndpoint, info.CAFile, admin.ClientID, admin.ClientSecret, "inventory")
	ord := ordersv1.NewOrdersServiceClient(dialOrders(info.Services["orders"]))
	inv := inventoryv1.NewInventoryServiceClient(dialInventory(info.Services["inventory"]))
	// Enough stock that no order fails for want of it.
	before, err := inv.AdjustStock(context.Background(), &inventoryv1.AdjustStockRequest{Sku: "widget-1", Delta: 100_000})
	if err != nil {
		t.Fatal(err)
	}

	place := func(id string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err := ord.PlaceOrder(ctx, &ordersv1.PlaceOrderRequest{OrderId: id, Lines: []*ordersv1.OrderLine{{Sku: "widget-1", Quantity: 1}}})
		return err
	}
	var mu sync.Mutex
	var attempted []string
	var failed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id := fmt.Sprintf("kill-%d-%d", w, i)
				mu.Lock()
				attempted = append(attempted, id)
				mu.Unlock()
				if place(id) != nil {
					failed.Add(1)
					return // this worker's caller saw an error; it retries below
				}
			}
		}()
	}
	jwtest.Eventually(t, "orders being placed", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(attempted) >= 40
	})
	_ = first.cmd.Process.Kill()
	<-first.done
	close(stop)
	wg.Wait()

	start(t, "dev (after kill)", nil, args...)
	// New connections: the old ones are in reconnect backoff, which a real
	// caller would wait out.
	ord = ordersv1.NewOrdersServiceClient(dialOrders(info.Services["orders"]))
	inv = inventoryv1.NewInventoryServiceClient(dialInventory(info.Services["inventory"]))
	for _, id := range attempted {
		jwtest.Eventually(t, "order "+id+" placed after the restart", func() bool { return place(id) == nil })
	}
	after, err := inv.GetItem(context.Background(), &inventoryv1.GetItemRequest{Sku: "widget-1"})
	if err != nil {
		t.Fatal(err)
	}
	reserved := after.GetItem().GetQuantityReserved() - before.GetItem().GetQuantityReserved()
	t.Logf("%d orders attempted, %d callers saw the kill, %d units reserved", len(attempted), failed.Load(), reserved)
	if reserved != int64(len(attempted)) {
		t.Errorf("%d units reserved for %d orders of one unit each", reserved, len(attempted))
	}
	for _, id := range attempted {
		if o, err := ord.GetOrder(context.Background(), &ordersv1.GetOrderRequest{OrderId: id}); err != nil || len(o.GetOrder().GetLines()) != 1 {
			t.Errorf("order %s after the restart: %v, %v", id, o, err)
		}
	}
}

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

// scrapeValue sums the samples of one metric on a /metrics page.
func scrapeValue(t *testing.T, addr, name string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var sum float64
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, name+"{") || strings.HasPrefix(line, name+" ") {
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
