package orders

import (
	"context"
	"log/slog"
	"net"
	"sync/atomic"
	"testing"
	"time"

	inventoryv1 "github.com/tollgate-rpc/tollgate/gen/go/tollgate/inventory/v1"
	ordersv1 "github.com/tollgate-rpc/tollgate/gen/go/tollgate/orders/v1"
	"github.com/tollgate-rpc/tollgate/internal/jwtest"
	"github.com/tollgate-rpc/tollgate/internal/tcpproxy"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// flakyInventory answers Reserve UNAVAILABLE while failures remain, then
// reserves.
type flakyInventory struct {
	inventoryv1.UnimplementedInventoryServiceServer
	failures, calls atomic.Int64
}

func (f *flakyInventory) Reserve(context.Context, *inventoryv1.ReserveRequest) (*inventoryv1.ReserveResponse, error) {
	f.calls.Add(1)
	if f.failures.Add(-1) >= 0 {
		return nil, status.Error(codes.Unavailable, "connection cut")
	}
	return &inventoryv1.ReserveResponse{}, nil
}

// serveInventory serves inv on lis until the test ends.
func serveInventory(t *testing.T, lis net.Listener, inv inventoryv1.InventoryServiceServer) {
	t.Helper()
	srv := grpc.NewServer()
	inventoryv1.RegisterInventoryServiceServer(srv, inv)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
}

func dialInventory(t *testing.T, addr string) inventoryv1.InventoryServiceClient {
	t.Helper()
	return inventoryv1.NewInventoryServiceClient(dialConn(t, addr))
}

func dialConn(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultServiceConfig(InventoryServiceConfig))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func placeOrder(svc *Service, ctx context.Context, id string) error {
	_, err := svc.PlaceOrder(ctx, &ordersv1.PlaceOrderRequest{OrderId: id,
		Lines: []*ordersv1.OrderLine{{Sku: "widget-1", Quantity: 1}}})
	return err
}

// A Reserve that fails UNAVAILABLE (a cut connection, a restarting
// replica) is retried by the service config: the order goes through.
func TestReserveIsRetriedOnUnavailable(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	inv := &flakyInventory{}
	inv.failures.Store(2)
	serveInventory(t, lis, inv)
	svc := New(NewMemoryStore(), dialInventory(t, lis.Addr().String()), slog.New(slog.DiscardHandler))
	if err := placeOrder(svc, t.Context(), "o-1"); err != nil {
		t.Fatalf("PlaceOrder with two cut Reserve calls: %v", err)
	}
	if n := inv.calls.Load(); n != 3 {
		t.Errorf("%d Reserve calls, want 3 (two retried)", n)
	}
}

// While inventory is not there yet, Reserve waits for the connection
// (within the caller's deadline) instead of failing at once.
func TestReserveWaitsForInventory(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serveInventory(t, lis, &flakyInventory{})
	proxy := tcpproxy.New(t, "tcp://"+lis.Addr().String())
	proxy.Cut() // inventory does not answer yet
	conn := dialConn(t, proxy.Addr())
	svc := New(NewMemoryStore(), inventoryv1.NewInventoryServiceClient(conn), slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- placeOrder(svc, ctx, "o-2") }()
	// The call has found nothing there (a fail-fast call would have ended
	// Unavailable now); inventory comes up while it waits.
	jwtest.Eventually(t, "the connection to fail", func() bool { return conn.GetState() == connectivity.TransientFailure })
	proxy.Restore()
	if err := <-done; err != nil {
		t.Errorf("PlaceOrder while inventory started: %v", err)
	}
}
