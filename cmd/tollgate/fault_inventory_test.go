package main

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	ordersv1 "github.com/tollgate-rpc/tollgate/gen/go/tollgate/orders/v1"
	"github.com/tollgate-rpc/tollgate/internal/jwtest"
	"github.com/tollgate-rpc/tollgate/internal/pgtest"
	"github.com/tollgate-rpc/tollgate/internal/tcpproxy"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// orderRig is an issuer, inventory and orders as processes on one
// PostgreSQL database (a schema each), orders reaching inventory through
// invPath: a proxy the test controls.
type orderRig struct {
	url, invSchema, ordSchema string
	invPath                   *tcpproxy.Proxy
	invAdmin, ordAdmin        string
	ord                       ordersv1.OrdersServiceClient
}

func startOrderRig(t *testing.T, ordersArgs ...string) *orderRig {
	t.Helper()
	r := &orderRig{url: pgtest.URL(t)}
	r.invSchema, r.ordSchema = pgtest.Schema(t, r.url), pgtest.Schema(t, r.url)
	dir, issuerURL, secretOf := orderIssuer(t)
	inv := start(t, "inventory", []string{"TOLLGATE_DATABASE_URL=" + r.url, "TOLLGATE_DATABASE_SCHEMA=" + r.invSchema}, "inventory",
		"--addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", "--issuer-url", issuerURL,
		"--data-dir", filepath.Join(dir, "inventory"), "--access-log", "refused")
	invAddr := inv.listening(t, "inventory")
	r.invAdmin = inv.listening(t, "admin")
	r.invPath = tcpproxy.New(t, "tcp://"+invAddr)
	ord := start(t, "orders", []string{"TOLLGATE_DATABASE_URL=" + r.url, "TOLLGATE_DATABASE_SCHEMA=" + r.ordSchema,
		"TOLLGATE_CLIENT_SECRET_FILE=" + secretOf("orders-service")}, append([]string{"orders",
		"--addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", "--issuer-url", issuerURL, "--token-url", issuerURL + "/oauth/token",
		"--inventory-addr", r.invPath.Addr(), "--data-dir", filepath.Join(dir, "orders"), "--access-log", "refused"}, ordersArgs...)...)
	r.ordAdmin = ord.listening(t, "admin")
	r.ord = buyerClients(t, issuerURL, secretOf, invAddr, ord.listening(t, "orders"))
	return r
}

// ready is the status of orders' /readyz.
func (r *orderRig) ready(t *testing.T) int { t.Helper(); return readyz(t, r.ordAdmin) }

// Orders' path to inventory is cut under load (every connection closed,
// new ones refused) for longer than a caller's deadline, then restored.
// During the cut orders answer Unavailable or, for a Reserve that waited
// out its caller's deadline, DeadlineExceeded (both retried with the same
// order ID), never anything else, and /readyz fails; the first order placed
// once inventory is reachable again succeeds within its deadline. Before
// (#25.7), gRPC's default reconnect backoff had grown by then and Reserve
// failed at once while the connection waited it out: orders kept failing
// for seconds after inventory was back.
func TestFaultInventoryPathCut(t *testing.T) {
	r := startOrderRig(t, "--reconcile-interval", "200ms")
	stop := make(chan struct{})
	load := placeOrders(r.ord, 4, stop)
	load.waitOK(t, 30)

	for round := range *faultRounds {
		_, failedBefore := load.count(codes.OK)
		r.invPath.Cut()
		jwtest.Eventually(t, "orders to fail while inventory is cut off", func() bool {
			_, failed := load.count(codes.OK)
			return failed >= failedBefore+4
		})
		jwtest.Eventually(t, "orders to fail /readyz while inventory is cut off", func() bool { return r.ready(t) == http.StatusServiceUnavailable })
		r.invPath.Restore()

		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		id := fmt.Sprint("first-after-restore-", round)
		_, err := r.ord.PlaceOrder(ctx, &ordersv1.PlaceOrderRequest{OrderId: id, Lines: []*ordersv1.OrderLine{{Sku: "widget-1", Quantity: 1}}})
		cancel()
		if err != nil {
			t.Errorf("the first order after inventory came back: %v; want it placed within its 5 s deadline", err)
		}
		load.record(id, status.Code(err))
		load.waitOK(t, 30)
	}
	jwtest.Eventually(t, "orders ready again", func() bool { return r.ready(t) == http.StatusOK })
	close(stop)
	load.wg.Wait()
	load.only(t, "a cut path to inventory", codes.Unavailable, codes.DeadlineExceeded)
	checkOrderBooks(t, r.url, r.invSchema, r.url, r.ordSchema, load.outcome)
}

// The reconciler checks an order inventory confirmed once, not on every
// pass (#25.10): with 40 orders placed and confirmed, further passes make
// no Reserve call at all, and the backlog and pending gauges read zero.
// Before, every pass repeated Reserve for every open order, so its cost
// grew with the orders ever placed.
func TestReconcilerLeavesConfirmedOrders(t *testing.T) {
	r := startOrderRig(t, "--reconcile-interval", "100ms")
	stop := make(chan struct{})
	load := placeOrders(r.ord, 2, stop)
	load.waitOK(t, 40)
	close(stop)
	load.wg.Wait()
	load.only(t, "a quiet run")
	placed, _ := load.count(codes.OK)

	passes := func() float64 { return scrapeValue(t, r.ordAdmin, "tollgate_orders_reconcile_passes_total") }
	reserves := func() float64 {
		return scrapeValue(t, r.invAdmin, "grpc_server_handled_total", `grpc_method="Reserve"`, `grpc_code="OK"`)
	}
	// Two passes after the last order: the second began after it was
	// placed, so every order has been checked once.
	afterLast := passes()
	jwtest.Eventually(t, "two reconciliation passes", func() bool { return passes() >= afterLast+2 })
	if got := scrapeValue(t, r.ordAdmin, "tollgate_orders_reconciled_total", `result="confirmed"`); got < float64(placed) {
		t.Fatalf("the reconciler confirmed %v orders, want all %d placed", got, placed)
	}
	before, p := reserves(), passes()
	jwtest.Eventually(t, "three more passes", func() bool { return passes() >= p+3 })
	if after := reserves(); after != before {
		t.Errorf("three passes over %d confirmed orders made %v Reserve calls; want none", placed, after-before)
	}
	for _, gauge := range []string{"tollgate_orders_reconcile_backlog", "tollgate_orders_pending"} {
		if v := scrapeValue(t, r.ordAdmin, gauge); v != 0 {
			t.Errorf("%s = %v with every order confirmed, want 0", gauge, v)
		}
	}
}
