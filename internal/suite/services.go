package suite

import (
	"context"
	"fmt"
	"log/slog"

	inventoryv1 "github.com/tollgate-rpc/tollgate/gen/go/tollgate/inventory/v1"
	"github.com/tollgate-rpc/tollgate/interceptors"
	"github.com/tollgate-rpc/tollgate/interceptors/verify"
	"github.com/tollgate-rpc/tollgate/internal/metrics"
	"github.com/tollgate-rpc/tollgate/internal/tracing"
	"github.com/tollgate-rpc/tollgate/services/inventory"
	"google.golang.org/grpc"
)

// Audiences of the suite's services: a token must name the service it is for.
const (
	InventoryAudience = "inventory"
	OrdersAudience    = "orders"
)

// NewVerifier trusts issuers, finding their keys (by discovery unless a
// JWKS URL is given) over tr.
func NewVerifier(issuers []verify.Issuer, tr Transport, log *slog.Logger, opts ...verify.Option) (*verify.Verifier, error) {
	return verify.New(issuers, append([]verify.Option{verify.WithLogger(log), verify.WithHTTPClient(tr.HTTPClient())}, opts...)...)
}

// ServerConfig is what every service's gRPC server is built with.
type ServerConfig struct {
	Transport Transport
	Log       *slog.Logger
	// Metrics, when set, records RPCs and auth decisions.
	Metrics *metrics.Metrics
	// Tracing, when on, traces every call.
	Tracing *tracing.Tracing
	// AuthOptions are added to the interceptors' (after the access log and
	// the metrics observer).
	AuthOptions []interceptors.Option
	// AccessLog is all (default: a line per call), refused (refused and
	// failed calls only) or none.
	AccessLog string
}

// AccessLogModes are the values of ServerConfig.AccessLog.
var AccessLogModes = []string{"all", "refused", "none"}

// NewServiceServer returns a gRPC server for the services that register
// adds, behind auth that verifies with v, with an access log, and with RPC
// and auth metrics when cfg.Metrics is set.
func NewServiceServer(v interceptors.TokenVerifier, register func(grpc.ServiceRegistrar), cfg ServerConfig) (*GRPCServer, error) {
	var authOpts []interceptors.Option
	switch cfg.AccessLog {
	case "", "all":
		authOpts = append(authOpts, interceptors.WithAccessLog(cfg.Log))
	case "refused":
		authOpts = append(authOpts, interceptors.WithAccessLog(cfg.Log), interceptors.WithAccessLogFailuresOnly())
	case "none":
	default:
		return nil, fmt.Errorf("access log %q: use all, refused or none", cfg.AccessLog)
	}
	authOpts = append(authOpts, cfg.Tracing.AuthOptions()...)
	opts := append(cfg.Transport.ServerOptions(), cfg.Tracing.ServerOptions()...)
	if cfg.Metrics != nil {
		authOpts = append(authOpts, interceptors.WithObserver(cfg.Metrics.AuthObserver()))
		opts = append(cfg.Metrics.ServerOptions(), opts...)
	}
	srv, err := NewGRPCServer(interceptors.New(v, append(authOpts, cfg.AuthOptions...)...), register, cfg.Log, opts...)
	if err != nil {
		return nil, err
	}
	if cfg.Metrics != nil {
		cfg.Metrics.InitializeRPC(srv.Server)
		if vv, ok := v.(*verify.Verifier); ok {
			cfg.Metrics.WatchVerifier(vv)
		}
	}
	return srv, nil
}

// SeedInventory stores a few demo items when the store is empty.
func SeedInventory(ctx context.Context, store inventory.Store) error {
	items, err := store.List(ctx)
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
		// Set, not added: replicas starting together on one database
		// seed the same stock once, not once each.
		if _, err := store.Upsert(ctx, &inventoryv1.Item{Sku: it.sku, Name: it.name, QuantityOnHand: it.qty}); err != nil {
			return err
		}
	}
	return nil
}
