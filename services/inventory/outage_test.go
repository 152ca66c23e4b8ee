package inventory

import (
	"context"
	"log/slog"
	"testing"
	"time"

	inventoryv1 "github.com/tollgate-rpc/tollgate/gen/go/tollgate/inventory/v1"
	"github.com/tollgate-rpc/tollgate/internal/jwtest"
	"github.com/tollgate-rpc/tollgate/internal/pgtest"
	"github.com/tollgate-rpc/tollgate/internal/tcpproxy"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// proxiedStore opens the demo stock in a schema of the test database
// reached through a proxy the test controls.
func proxiedStore(t *testing.T) (*tcpproxy.Proxy, *SQLStore) {
	t.Helper()
	url := pgtest.URL(t)
	schema := pgtest.Schema(t, url)
	proxy := tcpproxy.New(t, url)
	store, err := OpenPostgres(t.Context(), proxy.URL, schema)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if err := SeedDemo(t.Context(), store); err != nil {
		t.Fatal(err)
	}
	return proxy, store
}

// While the database is unreachable (a proxy in front of it cut: open
// connections closed, new ones refused) GetItem and Reserve answer
// Unavailable, which gRPC clients retry, not Internal, which they do not;
// once it is back they answer again.
func TestDatabaseOutageIsUnavailable(t *testing.T) {
	proxy, store := proxiedStore(t)
	svc := New(store, slog.New(slog.DiscardHandler))
	get := func() error {
		_, err := svc.GetItem(t.Context(), &inventoryv1.GetItemRequest{Sku: "widget-1"})
		return err
	}
	reserve := func() error {
		_, err := svc.Reserve(t.Context(), &inventoryv1.ReserveRequest{OrderId: "o-1",
			Lines: []*inventoryv1.ReserveLine{{Sku: "widget-1", Quantity: 1}}})
		return err
	}
	if err := get(); err != nil {
		t.Fatalf("before the outage: %v", err)
	}
	proxy.Cut()
	for name, call := range map[string]func() error{"GetItem": get, "Reserve": reserve} {
		for i := range 3 { // pooled connections first, then new ones
			if code := status.Code(call()); code != codes.Unavailable {
				t.Errorf("%s %d during the outage: %s, want Unavailable", name, i, code)
			}
		}
	}
	// Readiness follows the database (its answer is reused for a second).
	jwtest.Eventually(t, "readiness to fail during the outage", func() bool { return store.Ready(t.Context()) != nil })
	proxy.Restore()
	if err := get(); err != nil {
		t.Errorf("after the outage: %v", err)
	}
	jwtest.Eventually(t, "readiness after the outage", func() bool { return store.Ready(t.Context()) == nil })
}

// A frozen database (a proxy that holds every byte, as a PostgreSQL
// stopped with SIGSTOP) fails a call Unavailable once the store's timeout
// passes, instead of holding it until the caller's own deadline.
func TestFrozenDatabaseIsBounded(t *testing.T) {
	proxy, store := proxiedStore(t)
	store.SetTimeout(200 * time.Millisecond)
	svc := New(store, slog.New(slog.DiscardHandler))
	proxy.Freeze()
	// The caller would wait a minute; the store gives up long before.
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	_, err := svc.GetItem(ctx, &inventoryv1.GetItemRequest{Sku: "widget-1"})
	if code := status.Code(err); code != codes.Unavailable {
		t.Errorf("GetItem on a frozen database: %v, want Unavailable", err)
	}
	proxy.Restore()
	jwtest.Eventually(t, "GetItem after the database thaws", func() bool {
		_, err := svc.GetItem(t.Context(), &inventoryv1.GetItemRequest{Sku: "widget-1"})
		return err == nil
	})
}
