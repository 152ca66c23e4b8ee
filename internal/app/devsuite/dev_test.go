package devsuite

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"

	inventoryv1 "github.com/tollgate-rpc/tollgate/gen/go/tollgate/inventory/v1"
	ordersv1 "github.com/tollgate-rpc/tollgate/gen/go/tollgate/orders/v1"
	"github.com/tollgate-rpc/tollgate/internal/app/transport"
	"github.com/tollgate-rpc/tollgate/internal/devtls"
	"github.com/tollgate-rpc/tollgate/services/inventory"
	"github.com/tollgate-rpc/tollgate/services/orders"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
)

// startDev runs the whole suite on 127.0.0.1:0 listeners for one test.
func startDev(tb testing.TB, plaintext bool) *Dev {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	dev, err := Start(ctx, Config{
		DataDir: tb.TempDir(), IssuerAddr: "127.0.0.1:0", InventoryAddr: "127.0.0.1:0", OrdersAddr: "127.0.0.1:0",
		Plaintext: plaintext,
	})
	if err != nil {
		cancel()
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		cancel()
		if err := dev.Wait(); err != nil {
			tb.Errorf("suite stopped with %v", err)
		}
	})
	return dev
}

// fetchToken gets a token over real HTTP with stock x/oauth2.
func fetchToken(tb testing.TB, dev *Dev, client, audience string) string {
	tb.Helper()
	c, ok := dev.Info.Client(client)
	if !ok {
		tb.Fatalf("no dev client %q", client)
	}
	cc := clientcredentials.Config{ClientID: c.ClientID, ClientSecret: c.ClientSecret, TokenURL: dev.Info.TokenEndpoint,
		EndpointParams: map[string][]string{"audience": {audience}}}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, transportOf(tb, dev).HTTPClient())
	tok, err := cc.Token(ctx)
	if err != nil {
		tb.Fatalf("token for %s: %v", client, err)
	}
	return tok.AccessToken
}

// transportOf is how a client of dev connects: trusting dev's CA, or
// plaintext when dev serves plaintext.
func transportOf(tb testing.TB, dev *Dev) transport.Transport {
	tb.Helper()
	if dev.Info.CAFile == "" {
		return transport.Transport{Plaintext: true}
	}
	pool, err := devtls.LoadPool(dev.Info.CAFile)
	if err != nil {
		tb.Fatal(err)
	}
	return transport.Transport{RootCAs: pool}
}

func dial(tb testing.TB, dev *Dev, service string) *grpc.ClientConn {
	tb.Helper()
	conn, err := grpc.NewClient(dev.Info.Services[service], grpc.WithTransportCredentials(transportOf(tb, dev).DialCredentials()))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close() })
	return conn
}

func withToken(token string) context.Context {
	return metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+token)
}

func wantCode(t *testing.T, what string, err error, code codes.Code, reason string) {
	t.Helper()
	st := status.Convert(err)
	if st.Code() != code {
		t.Fatalf("%s: code %v (%v), want %v", what, st.Code(), err, code)
	}
	for _, d := range st.Details() {
		if ei, ok := d.(*errdetails.ErrorInfo); ok {
			if ei.GetReason() != reason {
				t.Errorf("%s: ErrorInfo reason %q, want %q", what, ei.GetReason(), reason)
			}
			return
		}
	}
	t.Errorf("%s: no ErrorInfo detail in %v", what, err)
}

func TestSuiteEndToEnd(t *testing.T) {
	for _, mode := range []struct {
		name      string
		plaintext bool
	}{{"tls", false}, {"plaintext", true}} {
		t.Run(mode.name, func(t *testing.T) { testSuite(t, startDev(t, mode.plaintext)) })
	}
}

func testSuite(t *testing.T, dev *Dev) {
	if (dev.Info.CAFile == "") != strings.HasPrefix(dev.Info.Issuer, "http://") {
		t.Errorf("issuer %s with ca_file %q", dev.Info.Issuer, dev.Info.CAFile)
	}
	inv := inventoryv1.NewInventoryServiceClient(dial(t, dev, "inventory"))
	ord := ordersv1.NewOrdersServiceClient(dial(t, dev, "orders"))
	admin := fetchToken(t, dev, AdminClient, inventory.Audience)
	reader := fetchToken(t, dev, ReaderClient, inventory.Audience)

	t.Run("unary with scope", func(t *testing.T) {
		resp, err := inv.GetItem(withToken(reader), &inventoryv1.GetItemRequest{Sku: "widget-1"})
		if err != nil {
			t.Fatal(err)
		}
		if got := resp.GetItem().GetQuantityOnHand(); got != 100 {
			t.Errorf("widget-1 on hand = %d, want 100", got)
		}
	})
	t.Run("server stream with scope", func(t *testing.T) {
		stream, err := inv.ListItems(withToken(reader), &inventoryv1.ListItemsRequest{PageSize: 2})
		if err != nil {
			t.Fatal(err)
		}
		var skus []string
		for {
			page, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range page.GetItems() {
				skus = append(skus, it.GetSku())
			}
		}
		if len(skus) != 3 || skus[0] != "gadget-2" || skus[2] != "widget-1" {
			t.Errorf("ListItems = %v, want the 3 seeded SKUs in order", skus)
		}
	})
	t.Run("no token", func(t *testing.T) {
		_, err := inv.GetItem(context.Background(), &inventoryv1.GetItemRequest{Sku: "widget-1"})
		wantCode(t, "GetItem without token", err, codes.Unauthenticated, "MISSING_TOKEN")
		stream, err := inv.ListItems(context.Background(), &inventoryv1.ListItemsRequest{})
		if err == nil {
			_, err = stream.Recv()
		}
		wantCode(t, "ListItems without token", err, codes.Unauthenticated, "MISSING_TOKEN")
	})
	t.Run("token missing scope", func(t *testing.T) {
		_, err := inv.AdjustStock(withToken(reader), &inventoryv1.AdjustStockRequest{Sku: "widget-1", Delta: 1})
		wantCode(t, "AdjustStock with reader token", err, codes.PermissionDenied, "INSUFFICIENT_SCOPE")
	})
	t.Run("token for another audience", func(t *testing.T) {
		_, err := ord.GetOrder(withToken(admin), &ordersv1.GetOrderRequest{OrderId: "x"})
		wantCode(t, "orders with an inventory token", err, codes.Unauthenticated, "INVALID_TOKEN")
	})
	t.Run("place order through inventory", func(t *testing.T) {
		token := fetchToken(t, dev, AdminClient, orders.Audience)
		req := &ordersv1.PlaceOrderRequest{OrderId: "order-1", Lines: []*ordersv1.OrderLine{{Sku: "gizmo-3", Quantity: 4}}}
		resp, err := ord.PlaceOrder(withToken(token), req)
		if err != nil {
			t.Fatal(err)
		}
		if o := resp.GetOrder(); o.GetState() != ordersv1.OrderState_ORDER_STATE_RESERVED || o.GetPlacedBy() != "dev-admin" || o.GetPlacedByIssuer() != dev.Info.Issuer {
			t.Errorf("order = %v, want RESERVED placed by dev-admin of %s", o, dev.Info.Issuer)
		}
		// A retry reserves nothing twice.
		if _, err := ord.PlaceOrder(withToken(token), req); err != nil {
			t.Fatal(err)
		}
		item, err := inv.GetItem(withToken(reader), &inventoryv1.GetItemRequest{Sku: "gizmo-3"})
		if err != nil {
			t.Fatal(err)
		}
		if got := item.GetItem().GetQuantityReserved(); got != 4 {
			t.Errorf("gizmo-3 reserved = %d after PlaceOrder and its retry, want 4", got)
		}
	})
	t.Run("watch, import and fulfil", func(t *testing.T) {
		token := fetchToken(t, dev, AdminClient, inventory.Audience)
		ctx, cancel := context.WithCancel(withToken(token))
		defer cancel()
		watch, err := inv.WatchStock(ctx, &inventoryv1.WatchStockRequest{Skus: []string{"new-1"}})
		if err != nil {
			t.Fatal(err)
		}
		imp, err := inv.ImportItems(withToken(token))
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range []*inventoryv1.Item{{Sku: "new-1", Name: "New", QuantityOnHand: 5}, {Sku: "bad sku!"}, {Sku: "new-2", QuantityOnHand: -1}} {
			if err := imp.Send(&inventoryv1.ImportItemsRequest{Item: it}); err != nil {
				t.Fatal(err)
			}
		}
		sum, err := imp.CloseAndRecv()
		if err != nil {
			t.Fatal(err)
		}
		if sum.GetImported() != 1 || len(sum.GetFailures()) != 2 || sum.GetFailures()[0].GetIndex() != 1 {
			t.Errorf("import summary %v, want 1 imported and failures at 1 and 2", sum)
		}
		change, err := watch.Recv()
		if err != nil || change.GetItem().GetSku() != "new-1" || change.GetItem().GetQuantityOnHand() != 5 {
			t.Errorf("watch saw %v, %v", change, err)
		}

		otoken := fetchToken(t, dev, AdminClient, orders.Audience)
		if _, err := ord.PlaceOrder(withToken(otoken), &ordersv1.PlaceOrderRequest{OrderId: "ship-1",
			Lines: []*ordersv1.OrderLine{{Sku: "new-1", Quantity: 1}}}); err != nil {
			t.Fatal(err)
		}
		fulfil, err := ord.Fulfil(withToken(otoken))
		if err != nil {
			t.Fatal(err)
		}
		for _, state := range []ordersv1.OrderState{ordersv1.OrderState_ORDER_STATE_PACKED, ordersv1.OrderState_ORDER_STATE_SHIPPED} {
			if err := fulfil.Send(&ordersv1.FulfilRequest{OrderId: "ship-1", State: state}); err != nil {
				t.Fatal(err)
			}
			resp, err := fulfil.Recv()
			if err != nil || resp.GetOrder().GetState() != state {
				t.Fatalf("Fulfil to %v: %v, %v", state, resp, err)
			}
		}
		if err := fulfil.CloseSend(); err != nil {
			t.Fatal(err)
		}
		if _, err := fulfil.Recv(); !errors.Is(err, io.EOF) {
			t.Errorf("Fulfil end: %v", err)
		}
	})
	t.Run("concurrent retries of one order reserve once", func(t *testing.T) {
		token := fetchToken(t, dev, AdminClient, orders.Audience)
		req := &ordersv1.PlaceOrderRequest{OrderId: "retry-1", Lines: []*ordersv1.OrderLine{{Sku: "widget-1", Quantity: 5}}}
		var wg sync.WaitGroup
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := ord.PlaceOrder(withToken(token), req); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		item, err := inv.GetItem(withToken(reader), &inventoryv1.GetItemRequest{Sku: "widget-1"})
		if err != nil {
			t.Fatal(err)
		}
		if got := item.GetItem().GetQuantityReserved(); got != 5 {
			t.Errorf("widget-1 reserved = %d after 20 concurrent retries of one order, want 5", got)
		}
	})
	t.Run("reconcile job", func(t *testing.T) {
		r, err := dev.Orders.Reconcile(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		// order-1 and retry-1 are open (ship-1 shipped); inventory holds both.
		if r.Checked != 2 || r.Confirmed != 2 || r.Failed != 0 {
			t.Errorf("reconcile = %+v, want 2 checked and confirmed", r)
		}
	})
	t.Run("reflection needs a token", func(t *testing.T) {
		refl := reflectionpb.NewServerReflectionClient(dial(t, dev, "inventory"))
		list := func(ctx context.Context) error {
			st, err := refl.ServerReflectionInfo(ctx)
			if err != nil {
				return err
			}
			// A Send that fails with io.EOF means the server already ended
			// the stream; its status comes from Recv either way.
			_ = st.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}})
			_, err = st.Recv()
			return err
		}
		if err := list(context.Background()); status.Code(err) != codes.Unauthenticated {
			t.Errorf("reflection without token: %v", err)
		}
		if err := list(withToken(reader)); err != nil {
			t.Errorf("reflection with a token: %v", err)
		}
	})
	t.Run("oversized authorization refused by the transport", func(t *testing.T) {
		_, err := inv.GetItem(withToken(strings.Repeat("a", 20<<10)), &inventoryv1.GetItemRequest{Sku: "widget-1"})
		if err == nil || status.Code(err) == codes.OK {
			t.Fatal("a 20 KiB authorization header was accepted")
		}
		// The connection stays usable for good calls.
		if _, err := inv.GetItem(withToken(reader), &inventoryv1.GetItemRequest{Sku: "widget-1"}); err != nil {
			t.Errorf("after an oversized header: %v", err)
		}
	})
}
