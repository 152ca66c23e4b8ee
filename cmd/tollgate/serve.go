package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
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
	"github.com/tollgate-rpc/tollgate/internal/trust"
	"github.com/tollgate-rpc/tollgate/services/inventory"
	"github.com/tollgate-rpc/tollgate/services/issuer"
	"github.com/tollgate-rpc/tollgate/services/orders"
	"golang.org/x/oauth2"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
)

func runIssuer(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "keys" {
		return runIssuerKeys(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "migrate" {
		return runIssuerMigrate(ctx, args[1:], stdout, stderr)
	}
	f := newFlags("issuer", stdout, stderr)
	addr := f.String("addr", "127.0.0.1:8400", "listen address")
	issuerURL := f.String("issuer-url", "", "issuer URL put in tokens and discovery (default http(s)://<addr>)")
	openStore := f.storeFlags("directory for keys.json, clients.json and assertions.db")
	alg := f.String("algorithm", "ES256", "signing algorithm for new keys: ES256, RS256 or EdDSA")
	maxAge := f.Duration("jwks-max-age", issuer.DefaultJWKSMaxAge, "JWKS Cache-Control max-age; new keys are published twice this long before use")
	rotation := f.Duration("key-rotation", issuer.DefaultRotationInterval, "signing key rotation interval (negative: never)")
	adminAddr := f.String("admin-addr", "", "admin listener for /metrics (empty: none)")
	advertise := f.String("advertise-scopes", "", "space-separated scopes that discovery lists in scopes_supported (default: none)")
	transport := f.transportFlags()
	newLogger := f.logFlags()
	if err := f.parse(args); err != nil {
		return err
	}
	log, err := newLogger(stderr)
	if err != nil {
		return err
	}
	log = log.With("service", "issuer") // TLS handshake warnings included
	warnIfVulnerableGo(log)
	tr, lis, err := transport(*addr)
	if err != nil {
		return err
	}
	url := *issuerURL
	if url == "" {
		url = tr.Scheme() + "://" + lis.Addr().String()
	}
	m := metrics.New()
	store, err := openStore(ctx)
	if err != nil {
		lis.Close()
		return err
	}
	defer store.Close()
	iss, err := issuer.New(issuer.Config{Issuer: url, Store: store, Algorithm: jwa.SignatureAlgorithm(*alg),
		JWKSMaxAge: *maxAge, RotationInterval: *rotation, AdvertiseScopes: strings.Fields(*advertise),
		Logger: log, Observe: func(e issuer.TokenEvent) { m.TokenRequest(e.ClientID, e.Outcome, e.Duration) }})
	if err != nil {
		lis.Close()
		return err
	}
	defer iss.Close()
	m.WatchKeySchedule(iss.KeyTimes)
	go iss.Watch(ctx, issuer.WatchInterval)
	go iss.RunKeyRotation(ctx, time.Minute)
	if tr.ServerTLS != nil {
		lis = tls.NewListener(lis, tr.ServerTLS)
	}
	return withAdmin(ctx, log, *adminAddr, m, iss.Ready, func(ctx context.Context) error {
		return serving.ServeHTTP(ctx, log, "issuer", lis, serving.NewHTTPServer(iss.Handler(), log))
	})
}

// runIssuerKeys handles `tollgate issuer keys rotate`: it rolls a new key
// into the key file; a running issuer picks it up within seconds.
func runIssuerKeys(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const keysUsage = "usage: tollgate issuer keys rotate [--data-dir d | --database-url u] [--algorithm a] [--jwks-max-age d]"
	if len(args) > 0 && (helpAsked(args[:1]) || args[0] == "help") {
		_, err := fmt.Fprintln(stdout, keysUsage)
		return err
	}
	if len(args) == 0 || args[0] != "rotate" {
		return fmt.Errorf("%w: %s", errUsage, keysUsage)
	}
	f := newFlags("issuer keys rotate", stdout, stderr)
	openStore := f.storeFlags("issuer data directory")
	alg := f.String("algorithm", "ES256", "algorithm of the new key")
	maxAge := f.Duration("jwks-max-age", issuer.DefaultJWKSMaxAge, "the issuer's JWKS max-age; the key signs after twice this")
	if err := f.parse(args[1:]); err != nil {
		return err
	}
	now := time.Now()
	store, err := openStore(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	ks, err := issuer.OpenKeyStore(ctx, store, jwa.SignatureAlgorithm(*alg), now)
	if err != nil {
		return err
	}
	ahead := issuer.Config{JWKSMaxAge: *maxAge}.PublishAhead()
	kid, err := ks.Rotate(ctx, now, ahead, issuer.KeyRetention)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "new key %s published; it signs from %s\n", kid, now.Add(ahead).UTC().Format(time.RFC3339))
	return err
}

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
	})
}

func runInventory(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newFlags("inventory", stdout, stderr)
	s := serviceFlags(f, "inventory", "127.0.0.1:8401", inventory.Audience)
	if err := f.parse(args); err != nil {
		return err
	}
	defer s.close()
	if err := s.start(ctx, stdout, stderr, nil); err != nil {
		return err
	}
	var store *inventory.SQLStore
	dbURL, err := s.database.URL()
	if err != nil {
		return err
	}
	if dbURL != "" {
		store, err = inventory.OpenPostgres(ctx, dbURL, *s.database.schema)
	} else {
		store, err = inventory.OpenSQLite(ctx, filepath.Join(*s.dataDir, "inventory.db"))
	}
	if err != nil {
		return err
	}
	defer store.Close()
	store.SetTimeout(*s.databaseTimeout)
	if err := inventory.SeedDemo(ctx, store); err != nil {
		return err
	}
	svc := inventory.New(store, s.log)
	return s.serve(ctx, svc.Register, svc.Close, store.Ready)
}

func runOrders(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newFlags("orders", stdout, stderr)
	s := serviceFlags(f, "orders", "127.0.0.1:8402", orders.Audience)
	inventoryAddr := f.String("inventory-addr", "127.0.0.1:8401", "address of the inventory service")
	tokenURL := f.String("token-url", "", "token endpoint for the service's own client (default: found by discovery from the one trusted issuer)")
	clientID := f.String("client-id", "orders-service", "the orders service's own client ID")
	secretFile := f.String("client-secret-file", "", "file holding the service's client secret (or the TOLLGATE_CLIENT_SECRET variable)")
	invAudience := f.String("inventory-audience", inventory.Audience, "audience orders asks for to call inventory (with Auth0, the inventory API's identifier)")
	invScopes := f.String("token-scopes", strings.Join(orders.InventoryScopes, " "), "space-separated scopes orders asks for to call inventory")
	audParam := f.String("audience-param", "audience", "how the audience is sent: audience, resource, both or none")
	clientAuth := f.String("client-auth", "basic", "client authentication: basic (client_secret_basic) or post (client_secret_post)")
	reconcile := f.Duration("reconcile-interval", 30*time.Second, "how often open orders are reconciled against inventory")
	if err := f.parse(args); err != nil {
		return err
	}
	cfg := callcreds.Config{TokenURL: *tokenURL, ClientID: *clientID, Audience: *invAudience, Scopes: strings.Fields(*invScopes)}
	ap, err := callcreds.ParseAudienceParam(*audParam)
	if err != nil {
		return fmt.Errorf("%w: --audience-param: %v", errUsage, err)
	}
	cfg.AudienceParam = ap
	if cfg.AuthStyle, err = parseClientAuth(*clientAuth); err != nil {
		return err
	}
	defer s.close()
	sends := func(tr transport.Transport) error {
		if err := tr.CheckDial("--inventory-addr", *inventoryAddr); err != nil {
			return err
		}
		if cfg.TokenURL != "" {
			return tr.CheckURL("--token-url", cfg.TokenURL)
		}
		return nil
	}
	if err := s.start(ctx, stdout, stderr, sends); err != nil {
		return err
	}
	if cfg.ClientSecret, err = clientSecret(*secretFile); err != nil {
		return err
	}
	if cfg.TokenURL == "" {
		if len(s.issuers) != 1 {
			return fmt.Errorf("%w: %d issuers are trusted: --token-url says which one orders gets its own tokens from", errUsage, len(s.issuers))
		}
		if cfg.TokenURL, err = callcreds.Discover(ctx, s.tr.HTTPClient(), s.issuers[0].Issuer); err != nil {
			return fmt.Errorf("find the token endpoint (or give --token-url): %w", err)
		}
	}
	dialOpts := append(s.tracing.DialOptions(), grpc.WithDefaultServiceConfig(orders.InventoryServiceConfig))
	conn, err := serving.Dial(cfg, *inventoryAddr, s.tr, s.metrics, dialOpts...)
	if errors.Is(err, transport.ErrRemotePlaintext) { // a discovered token endpoint
		return fmt.Errorf("%w: %v", errUsage, err)
	} else if err != nil {
		return err
	}
	defer conn.Close()
	var store *orders.SQLStore
	dbURL, err := s.database.URL()
	if err != nil {
		return err
	}
	if dbURL != "" {
		store, err = orders.OpenPostgres(ctx, dbURL, *s.database.schema)
	} else {
		store, err = orders.OpenSQLite(ctx, filepath.Join(*s.dataDir, "orders.db"))
	}
	if err != nil {
		return err
	}
	defer store.Close()
	store.SetTimeout(*s.databaseTimeout)
	svc := orders.New(store, inventoryv1.NewInventoryServiceClient(conn), s.log)
	go svc.RunReconciler(ctx, *reconcile, func(r orders.ReconcileResult) {
		s.metrics.ReconcilePass(r.Confirmed, r.Restored, r.Failed, r.Abandoned, r.Pending, r.Backlog)
	})
	return s.serve(ctx, svc.Register, nil, store.Ready, serving.ConnReady(conn, *inventoryAddr))
}

// clientSecret reads a client secret from file, or else from the
// TOLLGATE_CLIENT_SECRET variable; never from a flag, which every user of
// the machine could read in the process list.
func clientSecret(file string) (string, error) {
	if file != "" {
		secret, err := securefile.Read(file)
		if err != nil {
			return "", fmt.Errorf("read client secret: %w", err)
		}
		return strings.TrimSpace(string(secret)), nil
	}
	if v := os.Getenv("TOLLGATE_CLIENT_SECRET"); v != "" {
		return v, nil
	}
	return "", fmt.Errorf("%w: --client-secret-file (or TOLLGATE_CLIENT_SECRET_FILE, or TOLLGATE_CLIENT_SECRET) is required", errUsage)
}

// parseClientAuth reads --client-auth.
func parseClientAuth(v string) (oauth2.AuthStyle, error) {
	switch v {
	case "basic":
		return oauth2.AuthStyleInHeader, nil
	case "post":
		return oauth2.AuthStyleInParams, nil
	}
	return 0, fmt.Errorf("%w: --client-auth %q: use basic or post", errUsage, v)
}

// trustFlags adds the flags that say which issuers a service trusts: one by
// flags, or several in a trust file; the returned function resolves them.
func (f flags) trustFlags(audience string) func() ([]verify.Issuer, error) {
	issuerURL := f.String("issuer-url", "", "URL of the trusted token issuer, its exact iss (this or --trust-file is required)")
	audiences := f.String("audience", audience, "audiences tokens may name, comma-separated")
	jwksURL := f.String("jwks-url", "", "the issuer's JWKS URL (default: found by discovery)")
	profile := f.String("issuer-profile", "tollgate", "how the issuer shapes tokens: "+strings.Join(verify.ProfileNames(), ", "))
	allowJWT := f.Bool("allow-jwt-type", false, "also accept header typ JWT (default: the profile's)")
	scopeClaims := f.String("scope-claims", "", "claims carrying scopes, comma-separated, such as scope,permissions (default: the profile's)")
	clientIDClaims := f.String("client-id-claims", "", "claims naming the client, comma-separated, first present wins (default: the profile's)")
	trustFile := f.String("trust-file", "", "YAML file listing the trusted issuers (issuers: [{issuer, audiences, profile, …}])")
	return func() ([]verify.Issuer, error) {
		if *trustFile != "" {
			for _, name := range []string{"issuer-url", "jwks-url", "issuer-profile", "allow-jwt-type", "scope-claims", "client-id-claims"} {
				if f.given(name) {
					return nil, fmt.Errorf("%w: --trust-file and --%s together; put the issuer's settings in the file", errUsage, name)
				}
			}
			return trust.Load(*trustFile)
		}
		if *issuerURL == "" {
			return nil, fmt.Errorf("%w: --issuer-url (or TOLLGATE_ISSUER_URL) or --trust-file is required", errUsage)
		}
		spec := trust.Spec{Issuer: *issuerURL, JWKSURL: *jwksURL, Audiences: trust.SplitList(*audiences), Profile: *profile,
			ScopeClaims: trust.SplitList(*scopeClaims), ClientIDClaims: trust.SplitList(*clientIDClaims)}
		if f.given("allow-jwt-type") {
			spec.AllowJWTType = allowJWT
		}
		is, err := spec.Resolve()
		if err != nil {
			return nil, fmt.Errorf("%w: %v", errUsage, err)
		}
		return []verify.Issuer{is}, nil
	}
}

// transportFlags adds --tls-cert, --tls-key, --ca-file and
// --allow-plaintext, and returns a function that opens the listen address
// and builds the process's Transport. With a certificate the process serves
// TLS and dials TLS; without one it runs plaintext both ways, which is
// allowed on loopback and elsewhere only with --allow-plaintext.
func (f flags) transportFlags() func(addr string) (transport.Transport, net.Listener, error) {
	certFile := f.String("tls-cert", "", "TLS certificate chain to serve with (PEM)")
	keyFile := f.String("tls-key", "", "TLS private key (PEM)")
	caFile := f.String("ca-file", "", "CA bundle to trust when calling the issuer and other services (default: system roots)")
	allowPlaintext := f.Bool("allow-plaintext", false, "serve and call without TLS on a non-loopback address")
	maxConns := f.Int("max-connections", transport.DefaultMaxConnections, "connections served at once; more wait until one closes")
	return func(addr string) (transport.Transport, net.Listener, error) {
		var tr transport.Transport
		if *maxConns < 1 {
			return tr, nil, fmt.Errorf("%w: --max-connections %d: at least 1", errUsage, *maxConns)
		}
		if (*certFile == "") != (*keyFile == "") {
			return tr, nil, fmt.Errorf("%w: --tls-cert and --tls-key go together", errUsage)
		}
		if *certFile != "" {
			cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
			if err != nil {
				return tr, nil, fmt.Errorf("load TLS certificate: %w", err)
			}
			tr.ServerTLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		} else {
			tr.Plaintext = true
		}
		tr.RemotePlaintext = *allowPlaintext
		if *caFile != "" {
			pool, err := devtls.LoadPool(*caFile)
			if err != nil {
				return tr, nil, fmt.Errorf("--ca-file: %w", err)
			}
			tr.RootCAs = pool
		}
		loopback, err := transport.IsLoopback(addr)
		if err != nil {
			return tr, nil, fmt.Errorf("%w: %v", errUsage, err)
		}
		if tr.Plaintext && !loopback && !*allowPlaintext {
			return tr, nil, fmt.Errorf("%w: refusing to serve without TLS on non-loopback address %q; give --tls-cert and --tls-key, or --allow-plaintext to insist", errUsage, addr)
		}
		lis, err := net.Listen("tcp", addr)
		if err != nil {
			return tr, nil, fmt.Errorf("listen %s: %w", addr, err)
		}
		return tr, transport.LimitConnections(lis, *maxConns), nil
	}
}

func reflectionOpts(public bool) []interceptors.Option {
	if public {
		return []interceptors.Option{interceptors.WithPublicReflection()}
	}
	return nil
}

// verifierFlags adds the token verifier's tunables.
func (f flags) verifierFlags() func() ([]verify.Option, error) {
	skew := f.Duration("clock-skew", 60*time.Second, fmt.Sprintf("allowed clock difference for exp, nbf and iat (0 to %s)", verify.MaxClockSkew))
	minRefresh := f.Duration("jwks-min-refresh", 30*time.Second, "shortest JWKS refresh interval, whatever the issuer's Cache-Control says")
	maxRefresh := f.Duration("jwks-max-refresh", time.Hour, "longest JWKS refresh interval")
	fetchTimeout := f.Duration("jwks-fetch-timeout", 10*time.Second, "give up on a discovery or JWKS fetch after this long")
	cooldown := f.Duration("jwks-unknown-kid-cooldown", 30*time.Second, "a token with an unknown kid refetches the JWKS at most this often")
	return func() ([]verify.Option, error) {
		if *skew < 0 || *skew > verify.MaxClockSkew {
			return nil, fmt.Errorf("%w: --clock-skew %s: between 0 and %s", errUsage, *skew, verify.MaxClockSkew)
		}
		return []verify.Option{verify.WithClockSkew(*skew), verify.WithRefreshBounds(*minRefresh, *maxRefresh),
			verify.WithFetchTimeout(*fetchTimeout), verify.WithUnknownKidCooldown(*cooldown)}, nil
	}
}

// withAdmin runs serve, plus the admin listener for m's /metrics when addr
// is set; both stop together.
func withAdmin(ctx context.Context, log *slog.Logger, addr string, m *metrics.Metrics, ready func(context.Context) error, serve func(context.Context) error) error {
	lis, err := serving.ListenAdmin(addr, log)
	if err != nil {
		return err
	}
	if lis == nil {
		return serve(ctx)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		return serving.ServeHTTP(gctx, log, "admin", lis, serving.NewHTTPServer(serving.AdminHandler(m.Handler(), ready), log))
	})
	g.Go(func() error { return serve(gctx) })
	return g.Wait()
}
