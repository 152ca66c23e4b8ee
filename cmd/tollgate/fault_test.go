package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	inventoryv1 "github.com/tollgate-rpc/tollgate/gen/go/tollgate/inventory/v1"
	ordersv1 "github.com/tollgate-rpc/tollgate/gen/go/tollgate/orders/v1"
	"github.com/tollgate-rpc/tollgate/interceptors/callcreds"
	"github.com/tollgate-rpc/tollgate/internal/devtls"
	"github.com/tollgate-rpc/tollgate/internal/jwtest"
	"github.com/tollgate-rpc/tollgate/internal/suite"
	"google.golang.org/grpc"
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
func callerConn(t *testing.T, tokenURL, caFile, clientID, secret string) (*callcreds.Source, func(addr string) *grpc.ClientConn) {
	t.Helper()
	pool, err := devtls.LoadPool(caFile)
	if err != nil {
		t.Fatal(err)
	}
	tr := suite.Transport{RootCAs: pool}
	// No audience: the client's default audiences.
	src, err := callcreds.NewSource(callcreds.Config{TokenURL: tokenURL, ClientID: clientID, ClientSecret: secret,
		HTTPClient: tr.HTTPClient()})
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
func TestFaultIssuerDown(t *testing.T) {
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
		"--data-dir", dir, "--jwks-min-refresh", "200ms", "--jwks-max-refresh", "1s")
	jwtest.Eventually(t, "inventory healthy", func() bool {
		return execTollgate(t, nil, "health", invAddr, "--ca-file", filepath.Join(certs, "ca.pem")).Run() == nil
	})
	secret, err := os.ReadFile(secretFile)
	if err != nil {
		t.Fatal(err)
	}
	src, dial := callerConn(t, "https://"+issuerAddr+"/oauth/token", filepath.Join(certs, "ca.pem"), "caller", strings.TrimSpace(string(secret)))
	client := inventoryv1.NewInventoryServiceClient(dial(invAddr))
	jwtest.Eventually(t, "a first successful call", func() bool {
		_, err := client.GetItem(context.Background(), &inventoryv1.GetItemRequest{Sku: "widget-1"})
		return err == nil
	})

	stop := make(chan struct{})
	l := runLoad(client, 4, stop)
	time.Sleep(500 * time.Millisecond)
	iss.stop(t)
	// Down for three of the inventory's refresh intervals (and then some).
	jwtest.Eventually(t, "inventory to notice the issuer is gone", func() bool {
		return strings.Contains(inv.out.String(), "jwks refresh failed")
	})
	time.Sleep(3 * time.Second)
	restarted := start(t, "issuer (restarted)", tlsEnv, issuerArgs...)
	jwtest.Eventually(t, "the issuer back", func() bool {
		return execTollgate(t, nil, "health", "https://"+issuerAddr+"/healthz", "--ca-file", filepath.Join(certs, "ca.pem")).Run() == nil
	})
	// A fresh token from the restarted issuer (same keys, same clients).
	before := src.Stats().Fetches
	if err := freshToken(src); err != nil {
		t.Errorf("token after the issuer returned: %v", err)
	}
	time.Sleep(500 * time.Millisecond)
	close(stop)
	l.wg.Wait()
	l.report(t, "issuer down for >3 JWKS refresh intervals")
	if src.Stats().Fetches <= before {
		t.Error("no token was fetched from the restarted issuer")
	}
	restarted.stop(t)
	inv.stop(t)
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
	dir := t.TempDir()
	args := []string{"dev", "--data-dir", dir, "--issuer-addr", freePort(t), "--inventory-addr", freePort(t),
		"--orders-addr", freePort(t), "--jwks-max-age", "1s"}
	dev := start(t, "dev", nil, args...)
	var info *suite.DevInfo
	jwtest.Eventually(t, "dev.json", func() bool {
		var err error
		info, err = suite.ReadDevInfo(filepath.Join(dir, "dev.json"))
		return err == nil && strings.Contains(dev.out.String(), "serving gRPC")
	})
	admin := mustClient(t, info, "admin")
	oldSrc, dialOld := callerConn(t, info.TokenEndpoint, info.CAFile, admin.ClientID, admin.ClientSecret)
	oldClient := inventoryv1.NewInventoryServiceClient(dialOld(info.Services["inventory"]))
	stop := make(chan struct{})
	lOld := runLoad(oldClient, 4, stop)
	time.Sleep(300 * time.Millisecond)
	oldTok, err := oldSrc.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}

	out := runTo(t, nil, "issuer", "keys", "rotate", "--data-dir", dir, "--jwks-max-age", "1s")
	t.Log(strings.TrimSpace(out))
	// A new caller gets a token signed by the new key once it may sign (after
	// the publish-ahead, and once the running issuer has reloaded the file).
	newSrc, dialNew := callerConn(t, info.TokenEndpoint, info.CAFile, admin.ClientID, admin.ClientSecret)
	jwtest.Eventually(t, "a token signed by the rotated key", func() bool {
		tok, err := newSrc.Token(context.Background())
		if err != nil {
			return false
		}
		if kidOf(tok.Value) != kidOf(oldTok.Value) {
			return true
		}
		newSrc.Invalidate(tok)
		time.Sleep(200 * time.Millisecond)
		return false
	})
	lNew := runLoad(inventoryv1.NewInventoryServiceClient(dialNew(info.Services["inventory"])), 4, stop)
	time.Sleep(time.Second)
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
	dir := t.TempDir()
	args := []string{"dev", "--data-dir", dir, "--issuer-addr", freePort(t), "--inventory-addr", freePort(t), "--orders-addr", freePort(t)}
	first := start(t, "dev", nil, args...)
	var info *suite.DevInfo
	jwtest.Eventually(t, "dev.json", func() bool {
		var err error
		info, err = suite.ReadDevInfo(filepath.Join(dir, "dev.json"))
		return err == nil && strings.Contains(first.out.String(), "serving gRPC")
	})
	admin := mustClient(t, info, "admin")
	_, dial := callerConn(t, info.TokenEndpoint, info.CAFile, admin.ClientID, admin.ClientSecret)
	ord := ordersv1.NewOrdersServiceClient(dial(info.Services["orders"]))
	inv := inventoryv1.NewInventoryServiceClient(dial(info.Services["inventory"]))
	before, err := inv.GetItem(context.Background(), &inventoryv1.GetItemRequest{Sku: "widget-1"})
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
	time.Sleep(400 * time.Millisecond)
	_ = first.cmd.Process.Kill()
	<-first.done
	close(stop)
	wg.Wait()

	start(t, "dev (after kill)", nil, args...)
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
