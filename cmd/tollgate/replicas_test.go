package main

import (
	"context"
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

	inventoryv1 "github.com/tollgate-rpc/tollgate/gen/go/tollgate/inventory/v1"
	ordersv1 "github.com/tollgate-rpc/tollgate/gen/go/tollgate/orders/v1"
	"github.com/tollgate-rpc/tollgate/interceptors/callcreds"
	"github.com/tollgate-rpc/tollgate/internal/jwtest"
	"github.com/tollgate-rpc/tollgate/internal/pgtest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// Everything on one PostgreSQL database, as processes: two issuer
// replicas, two inventory replicas and two orders replicas. 1,000 orders
// placed at once, spread over both orders replicas (each calling either
// inventory replica through its own token): reserved stock equals the sum
// of the orders reserved, and every order that was refused was refused for
// want of stock.
func TestReplicasOnPostgreSQL(t *testing.T) {
	url := pgtest.URL(t)
	schema := pgtest.Schema(t, url)
	env := []string{"TOLLGATE_KEY_ENCRYPTION_KEY=" + testKEK, "TOLLGATE_DATABASE_URL=" + url,
		"TOLLGATE_DATABASE_SCHEMA=" + schema, "TOLLGATE_DATA_DIR=" + t.TempDir()}
	dir := t.TempDir()
	secretOf := func(id string) string { return filepath.Join(dir, id+".secret") }
	runTo(t, env, "client", "add", "--id", "orders-service", "--scopes", "inventory.read inventory.reserve", "--audiences", "inventory",
		"--default-audience", "inventory", "--secret-file", secretOf("orders-service"))
	runTo(t, env, "client", "add", "--id", "buyer", "--scopes", "orders.write inventory.read inventory.write", "--audiences", "orders inventory",
		"--secret-file", secretOf("buyer"))

	// Two issuer replicas behind one URL: the first's, which every
	// service trusts; the second signs with the same keys from the database.
	first := start(t, "issuer 0", env, "issuer", "--addr", "127.0.0.1:0").listening(t, "issuer")
	issuerURL := "http://" + first
	second := start(t, "issuer 1", env, "issuer", "--addr", "127.0.0.1:0", "--issuer-url", issuerURL).listening(t, "issuer")
	issuerAddrs := []string{first, second}
	for _, addr := range issuerAddrs {
		jwtest.Eventually(t, "issuer "+addr+" ready", func() bool {
			resp, err := http.Get("http://" + addr + "/readyz")
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK
		})
	}
	jwks := func(addr string) string {
		resp, err := http.Get("http://" + addr + "/.well-known/jwks.json")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if a, b := jwks(issuerAddrs[0]), jwks(issuerAddrs[1]); a != b {
		t.Errorf("issuer replicas serve different JWKS:\n%s\n%s", a, b)
	}

	// A client added through the CLI while the replicas run gets tokens from
	// each of them once they have polled the database (every 2 s).
	added := time.Now()
	runTo(t, env, "client", "add", "--id", "late", "--scopes", "inventory.read", "--audiences", "inventory",
		"--secret-file", secretOf("late"))
	late, err := os.ReadFile(secretOf("late"))
	if err != nil {
		t.Fatal(err)
	}
	for _, addr := range issuerAddrs {
		jwtest.Eventually(t, "the new client at issuer "+addr, func() bool {
			req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/oauth/token", strings.NewReader("grant_type=client_credentials"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth("late", strings.TrimSpace(string(late)))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK
		})
	}
	t.Logf("a client added through the CLI got tokens from both issuer replicas %s later", time.Since(added).Round(10*time.Millisecond))

	var invAddrs, ordAddrs []string
	for i := range 2 {
		invAddrs = append(invAddrs, start(t, fmt.Sprint("inventory ", i), env, "inventory", "--addr", "127.0.0.1:0",
			"--issuer-url", issuerURL, "--access-log", "refused").listening(t, "inventory"))
	}
	for i := range 2 {
		// Each orders replica gets its token from a different issuer replica.
		ordAddrs = append(ordAddrs, start(t, fmt.Sprint("orders ", i), append(env, "TOLLGATE_CLIENT_SECRET_FILE="+secretOf("orders-service")), "orders",
			"--addr", "127.0.0.1:0", "--issuer-url", issuerURL, "--token-url", "http://"+issuerAddrs[i]+"/oauth/token",
			"--inventory-addr", invAddrs[i], "--access-log", "refused").listening(t, "orders"))
	}

	for _, addr := range append(slices.Clone(invAddrs), ordAddrs...) {
		jwtest.Eventually(t, "replica "+addr+" serving", func() bool {
			return execTollgate(t, nil, "health", addr).Run() == nil
		})
	}

	client := plainCaller(t, issuerURL, "buyer", secretOf("buyer"))
	ords := []ordersv1.OrdersServiceClient{
		ordersv1.NewOrdersServiceClient(client("orders", ordAddrs[0])), ordersv1.NewOrdersServiceClient(client("orders", ordAddrs[1]))}
	inv := inventoryv1.NewInventoryServiceClient(client("inventory", invAddrs[1]))
	for _, o := range ords {
		jwtest.Eventually(t, "orders replicas serving", func() bool {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_, err := o.GetOrder(ctx, &ordersv1.GetOrderRequest{OrderId: "none"})
			return err != nil && !strings.Contains(err.Error(), "Unavailable") && !strings.Contains(err.Error(), "connection refused")
		})
	}
	// Stock for 600 of the 1,000 orders.
	if _, err := inv.AdjustStock(context.Background(), &inventoryv1.AdjustStockRequest{Sku: "gizmo-3", Delta: 590}); err != nil {
		t.Fatal(err)
	}
	before, err := inv.GetItem(context.Background(), &inventoryv1.GetItemRequest{Sku: "gizmo-3"})
	if err != nil {
		t.Fatal(err)
	}

	const n, workers = 1000, 32
	var next, reserved, refused atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= n {
					return
				}
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				resp, err := ords[w%2].PlaceOrder(ctx, &ordersv1.PlaceOrderRequest{OrderId: fmt.Sprint("r-", i),
					Lines: []*ordersv1.OrderLine{{Sku: "gizmo-3", Quantity: 1}}})
				cancel()
				switch {
				case err == nil && resp.GetOrder().GetState() == ordersv1.OrderState_ORDER_STATE_RESERVED:
					reserved.Add(1)
				case err != nil && strings.Contains(err.Error(), "FailedPrecondition"):
					refused.Add(1)
				default:
					firstErr.CompareAndSwap(nil, fmt.Sprint(resp.GetOrder().GetState(), err))
				}
			}
		})
	}
	wg.Wait()
	after, err := inv.GetItem(context.Background(), &inventoryv1.GetItemRequest{Sku: "gizmo-3"})
	if err != nil {
		t.Fatal(err)
	}
	got := after.GetItem().GetQuantityReserved() - before.GetItem().GetQuantityReserved()
	t.Logf("%d orders over two orders and two inventory replicas: %d reserved, %d refused for stock", n, reserved.Load(), refused.Load())
	if e := firstErr.Load(); e != nil {
		t.Errorf("an order neither reserved nor refused for stock: %v", e)
	}
	if got != reserved.Load() || reserved.Load()+refused.Load() != n || reserved.Load() != before.GetItem().GetQuantityOnHand()-before.GetItem().GetQuantityReserved() {
		t.Errorf("reserved stock grew by %d; orders reserved %d, refused %d; stock available before %d",
			got, reserved.Load(), refused.Load(), before.GetItem().GetQuantityOnHand()-before.GetItem().GetQuantityReserved())
	}
}

// balancer is a TCP load balancer on loopback: each connection goes to the
// next backend that accepts it, as a cloud load balancer skips a dead one.
// It listens at once; setBackends names the backends once they listen.
func balancer(t *testing.T) (addr string, setBackends func([]string)) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	var next atomic.Int64
	var current atomic.Pointer[[]string]
	current.Store(&[]string{})
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				backends := *current.Load()
				for range backends {
					b, err := net.Dial("tcp", backends[next.Add(1)%int64(len(backends))])
					if err != nil {
						continue
					}
					defer b.Close()
					go func() { _, _ = io.Copy(b, c) }()
					_, _ = io.Copy(c, b)
					return
				}
			}()
		}
	}()
	return l.Addr().String(), func(b []string) { current.Store(&b) }
}

// Three issuer replicas on one database behind a load balancer, under a
// steady stream of token requests each followed by a call that verifies the
// token: one replica is killed (SIGKILL) and the keys are rotated from the
// CLI meanwhile. No request and no call fails.
func TestIssuerReplicasSurviveAKillAndARotation(t *testing.T) {
	url := pgtest.URL(t)
	env := []string{"TOLLGATE_KEY_ENCRYPTION_KEY=" + testKEK, "TOLLGATE_DATABASE_URL=" + url,
		"TOLLGATE_DATABASE_SCHEMA=" + pgtest.Schema(t, url), "TOLLGATE_DATA_DIR=" + t.TempDir()}
	secretFile := filepath.Join(t.TempDir(), "caller.secret")
	runTo(t, env, "client", "add", "--id", "caller", "--scopes", "inventory.read", "--audiences", "inventory",
		"--default-audience", "inventory", "--secret-file", secretFile)
	secret, err := os.ReadFile(secretFile)
	if err != nil {
		t.Fatal(err)
	}
	lb, setBackends := balancer(t)
	issuerURL := "http://" + lb
	var replicas []*proc
	var addrs []string
	for i := range 3 {
		replicas = append(replicas, start(t, fmt.Sprint("issuer ", i), env, "issuer", "--addr", "127.0.0.1:0", "--issuer-url", issuerURL, "--jwks-max-age", "1s"))
		addr := replicas[i].listening(t, "issuer")
		addrs = append(addrs, addr)
		jwtest.Eventually(t, "issuer replica ready", func() bool {
			resp, err := http.Get("http://" + addr + "/readyz")
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK
		})
	}
	setBackends(addrs)
	invAddr := start(t, "inventory", nil, "inventory", "--addr", "127.0.0.1:0", "--issuer-url", issuerURL, "--data-dir", t.TempDir(),
		"--jwks-min-refresh", "200ms", "--jwks-max-refresh", "1s", "--access-log", "refused").listening(t, "inventory")
	conn, err := grpc.NewClient(invAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	inv := inventoryv1.NewInventoryServiceClient(conn)

	// One round: a fresh token through the balancer, then a call with it.
	// A token request cut off by the kill (its kept-alive connection led to
	// the killed replica) is sent again, as any OAuth client would: the
	// client-credentials grant is safe to repeat. Each cut connection leaves
	// the pool, so the pool's size plus one attempts always reach a live one.
	const pooled = 4
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: pooled}}
	var cut atomic.Int64
	round := func() error {
		var resp *http.Response
		var err error
		for attempt := 0; attempt <= pooled+4; attempt++ { // + the workers' connections in use
			req, _ := http.NewRequest(http.MethodPost, issuerURL+"/oauth/token", strings.NewReader("grant_type=client_credentials"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth("caller", strings.TrimSpace(string(secret)))
			if resp, err = client.Do(req); err == nil {
				break
			}
			cut.Add(1)
		}
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("token request: %s", resp.Status)
		}
		if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(bearer(tok.AccessToken), 10*time.Second)
		defer cancel()
		_, err = inv.GetItem(ctx, &inventoryv1.GetItemRequest{Sku: "widget-1"})
		return err
	}
	jwtest.Eventually(t, "a first round", func() bool { return round() == nil })

	stop := make(chan struct{})
	var ok, failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if err := round(); err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				} else {
					ok.Add(1)
				}
			}
		})
	}
	waitFor := func(n int64) {
		target := ok.Load() + n
		jwtest.Eventually(t, fmt.Sprint(n, " more rounds"), func() bool { return ok.Load() >= target })
	}
	waitFor(50)
	_ = replicas[1].cmd.Process.Kill()
	<-replicas[1].done
	waitFor(50)
	out := runTo(t, env, "issuer", "keys", "rotate", "--jwks-max-age", "1s")
	t.Log(strings.TrimSpace(out))
	kid := strings.Fields(out)[2]
	// Past the publish-ahead (2 × 1 s): tokens now carry the new key.
	jwtest.Eventually(t, "tokens signed by the rotated key", func() bool { return tokenKid(t, issuerURL, secret) == kid })
	waitFor(50)
	close(stop)
	wg.Wait()
	t.Logf("%d rounds (token request + verified call) across a replica kill and a key rotation, %d failed; %d token requests cut by the kill and sent again",
		ok.Load(), failed.Load(), cut.Load())
	if failed.Load() > 0 {
		t.Errorf("%d rounds failed; first: %v", failed.Load(), firstErr.Load())
	}
}

// tokenKid fetches a token through issuerURL and returns its signing key.
func tokenKid(t *testing.T, issuerURL string, secret []byte) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, issuerURL+"/oauth/token", strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("caller", strings.TrimSpace(string(secret)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	return kidOf(tok.AccessToken)
}

// plainCaller returns a dial function for clientID (its secret in
// secretFile) over plaintext loopback, with a token for each audience from
// the issuer at issuerURL.
func plainCaller(t *testing.T, issuerURL, clientID, secretFile string) func(audience, addr string) *grpc.ClientConn {
	t.Helper()
	secret, err := os.ReadFile(secretFile)
	if err != nil {
		t.Fatal(err)
	}
	return func(audience, addr string) *grpc.ClientConn {
		src, err := callcreds.NewSource(callcreds.Config{TokenURL: issuerURL + "/oauth/token", ClientID: clientID,
			ClientSecret: strings.TrimSpace(string(secret)), Audience: audience})
		if err != nil {
			t.Fatal(err)
		}
		conn, err := callcreds.New(src, callcreds.AllowPlaintext()).NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		return conn
	}
}
