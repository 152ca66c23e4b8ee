package serving

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"runtime/debug"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"github.com/tollgate-rpc/tollgate/interceptors"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"
)

// StopTimeout bounds a graceful stop; after it, open calls are cut.
const StopTimeout = 10 * time.Second

// GRPCServer is a gRPC server with auth, health and reflection.
type GRPCServer struct {
	*grpc.Server
	Health *health.Server
}

// NewGRPCServer builds a server whose every method passes through auth,
// registers the services with register, adds health and reflection, and
// refuses to return a server with any method lacking an access policy.
func NewGRPCServer(auth *interceptors.Authenticator, register func(grpc.ServiceRegistrar), log *slog.Logger, opts ...grpc.ServerOption) (*GRPCServer, error) {
	// Order: recovery, then opts (metrics interceptors go there, so refused
	// calls are counted), then auth; then the limits.
	all := append(RecoveryOptions(log), opts...)
	all = append(all, auth.ServerOptions()...)
	srv := grpc.NewServer(append(all, Limits()...)...)
	register(srv)
	hs := health.NewServer()
	healthpb.RegisterHealthServer(srv, hs)
	reflection.Register(srv)
	if err := auth.Check(srv); err != nil {
		return nil, err
	}
	return &GRPCServer{Server: srv, Health: hs}, nil
}

// Server resource limits, chosen deliberately rather than left to defaults.
const (
	// MaxHeaderListSize bounds all request metadata. An access token is
	// 1-2 KiB; the verifier refuses tokens over 8 KiB before parsing, and
	// anything beyond 16 KiB of headers is refused by the transport before a
	// handler or interceptor runs.
	MaxHeaderListSize = 16 << 10
	// MaxRecvMsgSize bounds one request message (gRPC's default is 4 MiB).
	MaxRecvMsgSize = 1 << 20
	// MaxConcurrentStreams bounds calls in flight on one connection.
	MaxConcurrentStreams = 1000
	// ConnectionTimeout bounds the TLS and HTTP/2 handshake of a new
	// connection.
	ConnectionTimeout = 10 * time.Second
)

// Limits returns the server options that apply the limits above, plus
// keepalive enforcement: clients may ping at most every 10s (also without
// calls in flight), idle connections close after 5 minutes, and a
// connection lives at most 2 hours (then drains gracefully within 30s).
func Limits() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.MaxHeaderListSize(MaxHeaderListSize),
		grpc.MaxRecvMsgSize(MaxRecvMsgSize),
		grpc.MaxConcurrentStreams(MaxConcurrentStreams),
		grpc.ConnectionTimeout(ConnectionTimeout),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
		grpc.KeepaliveParams(keepalive.ServerParameters{
			MaxConnectionIdle:     5 * time.Minute,
			MaxConnectionAge:      2 * time.Hour,
			MaxConnectionAgeGrace: 30 * time.Second,
			Time:                  time.Minute,
			Timeout:               20 * time.Second,
		}),
	}
}

// RecoveryOptions turn a panicking handler into an Internal error for its
// caller and a log line, not a crashed process. They go first, outside
// everything else.
func RecoveryOptions(log *slog.Logger) []grpc.ServerOption {
	recoverer := recovery.WithRecoveryHandlerContext(func(ctx context.Context, p any) error {
		log.ErrorContext(ctx, "handler panicked", slog.Any("panic", p), slog.String("stack", string(debug.Stack())))
		return status.Error(codes.Internal, "internal error")
	})
	return []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(recovery.UnaryServerInterceptor(recoverer)),
		grpc.ChainStreamInterceptor(recovery.StreamServerInterceptor(recoverer)),
	}
}

// ServeGRPC serves on lis until ctx ends, then stops gracefully within
// StopTimeout (marking health NOT_SERVING first) and returns. beforeStop,
// when set, runs first: services use it to end long-lived streams.
func ServeGRPC(ctx context.Context, log *slog.Logger, name string, lis net.Listener, srv *GRPCServer, beforeStop func()) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(lis) }()
	log.Info("serving gRPC", slog.String("listener", name), slog.String("addr", lis.Addr().String()))
	select {
	case err := <-errc:
		return fmt.Errorf("%s: %w", name, err)
	case <-ctx.Done():
	}
	srv.Health.Shutdown()
	if beforeStop != nil {
		beforeStop()
	}
	done := make(chan struct{})
	go func() { srv.GracefulStop(); close(done) }()
	select {
	case <-done:
	case <-time.After(StopTimeout):
		log.Warn("graceful stop timed out; closing open calls", slog.String("listener", name))
		srv.Stop()
	}
	if err := <-errc; err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		return fmt.Errorf("%s: %w", name, err)
	}
	log.Info("stopped", slog.String("listener", name))
	return nil
}
