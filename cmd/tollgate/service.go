package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"slices"
	"time"

	"github.com/tollgate-rpc/tollgate/interceptors"
	"github.com/tollgate-rpc/tollgate/interceptors/verify"
	"github.com/tollgate-rpc/tollgate/internal/app/metrics"
	"github.com/tollgate-rpc/tollgate/internal/app/serving"
	"github.com/tollgate-rpc/tollgate/internal/app/tracing"
	"github.com/tollgate-rpc/tollgate/internal/app/transport"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
)

// service is what the inventory and orders commands share: the flags every
// service takes, and the parts built from them.
type service struct {
	name string
	// flag values
	addr, dataDir, adminAddr, traceExporter *string
	database                                databaseFlags
	databaseTimeout                         *time.Duration
	accessLog                               *string
	publicReflection                        *bool
	trust                                   func() ([]verify.Issuer, error)
	verifyOpts                              func() ([]verify.Option, error)
	transport                               func(string) (transport.Transport, net.Listener, error)
	newLogger                               func(io.Writer) (*slog.Logger, error)

	// built by start
	log      *slog.Logger
	tr       transport.Transport
	lis      net.Listener
	issuers  []verify.Issuer
	verifier *verify.Verifier
	metrics  *metrics.Metrics
	tracing  *tracing.Tracing
	closers  []func()
}

// serviceFlags adds the flags of a service listening on addr by default
// and accepting tokens for audience.
func serviceFlags(f flags, name, addr, audience string) *service {
	return &service{
		name:             name,
		addr:             f.String("addr", addr, "listen address"),
		trust:            f.trustFlags(audience),
		dataDir:          f.String("data-dir", defaultDataDir, "directory for "+name+".db"),
		database:         f.databaseFlags(name),
		databaseTimeout:  f.Duration("database-timeout", 5*time.Second, "the longest one database call may take; past it the RPC fails Unavailable"),
		adminAddr:        f.String("admin-addr", "", "admin listener for /metrics (empty: none)"),
		traceExporter:    f.String("trace-exporter", "none", "OpenTelemetry trace exporter: none, stdout or otlp (OTEL_EXPORTER_OTLP_* configure it)"),
		publicReflection: f.Bool("public-reflection", false, "allow server reflection without a token"),
		accessLog:        f.String("access-log", "all", "access log lines: all, refused (refused and failed calls only) or none"),
		verifyOpts:       f.verifierFlags(),
		transport:        f.transportFlags(),
		newLogger:        f.logFlags(),
	}
}

// start validates the flags and builds the logger, listener, verifier,
// metrics and tracing. sends checks, before anything is fetched, where the
// service will send credentials. Call close when done, whatever happens
// next.
func (s *service) start(ctx context.Context, stdout, stderr io.Writer, sends func(transport.Transport) error) error {
	var err error
	if *s.databaseTimeout <= 0 {
		return fmt.Errorf("%w: --database-timeout %s: must be positive", errUsage, *s.databaseTimeout)
	}
	if !slices.Contains(serving.AccessLogModes, *s.accessLog) {
		return fmt.Errorf("%w: --access-log %q: use all, refused or none", errUsage, *s.accessLog)
	}
	if s.issuers, err = s.trust(); err != nil {
		return err
	}
	if s.log, err = s.newLogger(stderr); err != nil {
		return err
	}
	s.log = s.log.With("service", s.name)
	warnIfVulnerableGo(s.log)
	if s.tr, s.lis, err = s.transport(*s.addr); err != nil {
		return err
	}
	s.closers = append(s.closers, func() { s.lis.Close() })
	for _, is := range s.issuers {
		keys := is.JWKSURL
		if keys == "" {
			keys = is.Issuer // discovery, whose jwks_uri must share its origin
		}
		if err := s.tr.CheckURL("the keys of issuer "+is.Issuer+" at", keys); err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
	}
	if sends != nil {
		if err := sends(s.tr); err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
	}
	opts, err := s.verifyOpts()
	if err != nil {
		return err
	}
	if s.verifier, err = serving.NewVerifier(s.issuers, s.tr, s.log, opts...); err != nil {
		return err
	}
	s.closers = append(s.closers, s.verifier.Close)
	s.metrics = metrics.New()
	if s.tracing, err = tracing.New(ctx, *s.traceExporter, s.name, stdout); err != nil {
		return err
	}
	s.closers = append(s.closers, func() { _ = s.tracing.Shutdown(context.Background()) })
	return nil
}

func (s *service) close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
}

// serve runs the gRPC server for the services register adds, with the admin
// listener, until ctx ends. The service is ready when its verifier holds
// its issuers' keys and every one of ready (its store, the services it
// calls) answers.
func (s *service) serve(ctx context.Context, register func(grpc.ServiceRegistrar), beforeStop func(), ready ...func(context.Context) error) error {
	srv, err := serving.NewServiceServer(s.verifier, register, serving.ServerConfig{Transport: s.tr, Log: s.log, AccessLog: *s.accessLog,
		Metrics: s.metrics, Tracing: s.tracing, AuthOptions: reflectionOpts(*s.publicReflection)})
	if err != nil {
		return err
	}
	readiness := serving.AllReady(append([]func(context.Context) error{s.verifier.Ready}, ready...)...)
	return withAdmin(ctx, s.log, *s.adminAddr, s.metrics, readiness, func(ctx context.Context) error {
		return serving.ServeGRPC(ctx, s.log, s.name, s.lis, srv, beforeStop)
	}, s.verifier.RevocationStaleness)
}

func reflectionOpts(public bool) []interceptors.Option {
	if public {
		return []interceptors.Option{interceptors.WithPublicReflection()}
	}
	return nil
}

// withAdmin runs serve, plus the admin listener for m's /metrics when addr
// is set; both stop together.
func withAdmin(ctx context.Context, log *slog.Logger, addr string, m *metrics.Metrics, ready func(context.Context) error, serve func(context.Context) error,
	details ...func() []string) error {
	lis, err := serving.ListenAdmin(addr, log)
	if err != nil {
		return err
	}
	if lis == nil {
		return serve(ctx)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		return serving.ServeHTTP(gctx, log, "admin", lis, serving.NewHTTPServer(serving.AdminHandler(m.Handler(), ready, details...), log))
	})
	g.Go(func() error { return serve(gctx) })
	return g.Wait()
}

// openStore opens a service's store: in PostgreSQL when a database URL is
// given (--database-url or --database-url-file), else SQLite's file in the
// data directory; every call bounded by --database-timeout.
func openStore[S interface{ SetTimeout(time.Duration) }](ctx context.Context, s *service, file string,
	postgres func(ctx context.Context, url, schema string) (S, error), sqlite func(ctx context.Context, path string) (S, error)) (S, error) {
	dbURL, err := s.database.URL()
	if err != nil {
		var none S
		return none, err
	}
	var store S
	if dbURL != "" {
		store, err = postgres(ctx, dbURL, *s.database.schema)
	} else {
		store, err = sqlite(ctx, filepath.Join(*s.dataDir, file))
	}
	if err == nil {
		store.SetTimeout(*s.databaseTimeout)
	}
	return store, err
}
