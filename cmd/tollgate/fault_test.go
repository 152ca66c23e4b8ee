package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	inventoryv1 "github.com/tollgate-rpc/tollgate/gen/go/tollgate/inventory/v1"
	"github.com/tollgate-rpc/tollgate/interceptors/callcreds"
	"github.com/tollgate-rpc/tollgate/internal/app/transport"
	"github.com/tollgate-rpc/tollgate/internal/devtls"
	"github.com/tollgate-rpc/tollgate/internal/jwtest"
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
	issuerAddr, invAddr := fixedPort(t), fixedPort(t)
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
