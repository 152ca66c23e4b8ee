package suite

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
	all := append(RecoveryOptions(log), auth.ServerOptions()...)
	srv := grpc.NewServer(append(all, opts...)...)
	register(srv)
	hs := health.NewServer()
	healthpb.RegisterHealthServer(srv, hs)
	reflection.Register(srv)
	if err := auth.Check(srv); err != nil {
		return nil, err
	}
	return &GRPCServer{Server: srv, Health: hs}, nil
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
	log.Info("serving gRPC", slog.String("service", name), slog.String("addr", lis.Addr().String()))
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
		log.Warn("graceful stop timed out; closing open calls", slog.String("service", name))
		srv.Stop()
	}
	if err := <-errc; err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		return fmt.Errorf("%s: %w", name, err)
	}
	log.Info("stopped", slog.String("service", name))
	return nil
}
