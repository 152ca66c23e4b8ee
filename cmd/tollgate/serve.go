package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	inventoryv1 "github.com/tollgate-rpc/tollgate/gen/go/tollgate/inventory/v1"
	"github.com/tollgate-rpc/tollgate/internal/suite"
	"github.com/tollgate-rpc/tollgate/services/inventory"
	"github.com/tollgate-rpc/tollgate/services/issuer"
	"github.com/tollgate-rpc/tollgate/services/orders"
)

func runIssuer(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "keys" {
		return runIssuerKeys(args[1:], stdout, stderr)
	}
	f := newFlags("issuer", stderr)
	addr := f.String("addr", "127.0.0.1:8400", "listen address")
	issuerURL := f.String("issuer-url", "", "issuer URL put in tokens and discovery (default http(s)://<addr>)")
	dataDir := f.String("data-dir", "data", "directory for keys.json and clients.json")
	alg := f.String("algorithm", "ES256", "signing algorithm for new keys: ES256, RS256 or EdDSA")
	maxAge := f.Duration("jwks-max-age", issuer.DefaultJWKSMaxAge, "JWKS Cache-Control max-age; new keys are published twice this long before use")
	rotation := f.Duration("key-rotation", issuer.DefaultRotationInterval, "signing key rotation interval (negative: never)")
	tlsCert := f.String("tls-cert", "", "TLS certificate file (PEM)")
	tlsKey := f.String("tls-key", "", "TLS private key file (PEM)")
	plaintext := f.Bool("allow-plaintext", false, "serve without TLS on a non-loopback address")
	newLogger := f.logFlags()
	if err := f.parse(args); err != nil {
		return err
	}
	log, err := newLogger(stderr)
	if err != nil {
		return err
	}
	tlsCfg, err := loadServerTLS(*tlsCert, *tlsKey)
	if err != nil {
		return err
	}
	lis, err := listen(*addr, tlsCfg != nil || *plaintext)
	if err != nil {
		return err
	}
	url := *issuerURL
	if url == "" {
		url = "http://" + lis.Addr().String()
		if tlsCfg != nil {
			url = "https://" + lis.Addr().String()
		}
	}
	iss, err := issuer.New(issuer.Config{Issuer: url, DataDir: *dataDir, Algorithm: jwa.SignatureAlgorithm(*alg),
		JWKSMaxAge: *maxAge, RotationInterval: *rotation, Logger: log})
	if err != nil {
		lis.Close()
		return err
	}
	go iss.WatchFiles(ctx, 2*time.Second)
	go iss.RunKeyRotation(ctx, time.Minute)
	if tlsCfg != nil {
		lis = tls.NewListener(lis, tlsCfg)
	}
	return suite.ServeHTTP(ctx, log, "issuer", lis, suite.NewHTTPServer(iss.Handler(), log))
}

// runIssuerKeys handles `tollgate issuer keys rotate`: it rolls a new key
// into the key file; a running issuer picks it up within seconds.
func runIssuerKeys(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "rotate" {
		return fmt.Errorf("%w: tollgate issuer keys rotate [--data-dir d]", errUsage)
	}
	f := newFlags("issuer keys rotate", stderr)
	dataDir := f.String("data-dir", "data", "issuer data directory")
	alg := f.String("algorithm", "ES256", "algorithm of the new key")
	maxAge := f.Duration("jwks-max-age", issuer.DefaultJWKSMaxAge, "the issuer's JWKS max-age; the key signs after twice this")
	if err := f.parse(args[1:]); err != nil {
		return err
	}
	now := time.Now()
	ks, err := issuer.OpenKeyStore(filepath.Join(*dataDir, "keys.json"), jwa.SignatureAlgorithm(*alg), now)
	if err != nil {
		return err
	}
	ahead := issuer.Config{JWKSMaxAge: *maxAge}.PublishAhead()
	kid, err := ks.Rotate(now, ahead, issuer.KeyRetention)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "new key %s published; it signs from %s\n", kid, now.Add(ahead).UTC().Format(time.RFC3339))
	return err
}

// loadServerTLS returns a TLS config for the given files, or nil when
// neither is set.
func loadServerTLS(certFile, keyFile string) (*tls.Config, error) {
	if certFile == "" && keyFile == "" {
		return nil, nil
	}
	if certFile == "" || keyFile == "" {
		return nil, fmt.Errorf("%w: --tls-cert and --tls-key go together", errUsage)
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("load TLS certificate: %w", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

func runInventory(ctx context.Context, args []string, _, stderr io.Writer) error {
	f := newFlags("inventory", stderr)
	addr := f.String("addr", "127.0.0.1:8401", "listen address")
	issuerURL := f.String("issuer-url", "", "URL of the trusted token issuer (required)")
	audience := f.String("audience", suite.InventoryAudience, "audience tokens must name")
	plaintext := f.Bool("allow-plaintext", false, "serve without TLS on a non-loopback address")
	newLogger := f.logFlags()
	if err := f.parse(args); err != nil {
		return err
	}
	if *issuerURL == "" {
		return fmt.Errorf("%w: --issuer-url (or TOLLGATE_ISSUER_URL) is required", errUsage)
	}
	log, err := newLogger(stderr)
	if err != nil {
		return err
	}
	v, err := suite.NewVerifier(*issuerURL, *audience, log)
	if err != nil {
		return err
	}
	defer v.Close()
	store := inventory.NewMemoryStore()
	if err := suite.SeedInventory(store); err != nil {
		return err
	}
	svc := inventory.New(store, log)
	srv, err := suite.NewInventoryServer(v, svc)
	if err != nil {
		return err
	}
	lis, err := listen(*addr, *plaintext)
	if err != nil {
		return err
	}
	return suite.ServeGRPC(ctx, log, "inventory", lis, srv, svc.Close)
}

func runOrders(ctx context.Context, args []string, _, stderr io.Writer) error {
	f := newFlags("orders", stderr)
	addr := f.String("addr", "127.0.0.1:8402", "listen address")
	issuerURL := f.String("issuer-url", "", "URL of the trusted token issuer (required)")
	audience := f.String("audience", suite.OrdersAudience, "audience tokens must name")
	inventoryAddr := f.String("inventory-addr", "127.0.0.1:8401", "address of the inventory service")
	tokenURL := f.String("token-url", "", "token endpoint for the service's own client (default <issuer-url>/oauth/token)")
	clientID := f.String("client-id", "orders-service", "the orders service's own client ID")
	secretFile := f.String("client-secret-file", "", "file holding the service's client secret (required)")
	plaintext := f.Bool("allow-plaintext", false, "serve without TLS on a non-loopback address")
	newLogger := f.logFlags()
	if err := f.parse(args); err != nil {
		return err
	}
	if *issuerURL == "" || *secretFile == "" {
		return fmt.Errorf("%w: --issuer-url and --client-secret-file (or TOLLGATE_ISSUER_URL, TOLLGATE_CLIENT_SECRET_FILE) are required", errUsage)
	}
	log, err := newLogger(stderr)
	if err != nil {
		return err
	}
	secret, err := os.ReadFile(*secretFile)
	if err != nil {
		return fmt.Errorf("read client secret: %w", err)
	}
	if *tokenURL == "" {
		*tokenURL = strings.TrimSuffix(*issuerURL, "/") + "/oauth/token"
	}
	conn, err := suite.DialInventory(*tokenURL, *clientID, strings.TrimSpace(string(secret)), *inventoryAddr)
	if err != nil {
		return err
	}
	defer conn.Close()
	v, err := suite.NewVerifier(*issuerURL, *audience, log)
	if err != nil {
		return err
	}
	defer v.Close()
	srv, err := suite.NewOrdersServer(v, orders.NewMemoryStore(), inventoryv1.NewInventoryServiceClient(conn), log)
	if err != nil {
		return err
	}
	lis, err := listen(*addr, *plaintext)
	if err != nil {
		return err
	}
	return suite.ServeGRPC(ctx, log, "orders", lis, srv, nil)
}

// listen opens addr, refusing to serve plaintext beyond loopback unless
// secure (TLS will wrap it) or the operator insisted.
func listen(addr string, allowPlaintext bool) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("%w: listen address %q: %v", errUsage, addr, err)
	}
	ip := net.ParseIP(host)
	loopback := host == "localhost" || (ip != nil && ip.IsLoopback())
	if !loopback && !allowPlaintext {
		return nil, fmt.Errorf("%w: refusing to serve without TLS on non-loopback address %q; pass --allow-plaintext to insist", errUsage, addr)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	return l, nil
}
