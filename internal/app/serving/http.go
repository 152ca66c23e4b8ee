package serving

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/tollgate-rpc/tollgate/internal/app/transport"
	"github.com/tollgate-rpc/tollgate/services/issuer"
	"google.golang.org/grpc"
	"google.golang.org/grpc/connectivity"
)

// NewHTTPServer returns an http.Server with deliberate limits: slow clients
// cannot hold connections open, and headers are bounded.
func NewHTTPServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// NewIssuerServer is the issuer's http.Server: NewHTTPServer's limits, and
// the revocation feed's long polls answered at once when it shuts down
// (issuer.Server.Drain), so that a graceful stop does not wait them out.
func NewIssuerServer(iss *issuer.Server, log *slog.Logger) *http.Server {
	srv := NewHTTPServer(iss.Handler(), log)
	srv.RegisterOnShutdown(iss.Drain)
	return srv
}

// ServeHTTP serves srv on lis until ctx ends, then shuts down gracefully,
// letting in-flight requests finish within StopTimeout.
func ServeHTTP(ctx context.Context, log *slog.Logger, name string, lis net.Listener, srv *http.Server) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(lis) }()
	log.Info("serving HTTP", slog.String("listener", name), slog.String("addr", lis.Addr().String()))
	select {
	case err := <-errc:
		return fmt.Errorf("%s: %w", name, err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), StopTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("%s: shutdown: %w", name, err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("%s: %w", name, err)
	}
	log.Info("stopped", slog.String("listener", name))
	return nil
}

// ListenAdmin opens an admin listener for m's /metrics, or returns nil when
// addr is empty.
func ListenAdmin(addr string, log *slog.Logger) (net.Listener, error) {
	if addr == "" {
		return nil, nil
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("admin listener %s: %w", addr, err)
	}
	// Kubernetes probes and Prometheus need it on the pod's address, so it
	// is allowed; but /metrics names clients and the listener has no auth.
	if loopback, _ := transport.IsLoopback(addr); !loopback {
		log.Warn("the admin listener (metrics, probes; no authentication) is reachable off this machine: restrict it (a NetworkPolicy, a firewall)",
			slog.String("addr", l.Addr().String()))
	}
	return l, nil
}

// AllReady is ready when every check is, in order; the first failure is
// the answer.
func AllReady(checks ...func(context.Context) error) func(context.Context) error {
	return func(ctx context.Context) error {
		for _, check := range checks {
			if err := check(ctx); err != nil {
				return err
			}
		}
		return nil
	}
}

// ConnReady is ready while conn can carry calls: connected, or idle (it is
// then asked to connect, for the next probe); not while it is failing to
// connect or shut down. For a service whose every call depends on another.
func ConnReady(conn *grpc.ClientConn, target string) func(context.Context) error {
	return func(context.Context) error {
		switch st := conn.GetState(); st {
		case connectivity.Ready, connectivity.Connecting:
			return nil
		case connectivity.Idle:
			conn.Connect()
			return nil
		default:
			return fmt.Errorf("connection to %s: %s", target, st)
		}
	}
}

// AdminHandler serves an admin listener: metrics at /metrics, liveness at
// /healthz (the process answers) and readiness at /readyz (ready reports
// no error within 2 s: the issuer's store answers, a service holds its
// issuers' keys), for Kubernetes probes and load balancers. Each of details
// adds lines after the verdict, such as how stale a revocation feed is.
func AdminHandler(metrics http.Handler, ready func(context.Context) error, details ...func() []string) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", metrics)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		var body strings.Builder
		status := http.StatusOK
		if err := ready(ctx); err != nil {
			status = http.StatusServiceUnavailable
			fmt.Fprintf(&body, "not ready: %v\n", err)
		} else {
			body.WriteString("ok\n")
		}
		for _, d := range details {
			for _, line := range d() {
				body.WriteString(line + "\n")
			}
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body.String()))
	})
	return mux
}
