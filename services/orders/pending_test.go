package orders

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync/atomic"
	"testing"
	"time"

	inventoryv1 "github.com/tollgate-rpc/tollgate/gen/go/tollgate/inventory/v1"
	ordersv1 "github.com/tollgate-rpc/tollgate/gen/go/tollgate/orders/v1"
	"github.com/tollgate-rpc/tollgate/internal/jwtest"
	"github.com/tollgate-rpc/tollgate/internal/pgtest"
	"github.com/tollgate-rpc/tollgate/internal/tcpproxy"
	"github.com/tollgate-rpc/tollgate/services/inventory"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// realInventory serves the inventory service on an in-memory store with
// the demo stock, over a real listener, and returns the store to inspect.
func realInventory(t *testing.T) (inventory.Store, inventoryv1.InventoryServiceClient) {
	t.Helper()
	store := inventory.NewMemoryStore()
	if err := inventory.SeedDemo(t.Context(), store); err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	svc := inventory.New(store, slog.New(slog.DiscardHandler))
	t.Cleanup(svc.Close)
	serveInventory(t, lis, svc)
	return store, dialInventory(t, lis.Addr().String())
}

func reserved(t *testing.T, store inventory.Store, sku string) int64 {
	t.Helper()
	it, err := store.Get(t.Context(), sku)
	if err != nil {
		t.Fatal(err)
	}
	return it.GetQuantityReserved()
}

// With the orders database down, PlaceOrder reserves nothing and answers
// Unavailable; a retry with the same order ID once it is back places the
// order, reserving its stock once. Before, inventory reserved first and the
// stock stayed held by no order.
func TestOrdersDatabaseDownReservesNothing(t *testing.T) {
	url := pgtest.URL(t)
	proxy := tcpproxy.New(t, url)
	store, err := OpenPostgres(t.Context(), proxy.URL, pgtest.Schema(t, url))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	inv, client := realInventory(t)
	svc := New(store, client, slog.New(slog.DiscardHandler))
	proxy.Cut()
	for i := range 3 {
		if code := status.Code(placeOrder(svc, t.Context(), "o-1")); code != codes.Unavailable {
			t.Errorf("PlaceOrder %d with the orders database down: %s, want Unavailable", i, code)
		}
	}
	if n := reserved(t, inv, "widget-1"); n != 0 {
		t.Errorf("%d units reserved for orders that were never recorded", n)
	}
	proxy.Restore()
	jwtest.Eventually(t, "the retry to place the order", func() bool { return placeOrder(svc, t.Context(), "o-1") == nil })
	if err := placeOrder(svc, t.Context(), "o-1"); err != nil {
		t.Errorf("replay: %v", err)
	}
	if n := reserved(t, inv, "widget-1"); n != 1 {
		t.Errorf("%d units reserved after the order was placed and replayed, want 1", n)
	}
}

// failingTransitions fails Transition while failing is set, as a database
// that goes away between recording an order and confirming it.
type failingTransitions struct {
	Store
	failing atomic.Bool
}

func (f *failingTransitions) Transition(ctx context.Context, id string, from, to ordersv1.OrderState) (*ordersv1.Order, error) {
	if f.failing.Load() {
		return nil, errors.New("injected: connection reset by peer")
	}
	return f.Store.Transition(ctx, id, from, to)
}

// An order whose stock was reserved but which could not be confirmed stays
// PENDING: a retry with its ID completes it (its stock reserved once), and
// one whose caller never returns is abandoned by the reconciler after the
// grace, its stock released. A refused order leaves nothing behind.
func TestPendingOrdersAreCompletedOrReleased(t *testing.T) {
	inv, client := realInventory(t)
	store := &failingTransitions{Store: NewMemoryStore()}
	clock := jwtest.NewClock(time.Now())
	svc := New(store, client, slog.New(slog.DiscardHandler))
	svc.now = clock.Now

	store.failing.Store(true)
	if err := placeOrder(svc, t.Context(), "retried"); err == nil {
		t.Fatal("PlaceOrder succeeded although its confirmation failed")
	}
	if err := placeOrder(svc, t.Context(), "abandoned"); err == nil {
		t.Fatal("PlaceOrder succeeded although its confirmation failed")
	}
	if n := reserved(t, inv, "widget-1"); n != 2 {
		t.Fatalf("%d units reserved for the two pending orders, want 2", n)
	}
	store.failing.Store(false)
	if err := placeOrder(svc, t.Context(), "retried"); err != nil {
		t.Fatalf("retry of a pending order: %v", err)
	}
	if o, err := store.Get(t.Context(), "retried"); err != nil || o.GetState() != ordersv1.OrderState_ORDER_STATE_RESERVED {
		t.Errorf("retried order: %v %v, want RESERVED", o, err)
	}

	r, err := svc.Reconcile(t.Context())
	if err != nil || r.Pending != 1 || r.Abandoned != 0 {
		t.Errorf("first pass: %+v %v, want one order pending within its grace", r, err)
	}
	clock.Add(pendingGrace)
	r, err = svc.Reconcile(t.Context())
	if err != nil || r.Abandoned != 1 {
		t.Errorf("pass after the grace: %+v %v, want the pending order abandoned", r, err)
	}
	if _, err := store.Get(t.Context(), "abandoned"); !errors.Is(err, ErrNotFound) {
		t.Errorf("abandoned order still recorded: %v", err)
	}
	if n := reserved(t, inv, "widget-1"); n != 1 {
		t.Errorf("%d units reserved after abandoning one order, want 1 (the retried one's)", n)
	}

	// Refused for stock: no pending order is left.
	_, err = svc.PlaceOrder(t.Context(), &ordersv1.PlaceOrderRequest{OrderId: "too-big",
		Lines: []*ordersv1.OrderLine{{Sku: "gizmo-3", Quantity: 11}}})
	if status.Code(err) != codes.FailedPrecondition {
		t.Errorf("order beyond the stock: %v, want FailedPrecondition", err)
	}
	if _, err := store.Get(t.Context(), "too-big"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a refused order was left recorded: %v", err)
	}
}

// The reconciler's cost is bounded: a pass checks at most reconcileBatch
// orders (the rest is its backlog, for the next pass), and an order
// inventory confirmed is checked again only after reconfirmEvery. Before,
// every pass re-reserved every open order.
func TestReconcilerWorkIsBounded(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	inv := &flakyInventory{}
	serveInventory(t, lis, inv)
	store := NewMemoryStore()
	const open = reconcileBatch + 100
	for i := range open {
		o := &ordersv1.Order{OrderId: fmt.Sprint("o-", i), State: ordersv1.OrderState_ORDER_STATE_RESERVED,
			Lines: []*ordersv1.OrderLine{{Sku: "widget-1", Quantity: 1}}}
		if _, _, err := store.Create(t.Context(), o); err != nil {
			t.Fatal(err)
		}
	}
	clock := jwtest.NewClock(time.Now())
	svc := New(store, dialInventory(t, lis.Addr().String()), slog.New(slog.DiscardHandler))
	svc.now = clock.Now
	for i, want := range []ReconcileResult{
		{Checked: reconcileBatch, Restored: reconcileBatch, Backlog: 100},
		{Checked: 100, Restored: 100},
		{},
	} {
		r, err := svc.Reconcile(t.Context())
		if err != nil || r != want {
			t.Errorf("pass %d: %+v %v, want %+v", i+1, r, err, want)
		}
	}
	if n := inv.calls.Load(); n != open {
		t.Errorf("%d Reserve calls over three passes, want %d (each order once)", n, open)
	}
	clock.Add(reconfirmEvery)
	if r, _ := svc.Reconcile(t.Context()); r.Checked != reconcileBatch || r.Backlog != 100 {
		t.Errorf("after reconfirmEvery: %+v, want a full batch checked again", r)
	}
}
