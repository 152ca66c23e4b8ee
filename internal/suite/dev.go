package suite

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"time"

	inventoryv1 "github.com/tollgate-rpc/tollgate/gen/go/tollgate/inventory/v1"
	"github.com/tollgate-rpc/tollgate/interceptors/callcreds"
	"github.com/tollgate-rpc/tollgate/internal/securefile"
	"github.com/tollgate-rpc/tollgate/services/inventory"
	"github.com/tollgate-rpc/tollgate/services/issuer"
	"github.com/tollgate-rpc/tollgate/services/orders"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// DevConfig configures a local suite.
type DevConfig struct {
	DataDir       string
	IssuerAddr    string // host:port; port 0 picks a free one
	InventoryAddr string
	OrdersAddr    string
	Logger        *slog.Logger
}

// Dev is a running local suite: issuer, inventory and orders in one process.
type Dev struct {
	Info     DevInfo
	InfoPath string

	group *errgroup.Group
}

// StartDev starts the suite on loopback listeners, registers the dev clients
// and writes <data-dir>/dev.json. It runs until ctx ends; Wait returns after
// every server has stopped.
func StartDev(ctx context.Context, cfg DevConfig) (_ *Dev, err error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var lis [3]net.Listener
	defer func() {
		if err != nil {
			for _, l := range lis {
				if l != nil {
					l.Close()
				}
			}
		}
	}()
	for i, addr := range []string{cfg.IssuerAddr, cfg.InventoryAddr, cfg.OrdersAddr} {
		if lis[i], err = listenLoopback(addr); err != nil {
			return nil, err
		}
	}
	issuerURL := "http://" + lis[0].Addr().String()
	iss, err := issuer.New(issuer.Config{Issuer: issuerURL, DataDir: cfg.DataDir, Logger: log.With("service", "issuer")})
	if err != nil {
		return nil, err
	}
	infoPath := filepath.Join(cfg.DataDir, "dev.json")
	prev, err := readPreviousDevInfo(infoPath)
	if err != nil {
		return nil, err
	}
	clients, err := ensureDevClients(iss.Clients(), prev, time.Now())
	if err != nil {
		return nil, fmt.Errorf("register dev clients: %w", err)
	}
	info := DevInfo{
		Issuer:        issuerURL,
		TokenEndpoint: iss.TokenEndpoint(),
		JWKSURI:       iss.JWKSURI(),
		Services: map[string]string{
			"inventory": lis[1].Addr().String(),
			"orders":    lis[2].Addr().String(),
		},
		Clients: clients,
	}

	invVerifier, err := NewVerifier(issuerURL, InventoryAudience, log.With("service", "inventory"))
	if err != nil {
		return nil, err
	}
	invStore := inventory.NewMemoryStore()
	if err := SeedInventory(invStore); err != nil {
		return nil, err
	}
	invSvc := inventory.New(invStore, log.With("service", "inventory"))
	invSrv, err := NewInventoryServer(invVerifier, invSvc)
	if err != nil {
		return nil, err
	}

	ordVerifier, err := NewVerifier(issuerURL, OrdersAudience, log.With("service", "orders"))
	if err != nil {
		return nil, err
	}
	own, _ := info.Client(OrdersServiceClient)
	invConn, err := DialInventory(info.TokenEndpoint, own.ClientID, own.ClientSecret, info.Services["inventory"])
	if err != nil {
		return nil, err
	}
	ordSrv, err := NewOrdersServer(ordVerifier, orders.NewMemoryStore(), inventoryv1.NewInventoryServiceClient(invConn), log.With("service", "orders"))
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
	g.Go(func() error { iss.WatchFiles(gctx, 2*time.Second); return nil })
	g.Go(func() error { iss.RunKeyRotation(gctx, time.Minute); return nil })
	g.Go(func() error { return ServeHTTP(gctx, log, "issuer", lis[0], NewHTTPServer(iss.Handler(), log)) })
	g.Go(func() error { return ServeGRPC(gctx, log, "inventory", lis[1], invSrv, invSvc.Close) })
	g.Go(func() error { return ServeGRPC(gctx, log, "orders", lis[2], ordSrv, nil) })
	g.Go(func() error {
		<-gctx.Done()
		invVerifier.Close()
		ordVerifier.Close()
		return invConn.Close()
	})
	return &Dev{Info: info, InfoPath: infoPath, group: g}, nil
}

// Wait blocks until every server of the suite has stopped.
func (d *Dev) Wait() error { return d.group.Wait() }

// DialInventory returns a connection to the inventory service that
// authenticates as the given client. The suite runs on loopback without TLS
// for now, so the token is allowed over plaintext.
func DialInventory(tokenURL, clientID, secret, addr string) (*grpc.ClientConn, error) {
	src, err := callcreds.NewSource(callcreds.Config{
		TokenURL: tokenURL, ClientID: clientID, ClientSecret: secret,
		Audience: InventoryAudience, Scopes: []string{"inventory.reserve"},
	})
	if err != nil {
		return nil, err
	}
	return callcreds.New(src, callcreds.AllowPlaintext()).NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
}

// listenLoopback listens on addr, refusing addresses that are not loopback:
// the dev suite serves without TLS.
func listenLoopback(addr string) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("listen address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("listen address %q: the dev suite serves plaintext and listens on loopback only", addr)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	return l, nil
}
