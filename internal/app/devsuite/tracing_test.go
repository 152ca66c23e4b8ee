package devsuite

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	ordersv1 "github.com/tollgate-rpc/tollgate/gen/go/tollgate/orders/v1"
	"github.com/tollgate-rpc/tollgate/internal/jwtest"
	"github.com/tollgate-rpc/tollgate/services/orders"
)

// A PlaceOrder is one trace: the orders server span carries the caller's
// client ID, and inventory's Reserve span, in the same trace, carries the
// orders service's own.
func TestTracesCarryClientIDs(t *testing.T) {
	var buf jwtest.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	dev, err := Start(ctx, Config{DataDir: t.TempDir(), IssuerAddr: "127.0.0.1:0", InventoryAddr: "127.0.0.1:0",
		OrdersAddr: "127.0.0.1:0", TraceExporter: "stdout", TraceWriter: &buf})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	ord := ordersv1.NewOrdersServiceClient(dial(t, dev, "orders"))
	token := fetchToken(t, dev, AdminClient, orders.Audience)
	if _, err := ord.PlaceOrder(withToken(token), &ordersv1.PlaceOrderRequest{OrderId: "tr-1",
		Lines: []*ordersv1.OrderLine{{Sku: "widget-1", Quantity: 1}}}); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := dev.Wait(); err != nil {
		t.Fatal(err)
	}
	type span struct {
		Name        string
		SpanContext struct{ TraceID string }
		Attributes  []struct {
			Key   string
			Value struct{ Value any }
		}
	}
	clientOf := map[string]string{}
	traceOf := map[string]string{}
	dec := json.NewDecoder(strings.NewReader(buf.String()))
	for dec.More() {
		var s span
		if err := dec.Decode(&s); err != nil {
			t.Fatal(err)
		}
		for _, a := range s.Attributes {
			if a.Key == "tollgate.client_id" {
				clientOf[s.Name], traceOf[s.Name] = a.Value.Value.(string), s.SpanContext.TraceID
			}
		}
	}
	place, reserve := "tollgate.orders.v1.OrdersService/PlaceOrder", "tollgate.inventory.v1.InventoryService/Reserve"
	if clientOf[place] != "dev-admin" || clientOf[reserve] != "orders-service" {
		t.Errorf("client IDs on spans = %v, want dev-admin on PlaceOrder and orders-service on Reserve", clientOf)
	}
	if traceOf[place] == "" || traceOf[place] != traceOf[reserve] {
		t.Errorf("PlaceOrder and its Reserve are in traces %q and %q, want one", traceOf[place], traceOf[reserve])
	}
}
