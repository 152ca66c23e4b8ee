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
	"github.com/tollgate-rpc/tollgate/internal/devtls"
	"github.com/tollgate-rpc/tollgate/internal/metrics"
	"github.com/tollgate-rpc/tollgate/internal/securefile"
	"github.com/tollgate-rpc/tollgate/internal/serving"
	"github.com/tollgate-rpc/tollgate/internal/tracing"
	"github.com/tollgate-rpc/tollgate/internal/transport"
	"github.com/tollgate-rpc/tollgate/services/inventory"
	"github.com/tollgate-rpc/tollgate/services/issuer"
	"github.com/tollgate-rpc/tollgate/services/orders"
	"golang.org/x/sync/errgroup"
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
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var lis [3]net.Listener
	var closers []func() error
	defer func() {
		if err != nil {
			for _, l := range lis {
				if l != nil {
					l.Close()
				}
			}
			for _, c := range closers {
				_ = c()
			}
		}
	}()
	for i, addr := range []string{cfg.IssuerAddr, cfg.InventoryAddr, cfg.OrdersAddr} {
		if lis[i], err = listenLoopback(addr); err != nil {
			return nil, err
		}
	}
	tr := transport.Transport{Plaintext: cfg.Plaintext}
	caFile := ""
	if !cfg.Plaintext {
		ca, err := devtls.LoadOrCreate(cfg.DataDir)
		if err != nil {
			return nil, err
		}
		cert, err := ca.ServerCert("localhost", "127.0.0.1", "::1")
		if err != nil {
			return nil, err
		}
		tr.ServerTLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		tr.RootCAs = ca.Pool()
		caFile, _ = filepath.Abs(ca.CertFile)
	}
	issuerURL := tr.Scheme() + "://" + lis[0].Addr().String()
	// One registry and admin listener per service, as if each ran alone.
	met := map[string]*metrics.Metrics{"issuer": metrics.New(), "inventory": metrics.New(), "orders": metrics.New()}
	admin := map[string]net.Listener{}
	for name := range met {
		addr := cfg.AdminAddrs[name]
		if addr == "" {
			addr = "127.0.0.1:0"
		}
		l, err := listenLoopback(addr)
		if err != nil {
			return nil, err
		}
		admin[name] = l
		closers = append(closers, func() error { l.Close(); return nil })
	}
	iss, err := issuer.New(issuer.Config{Issuer: issuerURL, DataDir: cfg.DataDir, JWKSMaxAge: cfg.JWKSMaxAge,
		Logger: log.With("service", "issuer"), Observe: func(e issuer.TokenEvent) { met["issuer"].TokenRequest(e.ClientID, e.Outcome, e.Duration) }})
	if err != nil {
		return nil, err
	}
	closers = append(closers, iss.Close)
	infoPath := filepath.Join(cfg.DataDir, "dev.json")
	prev, err := readPreviousInfo(infoPath)
	if err != nil {
		return nil, err
	}
	clients, err := ensureDevClients(ctx, iss.Clients(), prev, time.Now())
	if err != nil {
		return nil, fmt.Errorf("register dev clients: %w", err)
	}
	info := Info{
		Issuer:        issuerURL,
		TokenEndpoint: iss.TokenEndpoint(),
		JWKSURI:       iss.JWKSURI(),
		CAFile:        caFile,
		Services: map[string]string{
			"inventory": lis[1].Addr().String(),
			"orders":    lis[2].Addr().String(),
		},
		Clients: clients,
		Metrics: map[string]string{},
	}
	for name, l := range admin {
		info.Metrics[name] = l.Addr().String()
	}
	met["issuer"].WatchKeySchedule(iss.KeyTimes)

	invVerifier, err := serving.NewVerifier([]verify.Issuer{{Issuer: issuerURL, Audiences: []string{inventory.Audience}}}, tr, log.With("service", "inventory"))
	if err != nil {
		return nil, err
	}
	var invStore inventory.Store = inventory.NewMemoryStore()
	var ordStore orders.Store = orders.NewMemoryStore()
	if !cfg.InMemory {
		invDB, err := inventory.OpenSQLite(ctx, filepath.Join(cfg.DataDir, "inventory.db"))
		if err != nil {
			return nil, err
		}
		closers = append(closers, invDB.Close)
		ordDB, err := orders.OpenSQLite(ctx, filepath.Join(cfg.DataDir, "orders.db"))
		if err != nil {
			return nil, err
		}
		closers = append(closers, ordDB.Close)
		invStore, ordStore = invDB, ordDB
	}
	if err := inventory.SeedDemo(ctx, invStore); err != nil {
		return nil, err
	}
	invSvc := inventory.New(invStore, log.With("service", "inventory"))
	trc := map[string]*tracing.Tracing{}
	for _, name := range []string{"inventory", "orders"} {
		t, err := tracing.New(ctx, cfg.TraceExporter, name, cfg.TraceWriter)
		if err != nil {
			return nil, err
		}
		trc[name] = t
		closers = append(closers, func() error { return t.Shutdown(context.Background()) })
	}
	var authOpts []interceptors.Option
	if cfg.PublicReflection {
		authOpts = append(authOpts, interceptors.WithPublicReflection())
	}
	invSrv, err := serving.NewServiceServer(invVerifier, invSvc.Register, serving.ServerConfig{Transport: tr, Log: log.With("service", "inventory"), AccessLog: cfg.AccessLog,
		Metrics: met["inventory"], Tracing: trc["inventory"], AuthOptions: authOpts})
	if err != nil {
		return nil, err
	}

	ordVerifier, err := serving.NewVerifier([]verify.Issuer{{Issuer: issuerURL, Audiences: []string{orders.Audience}}}, tr, log.With("service", "orders"))
	if err != nil {
		return nil, err
	}
	own, _ := info.Client(OrdersServiceClient)
	invConn, err := serving.Dial(callcreds.Config{TokenURL: info.TokenEndpoint, ClientID: own.ClientID, ClientSecret: own.ClientSecret,
		Audience: inventory.Audience, Scopes: orders.InventoryScopes}, info.Services["inventory"], tr, met["orders"],
		trc["orders"].DialOptions()...)
	if err != nil {
		return nil, err
	}
	ordSvc := orders.New(ordStore, inventoryv1.NewInventoryServiceClient(invConn), log.With("service", "orders"))
	ordSrv, err := serving.NewServiceServer(ordVerifier, ordSvc.Register, serving.ServerConfig{Transport: tr, Log: log.With("service", "orders"), AccessLog: cfg.AccessLog,
		Metrics: met["orders"], Tracing: trc["orders"], AuthOptions: authOpts})
	if err != nil {
		return nil, err
	}

	doc, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := securefile.Write(infoPath, doc); err != nil {
		return nil, err
	}

	g, gctx := errgroup.WithContext(ctx)
	ready := map[string]func(context.Context) error{"issuer": iss.Ready, "inventory": invVerifier.Ready, "orders": ordVerifier.Ready}
	for name, l := range admin {
		g.Go(func() error {
			return serving.ServeHTTP(gctx, log, name+" admin", l, serving.NewHTTPServer(serving.AdminHandler(met[name].Handler(), ready[name]), log.With("service", name)))
		})
	}
	g.Go(func() error { iss.Watch(gctx, issuer.WatchInterval); return nil })
	g.Go(func() error { iss.RunKeyRotation(gctx, time.Minute); return nil })
	interval := cfg.ReconcileInterval
	if interval <= 0 {
		interval = 30 * time.Second
	}
	g.Go(func() error { ordSvc.RunReconciler(gctx, interval, nil); return nil })
	issuerLis := lis[0]
	if tr.ServerTLS != nil {
		issuerLis = tls.NewListener(issuerLis, tr.ServerTLS)
	}
	g.Go(func() error {
		return serving.ServeHTTP(gctx, log, "issuer", issuerLis, serving.NewHTTPServer(iss.Handler(), log.With("service", "issuer")))
	})
	g.Go(func() error { return serving.ServeGRPC(gctx, log, "inventory", lis[1], invSrv, invSvc.Close) })
	g.Go(func() error { return serving.ServeGRPC(gctx, log, "orders", lis[2], ordSrv, nil) })
	g.Go(func() error {
		<-gctx.Done()
		invVerifier.Close()
		ordVerifier.Close()
		return invConn.Close()
	})
	dev := &Dev{Info: info, InfoPath: infoPath, Orders: ordSvc, group: g, closers: closers}
	closers = nil // owned by dev now
	return dev, nil
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
