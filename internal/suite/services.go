package suite

import (
	"log/slog"

	"github.com/tollgate-rpc/tollgate/interceptors"
	"github.com/tollgate-rpc/tollgate/interceptors/verify"
	"github.com/tollgate-rpc/tollgate/services/inventory"
	"github.com/tollgate-rpc/tollgate/services/orders"
)

// Audiences of the suite's services: a token must name the service it is for.
const (
	InventoryAudience = "inventory"
	OrdersAudience    = "orders"
)

// NewVerifier trusts issuerURL, finding its keys by discovery over tr, for
// tokens addressed to audience.
func NewVerifier(issuerURL, audience string, tr Transport, log *slog.Logger, opts ...verify.Option) (*verify.Verifier, error) {
	return verify.New([]verify.Issuer{{Issuer: issuerURL, Audiences: []string{audience}}},
		append([]verify.Option{verify.WithLogger(log), verify.WithHTTPClient(tr.HTTPClient())}, opts...)...)
}

// NewInventoryServer returns a gRPC server for svc behind auth, with an
// access log.
func NewInventoryServer(v interceptors.TokenVerifier, svc *inventory.Service, tr Transport, log *slog.Logger, authOpts ...interceptors.Option) (*GRPCServer, error) {
	auth := interceptors.New(v, append([]interceptors.Option{interceptors.WithAccessLog(log)}, authOpts...)...)
	return NewGRPCServer(auth, svc.Register, log, tr.ServerOptions()...)
}

// NewOrdersServer returns a gRPC server for svc behind auth, with an access
// log.
func NewOrdersServer(v interceptors.TokenVerifier, svc *orders.Service, tr Transport, log *slog.Logger, authOpts ...interceptors.Option) (*GRPCServer, error) {
	auth := interceptors.New(v, append([]interceptors.Option{interceptors.WithAccessLog(log)}, authOpts...)...)
	return NewGRPCServer(auth, svc.Register, log, tr.ServerOptions()...)
}

// SeedInventory stores a few demo items when the store is empty.
func SeedInventory(store inventory.Store) error {
	items, err := store.List()
	if err != nil || len(items) > 0 {
		return err
	}
	for _, it := range []struct {
		sku, name string
		qty       int64
	}{
		{"widget-1", "Widget", 100},
		{"gadget-2", "Gadget", 50},
		{"gizmo-3", "Gizmo", 10},
	} {
		if _, err := store.Adjust(it.sku, it.name, it.qty); err != nil {
			return err
		}
	}
	return nil
}
