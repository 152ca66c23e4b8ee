package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	inventoryv1 "github.com/tollgate-rpc/tollgate/gen/go/tollgate/inventory/v1"
	"github.com/tollgate-rpc/tollgate/interceptors/callcreds"
	"github.com/tollgate-rpc/tollgate/internal/app/serving"
	"github.com/tollgate-rpc/tollgate/internal/app/transport"
	"github.com/tollgate-rpc/tollgate/internal/securefile"
	"github.com/tollgate-rpc/tollgate/services/inventory"
	"github.com/tollgate-rpc/tollgate/services/orders"
	"google.golang.org/grpc"
)

// runOrders runs the orders service, which calls inventory with its own
// client's tokens.
func runOrders(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newFlags("orders", stdout, stderr)
	s := serviceFlags(f, "orders", "127.0.0.1:8402", orders.Audience)
	inventoryAddr := f.String("inventory-addr", "127.0.0.1:8401", "address of the inventory service")
	tokenURL := f.String("token-url", "", "token endpoint for the service's own client (default: found by discovery from the one trusted issuer)")
	clientID := f.String("client-id", "orders-service", "the orders service's own client ID")
	secretFile := f.String("client-secret-file", "", "file holding the service's client secret (or the TOLLGATE_CLIENT_SECRET variable)")
	invAudience := f.String("inventory-audience", inventory.Audience, "audience orders asks for to call inventory (with Auth0, the inventory API's identifier)")
	invScopes := f.String("token-scopes", strings.Join(orders.InventoryScopes, " "), "space-separated scopes orders asks for to call inventory")
	asCaller := f.callerFlags()
	reconcile := f.Duration("reconcile-interval", 30*time.Second, "how often open orders are reconciled against inventory")
	if err := f.parse(args); err != nil {
		return err
	}
	cfg := callcreds.Config{TokenURL: *tokenURL, ClientID: *clientID, Audience: *invAudience, Scopes: strings.Fields(*invScopes)}
	err := asCaller(&cfg)
	if err != nil {
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
		// Found by discovery at the first token request, not here: orders
		// starts, not ready, while its issuer is down, as inventory does.
		cfg.Issuer = s.issuers[0].Issuer
		s.log.Info("the token endpoint is found by discovery under the trusted issuer when first needed (--token-url names it instead)",
			slog.String("issuer", cfg.Issuer))
	}
	dialOpts := append(s.tracing.DialOptions(), grpc.WithDefaultServiceConfig(orders.InventoryServiceConfig))
	conn, src, err := serving.Dial(cfg, *inventoryAddr, s.tr, s.metrics, dialOpts...)
	if err != nil {
		return err
	}
	defer conn.Close()
	store, err := openStore(ctx, s, "orders.db", orders.OpenPostgres, orders.OpenSQLite)
	if err != nil {
		return err
	}
	defer store.Close()
	svc := orders.New(store, inventoryv1.NewInventoryServiceClient(conn), s.log)
	go svc.RunReconciler(ctx, *reconcile, func(r orders.ReconcileResult) {
		s.metrics.ReconcilePass(r.Confirmed, r.Restored, r.Failed, r.Abandoned, r.Pending, r.Backlog)
	})
	return s.serve(ctx, svc.Register, nil, store.Ready, serving.TokenReady(src), serving.ConnReady(conn, *inventoryAddr))
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
