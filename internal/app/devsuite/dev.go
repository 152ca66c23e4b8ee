package devsuite

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"time"

	inventoryv1 "github.com/tollgate-rpc/tollgate/gen/go/tollgate/inventory/v1"
	"github.com/tollgate-rpc/tollgate/interceptors"
	"github.com/tollgate-rpc/tollgate/interceptors/callcreds"
	"github.com/tollgate-rpc/tollgate/interceptors/verify"
	"github.com/tollgate-rpc/tollgate/internal/app/metrics"
	"github.com/tollgate-rpc/tollgate/internal/app/serving"
	"github.com/tollgate-rpc/tollgate/internal/app/tracing"
	"github.com/tollgate-rpc/tollgate/internal/app/transport"
	"github.com/tollgate-rpc/tollgate/internal/devtls"
	"github.com/tollgate-rpc/tollgate/internal/securefile"
	"github.com/tollgate-rpc/tollgate/services/inventory"
	"github.com/tollgate-rpc/tollgate/services/issuer"
	"github.com/tollgate-rpc/tollgate/services/orders"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
)

// Config configures a local suite.
type Config struct {
	DataDir       string
	IssuerAddr    string // host:port; port 0 picks a free one
	InventoryAddr string
	OrdersAddr    string
	// AdminAddrs are the /metrics listeners by service name (issuer,
	// inventory, orders), loopback; a missing one or port 0 picks a free
	// port.
	AdminAddrs map[string]string
	// Plaintext serves without TLS. By default the suite serves TLS with a
	// certificate from a local CA kept in DataDir.
	Plaintext bool
	// TraceExporter is none (default), stdout (to TraceWriter) or otlp.
	TraceExporter string
	TraceWriter   io.Writer
	// JWKSMaxAge is the issuer's JWKS Cache-Control max-age; a rotated key
	// signs after twice this (default issuer.DefaultJWKSMaxAge).
	JWKSMaxAge time.Duration
	// PublicReflection lets server reflection be called without a token (by
	// default it needs a valid token, though no particular scope).
	PublicReflection bool
	// InMemory keeps inventory and orders in memory instead of SQLite files
	// in DataDir (keys and clients stay in DataDir).
	InMemory bool
	// AccessLog is all (default), refused or none; see serving.ServerConfig.
	AccessLog string
	// ReconcileInterval is how often orders reconciles open orders against
	// inventory (default 30s).
	ReconcileInterval time.Duration
	Logger            *slog.Logger
}

// Dev is a running local suite: issuer, inventory and orders in one process.
type Dev struct {
	Info     Info
	InfoPath string
	Orders   *orders.Service

	group   *errgroup.Group
	closers []func() error
}

// Start starts the suite on loopback listeners, registers the dev clients
// and writes <data-dir>/dev.json. It runs until ctx ends; Wait returns after
// every server has stopped.
func Start(ctx context.Context, cfg Config) (_ *Dev, err error) {
	b := &builder{cfg: cfg, log: cfg.Logger, met: map[string]*metrics.Metrics{}, admin: map[string]net.Listener{}}
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	defer func() {
		if err != nil {
			b.closeAll()
		}
	}()
	if err := b.listen(); err != nil {
		return nil, err
	}
	if err := b.transport(); err != nil {
		return nil, err
	}
	if err := b.issuer(ctx); err != nil {
		return nil, err
	}
	if err := b.services(ctx); err != nil {
		return nil, err
	}
	doc, err := json.MarshalIndent(b.info, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := securefile.Write(b.infoPath(), doc); err != nil {
		return nil, err
	}
	return b.run(ctx), nil
}

// builder holds what Start has built so far, and what to close should a
// later step fail.
type builder struct {
	cfg Config
	log *slog.Logger

	issuerLis, inventoryLis, ordersLis net.Listener
	admin                              map[string]net.Listener // by service name
	met                                map[string]*metrics.Metrics
	tr                                 transport.Transport
	info                               Info

	iss            *issuer.Server
	invVerifier    *verify.Verifier
	ordVerifier    *verify.Verifier
	invSvc         *inventory.Service
	ordSvc         *orders.Service
	invSrv, ordSrv *serving.GRPCServer
	invConn        *grpc.ClientConn
	storesReady    func(context.Context) error // the SQLite stores answer; nil in memory
	closers        []func() error
}

func (b *builder) closeAll() {
	for _, v := range []*verify.Verifier{b.invVerifier, b.ordVerifier} {
		if v != nil {
			v.Close()
		}
	}
	if b.invConn != nil {
		b.invConn.Close()
	}
	for _, c := range b.closers {
		_ = c()
	}
}

func (b *builder) infoPath() string { return filepath.Join(b.cfg.DataDir, "dev.json") }

// listen opens the services' and the admin listeners, on loopback only.
// One metrics registry and admin listener per service, as if each ran alone.
func (b *builder) listen() error {
	for _, l := range []struct {
		to   *net.Listener
		addr string
	}{{&b.issuerLis, b.cfg.IssuerAddr}, {&b.inventoryLis, b.cfg.InventoryAddr}, {&b.ordersLis, b.cfg.OrdersAddr}} {
		lis, err := b.listenLoopback(l.addr)
		if err != nil {
			return err
		}
		*l.to = lis
	}
	for _, name := range []string{"issuer", "inventory", "orders"} {
		addr := b.cfg.AdminAddrs[name]
		if addr == "" {
			addr = "127.0.0.1:0"
		}
		l, err := b.listenLoopback(addr)
		if err != nil {
			return err
		}
		b.admin[name], b.met[name] = l, metrics.New()
	}
	return nil
}

// listenLoopback listens on addr, closing the listener should Start fail.
func (b *builder) listenLoopback(addr string) (net.Listener, error) {
	l, err := listenLoopback(addr)
	if err != nil {
		return nil, err
	}
	b.closers = append(b.closers, func() error { l.Close(); return nil })
	return l, nil
}

// transport is TLS with a certificate from the local CA kept in the data
// directory (created on first use), unless the suite serves plaintext.
func (b *builder) transport() error {
	b.tr = transport.Transport{Plaintext: b.cfg.Plaintext}
	if b.cfg.Plaintext {
		return nil
	}
	ca, err := devtls.LoadOrCreate(b.cfg.DataDir)
	if err != nil {
		return err
	}
	cert, err := ca.ServerCert("localhost", "127.0.0.1", "::1")
	if err != nil {
		return err
	}
	b.tr.ServerTLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	b.tr.RootCAs = ca.Pool()
	b.info.CAFile, _ = filepath.Abs(ca.CertFile)
	return nil
}

// issuer starts the token issuer on the data directory and registers the
// dev clients (keeping the secrets of a previous run), filling in info.
func (b *builder) issuer(ctx context.Context) error {
	issuerURL := b.tr.Scheme() + "://" + b.issuerLis.Addr().String()
	m := b.met["issuer"]
	iss, err := issuer.New(issuer.Config{Issuer: issuerURL, DataDir: b.cfg.DataDir, JWKSMaxAge: b.cfg.JWKSMaxAge,
		Logger: b.log.With("service", "issuer"), Observe: func(e issuer.TokenEvent) { m.TokenRequest(e.ClientID, e.Outcome, e.Duration) }})
	if err != nil {
		return err
	}
	b.iss = iss
	b.closers = append(b.closers, iss.Close)
	m.WatchKeySchedule(iss.KeyTimes)
	prev, err := readPreviousInfo(b.infoPath())
	if err != nil {
		return err
	}
	clients, err := ensureDevClients(ctx, iss.Clients(), prev, time.Now())
	if err != nil {
		return fmt.Errorf("register dev clients: %w", err)
	}
	b.info.Issuer, b.info.TokenEndpoint, b.info.JWKSURI, b.info.Clients = issuerURL, iss.TokenEndpoint(), iss.JWKSURI(), clients
	b.info.Services = map[string]string{"inventory": b.inventoryLis.Addr().String(), "orders": b.ordersLis.Addr().String()}
	b.info.Metrics = map[string]string{}
	for name, l := range b.admin {
		b.info.Metrics[name] = l.Addr().String()
	}
	return nil
}

// services builds inventory (with its demo stock) and orders, which calls
// inventory as the orders-service dev client, each behind its own verifier,
// metrics and tracing.
func (b *builder) services(ctx context.Context) error {
	var invStore inventory.Store = inventory.NewMemoryStore()
	var ordStore orders.Store = orders.NewMemoryStore()
	if !b.cfg.InMemory {
		invDB, err := inventory.OpenSQLite(ctx, filepath.Join(b.cfg.DataDir, "inventory.db"))
		if err != nil {
			return err
		}
		b.closers = append(b.closers, invDB.Close)
		ordDB, err := orders.OpenSQLite(ctx, filepath.Join(b.cfg.DataDir, "orders.db"))
		if err != nil {
			return err
		}
		b.closers = append(b.closers, ordDB.Close)
		invStore, ordStore = invDB, ordDB
		b.storesReady = serving.AllReady(invDB.Ready, ordDB.Ready)
	}
	if err := inventory.SeedDemo(ctx, invStore); err != nil {
		return err
	}
	trc := map[string]*tracing.Tracing{}
	for _, name := range []string{"inventory", "orders"} {
		t, err := tracing.New(ctx, b.cfg.TraceExporter, name, b.cfg.TraceWriter)
		if err != nil {
			return err
		}
		trc[name] = t
		b.closers = append(b.closers, func() error { return t.Shutdown(context.Background()) })
	}
	var authOpts []interceptors.Option
	if b.cfg.PublicReflection {
		authOpts = append(authOpts, interceptors.WithPublicReflection())
	}
	server := func(name, audience string, register func(grpc.ServiceRegistrar)) (*verify.Verifier, *serving.GRPCServer, error) {
		log := b.log.With("service", name)
		v, err := serving.NewVerifier([]verify.Issuer{{Issuer: b.info.Issuer, Audiences: []string{audience}}}, b.tr, log)
		if err != nil {
			return nil, nil, err
		}
		srv, err := serving.NewServiceServer(v, register, serving.ServerConfig{Transport: b.tr, Log: log, AccessLog: b.cfg.AccessLog,
			Metrics: b.met[name], Tracing: trc[name], AuthOptions: authOpts})
		if err != nil {
			v.Close()
			return nil, nil, err
		}
		return v, srv, nil
	}

	b.invSvc = inventory.New(invStore, b.log.With("service", "inventory"))
	var err error
	if b.invVerifier, b.invSrv, err = server("inventory", inventory.Audience, b.invSvc.Register); err != nil {
		return err
	}
	own, _ := b.info.Client(OrdersServiceClient)
	invConn, _, err := serving.Dial(callcreds.Config{TokenURL: b.info.TokenEndpoint, ClientID: own.ClientID, ClientSecret: own.ClientSecret,
		Audience: inventory.Audience, Scopes: orders.InventoryScopes}, b.info.Services["inventory"], b.tr, b.met["orders"],
		append(trc["orders"].DialOptions(), grpc.WithDefaultServiceConfig(orders.InventoryServiceConfig))...)
	if err != nil {
		return err
	}
	b.invConn = invConn
	b.ordSvc = orders.New(ordStore, inventoryv1.NewInventoryServiceClient(invConn), b.log.With("service", "orders"))
	b.ordVerifier, b.ordSrv, err = server("orders", orders.Audience, b.ordSvc.Register)
	return err
}

// run serves everything until ctx ends: the admin listeners, the issuer's
// key reloads and rotation, orders' reconciler, and the three servers.
func (b *builder) run(ctx context.Context) *Dev {
	g, gctx := errgroup.WithContext(ctx)
	log := b.log
	stores := b.storesReady
	if stores == nil {
		stores = serving.AllReady()
	}
	ready := map[string]func(context.Context) error{"issuer": b.iss.Ready,
		"inventory": serving.AllReady(b.invVerifier.Ready, stores),
		"orders":    serving.AllReady(b.ordVerifier.Ready, stores, serving.ConnReady(b.invConn, b.info.Services["inventory"]))}
	details := map[string]func() []string{"issuer": func() []string { return nil },
		"inventory": b.invVerifier.RevocationStaleness, "orders": b.ordVerifier.RevocationStaleness}
	for name, l := range b.admin {
		g.Go(func() error {
			h := serving.AdminHandler(b.met[name].Handler(), ready[name], details[name])
			return serving.ServeHTTP(gctx, log, name+" admin", l, serving.NewHTTPServer(h, log.With("service", name)))
		})
	}
	g.Go(func() error { b.iss.Watch(gctx, issuer.WatchInterval); return nil })
	g.Go(func() error { b.iss.RunKeyRotation(gctx, time.Minute); return nil })
	interval := b.cfg.ReconcileInterval
	if interval <= 0 {
		interval = 30 * time.Second
	}
	g.Go(func() error {
		b.ordSvc.RunReconciler(gctx, interval, func(r orders.ReconcileResult) {
			b.met["orders"].ReconcilePass(r.Confirmed, r.Restored, r.Failed, r.Abandoned, r.Pending, r.Backlog)
		})
		return nil
	})
	issuerLis := b.issuerLis
	if b.tr.ServerTLS != nil {
		issuerLis = tls.NewListener(issuerLis, b.tr.ServerTLS)
	}
	g.Go(func() error {
		return serving.ServeHTTP(gctx, log, "issuer", issuerLis, serving.NewIssuerServer(b.iss, log.With("service", "issuer")))
	})
	g.Go(func() error {
		return serving.ServeGRPC(gctx, log, "inventory", b.inventoryLis, b.invSrv, b.invSvc.Close)
	})
	g.Go(func() error { return serving.ServeGRPC(gctx, log, "orders", b.ordersLis, b.ordSrv, nil) })
	g.Go(func() error {
		<-gctx.Done()
		b.invVerifier.Close()
		b.ordVerifier.Close()
		return b.invConn.Close()
	})
	return &Dev{Info: b.info, InfoPath: b.infoPath(), Orders: b.ordSvc, group: g, closers: b.closers}
}

// Wait blocks until every server of the suite has stopped, then closes the
// databases.
func (d *Dev) Wait() error {
	err := d.group.Wait()
	for _, c := range d.closers {
		err = errors.Join(err, c())
	}
	return err
}

// listenLoopback listens on addr, refusing addresses that are not loopback:
// the dev suite's keys, CA and secrets are for one machine.
func listenLoopback(addr string) (net.Listener, error) {
	if loopback, err := transport.IsLoopback(addr); err != nil {
		return nil, err
	} else if !loopback {
		return nil, fmt.Errorf("listen address %q: the dev suite listens on loopback only", addr)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	return transport.LimitConnections(l, transport.DefaultMaxConnections), nil
}
