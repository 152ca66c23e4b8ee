package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
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
	env := []string{"TOLLGATE_KEY_ENCRYPTION_KEY=replica-test-key-encryption-key-0123456789", "TOLLGATE_DATABASE_URL=" + url,
		"TOLLGATE_DATABASE_SCHEMA=" + schema, "TOLLGATE_DATA_DIR=" + t.TempDir()}
	dir := t.TempDir()
	secretOf := func(id string) string { return filepath.Join(dir, id+".secret") }
	runTo(t, env, "client", "add", "--id", "orders-service", "--scopes", "inventory.read inventory.reserve", "--audiences", "inventory",
		"--default-audience", "inventory", "--secret-file", secretOf("orders-service"))
	runTo(t, env, "client", "add", "--id", "buyer", "--scopes", "orders.write inventory.read inventory.write", "--audiences", "orders inventory",
		"--secret-file", secretOf("buyer"))

	// Two issuer replicas behind one URL: the first's, which every
	// service trusts; the second signs with the same keys from the database.
	issuerAddrs := []string{freePort(t), freePort(t)}
	issuerURL := "http://" + issuerAddrs[0]
	for i, addr := range issuerAddrs {
		start(t, fmt.Sprint("issuer ", i), env, "issuer", "--addr", addr, "--issuer-url", issuerURL)
	}
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

	invAddrs, ordAddrs := []string{freePort(t), freePort(t)}, []string{freePort(t), freePort(t)}
	for i, addr := range invAddrs {
		start(t, fmt.Sprint("inventory ", i), env, "inventory", "--addr", addr, "--issuer-url", issuerURL, "--access-log", "refused")
	}
	for i, addr := range ordAddrs {
		// Each orders replica gets its token from a different issuer replica.
		start(t, fmt.Sprint("orders ", i), append(env, "TOLLGATE_CLIENT_SECRET_FILE="+secretOf("orders-service")), "orders",
			"--addr", addr, "--issuer-url", issuerURL, "--token-url", "http://"+issuerAddrs[i]+"/oauth/token",
			"--inventory-addr", invAddrs[i], "--access-log", "refused")
	}

	secret, err := os.ReadFile(secretOf("buyer"))
	if err != nil {
		t.Fatal(err)
	}
	client := func(audience, addr string) *grpc.ClientConn {
		src, err := callcreds.NewSource(callcreds.Config{TokenURL: issuerURL + "/oauth/token", ClientID: "buyer",
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
