package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	inventoryv1 "github.com/tollgate-rpc/tollgate/gen/go/tollgate/inventory/v1"
	ordersv1 "github.com/tollgate-rpc/tollgate/gen/go/tollgate/orders/v1"
	"github.com/tollgate-rpc/tollgate/internal/jwtest"
)

// A crash in the middle of orders: nothing recorded twice, nothing lost.

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
