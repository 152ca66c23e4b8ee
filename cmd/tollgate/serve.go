package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	inventoryv1 "github.com/tollgate-rpc/tollgate/gen/go/tollgate/inventory/v1"
	"github.com/tollgate-rpc/tollgate/internal/suite"
	"github.com/tollgate-rpc/tollgate/services/inventory"
	"github.com/tollgate-rpc/tollgate/services/issuer"
	"github.com/tollgate-rpc/tollgate/services/orders"
)

func runIssuer(ctx context.Context, args []string, _, stderr io.Writer) error {
	f := newFlags("issuer", stderr)
	addr := f.String("addr", "127.0.0.1:8400", "listen address")
	issuerURL := f.String("issuer-url", "", "issuer URL put in tokens and discovery (default http://<addr>)")
	dataDir := f.String("data-dir", "data", "directory for keys.json and clients.json")
	alg := f.String("algorithm", "ES256", "signing algorithm: ES256, RS256 or EdDSA")
	plaintext := f.Bool("allow-plaintext", false, "serve without TLS on a non-loopback address")
	newLogger := f.logFlags()
	if err := f.parse(args); err != nil {
		return err
	}
	log, err := newLogger(stderr)
	if err != nil {
		return err
	}
	lis, err := listen(*addr, *plaintext)
	if err != nil {
		return err
	}
	url := *issuerURL
	if url == "" {
		url = "http://" + lis.Addr().String()
	}
	iss, err := issuer.New(issuer.Config{Issuer: url, DataDir: *dataDir, Algorithm: jwa.SignatureAlgorithm(*alg), Logger: log})
	if err != nil {
		lis.Close()
		return err
	}
	go iss.WatchFiles(ctx, 2*time.Second)
	return suite.ServeHTTP(ctx, log, "issuer", lis, suite.NewHTTPServer(iss.Handler(), log))
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
// allowPlaintext says so.
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
