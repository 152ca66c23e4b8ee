package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	inventoryv1 "github.com/tollgate-rpc/tollgate/gen/go/tollgate/inventory/v1"
	ordersv1 "github.com/tollgate-rpc/tollgate/gen/go/tollgate/orders/v1"
	"github.com/tollgate-rpc/tollgate/internal/jwtest"
	"github.com/tollgate-rpc/tollgate/internal/pgtest"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// faultRounds is how many times the fault tests repeat their fault under
// load: CI runs one round of each; the README's figures come from a full
// run, `go test -run 'TestFault' ./cmd/tollgate -args -fault.rounds=10`.
var faultRounds = flag.Int("fault.rounds", 1, "how many times each fault test injects its fault under load")

// orderLoad places one-unit orders of widget-1 from workers goroutines,
// each with a fresh order ID, until stop is closed, and keeps each order's
// outcome.
type orderLoad struct {
	mu      sync.Mutex
	outcome map[string]codes.Code
	wg      sync.WaitGroup
}

func placeOrders(ord ordersv1.OrdersServiceClient, workers int, stop <-chan struct{}) *orderLoad {
	l := &orderLoad{outcome: map[string]codes.Code{}}
	for w := range workers {
		l.wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id := fmt.Sprintf("db-%d-%d", w, i)
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				_, err := ord.PlaceOrder(ctx, &ordersv1.PlaceOrderRequest{OrderId: id, Lines: []*ordersv1.OrderLine{{Sku: "widget-1", Quantity: 1}}})
				cancel()
				l.record(id, status.Code(err))
				time.Sleep(2 * time.Millisecond) // bounded traffic
			}
		})
	}
	return l
}

// record keeps an order's outcome.
func (l *orderLoad) record(id string, code codes.Code) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.outcome[id] = code
}

// count returns how many orders ended with code, and how many failed.
func (l *orderLoad) count(code codes.Code) (n, failed int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.outcome {
		if c == code {
			n++
		}
		if c != codes.OK {
			failed++
		}
	}
	return n, failed
}

// The orders database (a PostgreSQL of the test's own) is stopped while
// orders are placed through real processes, then started again. During
// the outage orders answer Unavailable (retriable), never Internal; and
// afterwards the books agree: every order answered OK is RESERVED and holds
// its reservation, every reservation belongs to a recorded order, and the
// reserved stock is exactly the sum of the reservations. Before, the
// outage answered Internal and left stock reserved by no order.
func TestFaultOrdersDatabaseOutage(t *testing.T) {
	own := startOwnPostgres(t)
	shared := pgtest.URL(t)
	invSchema := pgtest.Schema(t, shared)
	dir, issuerURL, secretOf := orderIssuer(t)
	invAddr := start(t, "inventory", []string{"TOLLGATE_DATABASE_URL=" + shared, "TOLLGATE_DATABASE_SCHEMA=" + invSchema}, "inventory",
		"--addr", "127.0.0.1:0", "--issuer-url", issuerURL, "--data-dir", filepath.Join(dir, "inventory"), "--access-log", "refused").listening(t, "inventory")
	ordProc := start(t, "orders", []string{"TOLLGATE_DATABASE_URL=" + own.URL, "TOLLGATE_CLIENT_SECRET_FILE=" + secretOf("orders-service")}, "orders",
		"--addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", "--issuer-url", issuerURL, "--token-url", issuerURL+"/oauth/token",
		"--inventory-addr", invAddr, "--data-dir", filepath.Join(dir, "orders"), "--access-log", "refused", "--database-timeout", "2s")
	ordAddr, ordAdmin := ordProc.listening(t, "orders"), ordProc.listening(t, "admin")
	ready := func() int { return readyz(t, ordAdmin) }

	ord := buyerClients(t, issuerURL, secretOf, invAddr, ordAddr)

	stop := make(chan struct{})
	load := placeOrders(ord, 4, stop)
	load.waitOK(t, 50)
	for range *faultRounds {
		_, failedBefore := load.count(codes.OK)
		own.stop(t)
		jwtest.Eventually(t, "orders to fail during the outage", func() bool {
			_, failed := load.count(codes.OK)
			return failed >= failedBefore+20
		})
		jwtest.Eventually(t, "orders to fail /readyz during the outage", func() bool { return ready() == http.StatusServiceUnavailable })
		own.start(t)
		load.waitOK(t, 50)
		jwtest.Eventually(t, "orders ready again", func() bool { return ready() == http.StatusOK })
		// Frozen (SIGSTOP): calls fail Unavailable after --database-timeout
		// (2 s), well inside the callers' 5 s deadline, instead of hanging
		// until it (DeadlineExceeded).
		_, failedBefore = load.count(codes.OK)
		own.freeze(t)
		jwtest.Eventually(t, "orders to fail while the database is frozen", func() bool {
			_, failed := load.count(codes.OK)
			return failed >= failedBefore+8
		})
		own.thaw(t)
		load.waitOK(t, 50)
	}
	close(stop)
	load.wg.Wait()
	load.only(t, "a database outage and a freeze", codes.Unavailable)
	checkOrderBooks(t, shared, invSchema, own.URL, "tollgate", load.outcome)
}

// orderIssuer runs an issuer (embedded store) with the orders-service
// client and a buyer, and says where their secrets are.
func orderIssuer(t *testing.T) (dir, issuerURL string, secretOf func(id string) string) {
	t.Helper()
	dir = t.TempDir()
	issuerDir := filepath.Join(dir, "issuer")
	secretOf = func(id string) string { return filepath.Join(dir, id+".secret") }
	runTo(t, nil, "client", "add", "--data-dir", issuerDir, "--id", "orders-service", "--scopes", "inventory.read inventory.reserve",
		"--audiences", "inventory", "--default-audience", "inventory", "--secret-file", secretOf("orders-service"))
	runTo(t, nil, "client", "add", "--data-dir", issuerDir, "--id", "buyer", "--scopes", "orders.write inventory.read inventory.write",
		"--audiences", "orders inventory", "--secret-file", secretOf("buyer"))
	issuerURL = "http://" + start(t, "issuer", nil, "issuer", "--addr", "127.0.0.1:0", "--data-dir", issuerDir).listening(t, "issuer")
	return dir, issuerURL, secretOf
}

// buyerClients stocks widget-1 through inventory at invAddr and returns an
// orders client at ordAddr, both as the buyer.
func buyerClients(t *testing.T, issuerURL string, secretOf func(string) string, invAddr, ordAddr string) ordersv1.OrdersServiceClient {
	t.Helper()
	dial := plainCaller(t, issuerURL, "buyer", secretOf("buyer"))
	inv := inventoryv1.NewInventoryServiceClient(dial("inventory", invAddr))
	jwtest.Eventually(t, "inventory to serve", func() bool {
		_, err := inv.AdjustStock(context.Background(), &inventoryv1.AdjustStockRequest{Sku: "widget-1", Delta: 100_000})
		return err == nil
	})
	return ordersv1.NewOrdersServiceClient(dial("orders", ordAddr))
}

// waitOK waits until n more orders have been placed.
func (l *orderLoad) waitOK(t *testing.T, n int) {
	t.Helper()
	ok, _ := l.count(codes.OK)
	jwtest.Eventually(t, fmt.Sprintf("%d more orders placed", n), func() bool { now, _ := l.count(codes.OK); return now >= ok+n })
}

// only logs the outcomes and fails on any failure whose code is not one
// of allowed: the retriable answers to the fault.
func (l *orderLoad) only(t *testing.T, fault string, allowed ...codes.Code) {
	t.Helper()
	byCode := map[codes.Code]int{}
	for _, c := range l.outcome {
		byCode[c]++
	}
	t.Logf("orders during %s: %v", fault, byCode)
	for c, n := range byCode {
		if c != codes.OK && !slices.Contains(allowed, c) {
			t.Errorf("%d orders answered %s during %s, want one of %v", n, c, fault, allowed)
		}
	}
}

// Two inventory and two orders replicas on one PostgreSQL database, each
// pair behind a loopback load balancer; while orders are placed, one
// inventory replica and then one orders replica are killed (SIGKILL) and
// taken out of their balancer. Afterwards the books agree as after a
// database outage.
func TestFaultReplicasKilledUnderLoad(t *testing.T) {
	url := pgtest.URL(t)
	invSchema, ordSchema := pgtest.Schema(t, url), pgtest.Schema(t, url)
	dir, issuerURL, secretOf := orderIssuer(t)
	invLB, setInv := balancer(t)
	ordLB, setOrd := balancer(t)
	var invs, ords []*proc
	var invAddrs, ordAddrs []string
	for i := range 2 {
		p := start(t, fmt.Sprint("inventory ", i), []string{"TOLLGATE_DATABASE_URL=" + url, "TOLLGATE_DATABASE_SCHEMA=" + invSchema}, "inventory",
			"--addr", "127.0.0.1:0", "--issuer-url", issuerURL, "--data-dir", filepath.Join(dir, fmt.Sprint("inventory-", i)), "--access-log", "refused")
		invs, invAddrs = append(invs, p), append(invAddrs, p.listening(t, "inventory"))
	}
	setInv(invAddrs)
	for i := range 2 {
		p := start(t, fmt.Sprint("orders ", i), []string{"TOLLGATE_DATABASE_URL=" + url, "TOLLGATE_DATABASE_SCHEMA=" + ordSchema,
			"TOLLGATE_CLIENT_SECRET_FILE=" + secretOf("orders-service")}, "orders",
			"--addr", "127.0.0.1:0", "--issuer-url", issuerURL, "--token-url", issuerURL+"/oauth/token", "--inventory-addr", invLB,
			"--data-dir", filepath.Join(dir, fmt.Sprint("orders-", i)), "--access-log", "refused")
		ords, ordAddrs = append(ords, p), append(ordAddrs, p.listening(t, "orders"))
	}
	setOrd(ordAddrs)
	ord := buyerClients(t, issuerURL, secretOf, invLB, ordLB)

	stop := make(chan struct{})
	load := placeOrders(ord, 4, stop)
	load.waitOK(t, 50)
	_ = invs[0].cmd.Process.Kill()
	<-invs[0].exited
	setInv(invAddrs[1:])
	load.waitOK(t, 50)
	_ = ords[0].cmd.Process.Kill()
	<-ords[0].exited
	setOrd(ordAddrs[1:])
	load.waitOK(t, 50)
	close(stop)
	load.wg.Wait()
	load.only(t, "replica kills", codes.Unavailable)
	checkOrderBooks(t, url, invSchema, url, ordSchema, load.outcome)
}

// checkOrderBooks checks the invariants between orders and inventory, read
// from their databases: every order answered OK is RESERVED and holds a
// reservation; every reservation has an order; widget-1's reserved stock is
// the sum of its reservations.
func checkOrderBooks(t *testing.T, invURL, invSchema, ordURL, ordSchema string, outcome map[string]codes.Code) {
	t.Helper()
	ctx := context.Background()
	query := func(url, sql string, scan func(pgx.Rows) error) {
		t.Helper()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		rows, err := conn.Query(ctx, sql)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			if err := scan(rows); err != nil {
				t.Fatal(err)
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	}
	reservations := map[string]int64{} // order ID → widget-1 units
	query(invURL, "SELECT order_id, lines FROM "+pgx.Identifier{invSchema, "reservations"}.Sanitize(), func(r pgx.Rows) error {
		var id, linesJSON string
		if err := r.Scan(&id, &linesJSON); err != nil {
			return err
		}
		var lines []struct {
			SKU      string
			Quantity int64
		}
		if err := json.Unmarshal([]byte(linesJSON), &lines); err != nil {
			return err
		}
		for _, l := range lines {
			if l.SKU == "widget-1" {
				reservations[id] += l.Quantity
			}
		}
		return nil
	})
	var reserved int64
	query(invURL, "SELECT reserved FROM "+pgx.Identifier{invSchema, "items"}.Sanitize()+" WHERE sku = 'widget-1'", func(r pgx.Rows) error { return r.Scan(&reserved) })
	states := map[string]ordersv1.OrderState{}
	query(ordURL, "SELECT order_id, state FROM "+pgx.Identifier{ordSchema, "orders"}.Sanitize(), func(r pgx.Rows) error {
		var id string
		var state int32
		err := r.Scan(&id, &state)
		states[id] = ordersv1.OrderState(state)
		return err
	})

	var sum int64
	for id, units := range reservations {
		sum += units
		if _, ok := states[id]; !ok {
			t.Errorf("stock reserved for order %s, which is not recorded", id)
		}
	}
	if sum != reserved {
		t.Errorf("widget-1: %d units reserved, but the reservations add up to %d", reserved, sum)
	}
	pending := 0
	for id, c := range outcome {
		if c != codes.OK {
			continue
		}
		if states[id] != ordersv1.OrderState_ORDER_STATE_RESERVED || reservations[id] != 1 {
			t.Errorf("order %s answered OK but is %s with %d units reserved", id, states[id], reservations[id])
		}
	}
	for _, s := range states {
		if s == ordersv1.OrderState_ORDER_STATE_PENDING {
			pending++
		}
	}
	t.Logf("books: %d orders recorded (%d pending, to be completed by a retry or released by the reconciler), %d reservations, %d units reserved",
		len(states), pending, len(reservations), reserved)
}
