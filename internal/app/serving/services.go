package serving

import (
	"fmt"
	"log/slog"

	"github.com/tollgate-rpc/tollgate/interceptors"
	"github.com/tollgate-rpc/tollgate/interceptors/verify"
	"github.com/tollgate-rpc/tollgate/internal/app/metrics"
	"github.com/tollgate-rpc/tollgate/internal/app/tracing"
	"github.com/tollgate-rpc/tollgate/internal/app/transport"
	"google.golang.org/grpc"
)

// NewVerifier trusts issuers, finding their keys (by discovery unless a
// JWKS URL is given) over tr.
func NewVerifier(issuers []verify.Issuer, tr transport.Transport, log *slog.Logger, opts ...verify.Option) (*verify.Verifier, error) {
	return verify.New(issuers, append([]verify.Option{verify.WithLogger(log), verify.WithHTTPClient(tr.HTTPClient())}, opts...)...)
}

// ServerConfig is what every service's gRPC server is built with.
type ServerConfig struct {
	Transport transport.Transport
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
