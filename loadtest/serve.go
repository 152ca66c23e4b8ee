package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"runtime/pprof"

	inventoryv1 "github.com/tollgate-rpc/tollgate/gen/go/tollgate/inventory/v1"
	"github.com/tollgate-rpc/tollgate/interceptors/callcreds"
	"github.com/tollgate-rpc/tollgate/internal/devtls"
	"github.com/tollgate-rpc/tollgate/internal/suite"
	"github.com/tollgate-rpc/tollgate/services/inventory"
	"github.com/tollgate-rpc/tollgate/services/issuer"
	"github.com/tollgate-rpc/tollgate/services/orders"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// served is the JSON line a serve process prints once it listens.
type served struct {
	Inventory string          `json:"inventory,omitempty"`
	Orders    string          `json:"orders,omitempty"`
	Dev       *suite.DevInfo  `json:"dev,omitempty"`
	Issuer    *issuerEndpoint `json:"issuer,omitempty"`
}

type issuerEndpoint struct {
	TokenURL     string `json:"token_url"`
	CAFile       string `json:"ca_file"`
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
}

// stock is large enough that no load run sells out.
const stock = 1_000_000_000

func serve(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	mode := fs.String("mode", "auth", "auth (issuer, inventory and orders with Tollgate auth), baseline (the same services without auth) or issuer")
	useTLS := fs.Bool("tls", false, "issuer mode: serve HTTPS")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of this process to this file until it stops")
	dataDir := fs.String("data-dir", "", "directory for keys and clients (default: a temporary one)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dataDir == "" {
		d, err := os.MkdirTemp("", "tollgate-loadtest-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		*dataDir = d
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	switch *mode {
	case "auth":
		return serveAuth(ctx, *dataDir)
	case "baseline":
		return serveBaseline(ctx)
	case "issuer":
		return serveIssuer(ctx, *dataDir, *useTLS)
	}
	return fmt.Errorf("unknown mode %q", *mode)
}

func announce(s served) error { return json.NewEncoder(os.Stdout).Encode(s) }

// serveAuth runs the dev suite's exact wiring, in memory and plaintext so
// that the comparison isolates auth from storage and TLS costs.
func serveAuth(ctx context.Context, dataDir string) error {
	dev, err := suite.StartDev(ctx, suite.DevConfig{DataDir: dataDir, IssuerAddr: "127.0.0.1:0",
		InventoryAddr: "127.0.0.1:0", OrdersAddr: "127.0.0.1:0", Plaintext: true, InMemory: true})
	if err != nil {
		return err
	}
	if err := addStock(dev.Info.Services["inventory"], dev); err != nil {
		return err
	}
	if err := announce(served{Inventory: dev.Info.Services["inventory"], Orders: dev.Info.Services["orders"], Dev: &dev.Info}); err != nil {
		return err
	}
	return dev.Wait()
}

// addStock gives widget-1 enough stock for any run, through the real API.
func addStock(addr string, dev *suite.Dev) error {
	src, err := tokenSource(&dev.Info, suite.InventoryAudience)
	if err != nil {
		return err
	}
	conn, err := callcreds.New(src, callcreds.AllowPlaintext()).NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	_, err = inventoryv1.NewInventoryServiceClient(conn).AdjustStock(context.Background(),
		&inventoryv1.AdjustStockRequest{Sku: "widget-1", Delta: stock})
	return err
}

// serveBaseline runs the same inventory and orders implementations with the
// same recovery interceptor but no auth at all.
func serveBaseline(ctx context.Context) error {
	log := slog.New(slog.DiscardHandler)
	invStore := inventory.NewMemoryStore()
	if err := suite.SeedInventory(ctx, invStore); err != nil {
		return err
	}
	if _, err := invStore.Adjust(ctx, "widget-1", "", stock); err != nil {
		return err
	}
	invSvc := inventory.New(invStore, log)
	invSrv := &suite.GRPCServer{Server: grpc.NewServer(suite.RecoveryOptions(log)...), Health: health.NewServer()}
	invSvc.Register(invSrv)
	healthpb.RegisterHealthServer(invSrv, invSrv.Health)
	invLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	conn, err := grpc.NewClient(invLis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	ordSvc := orders.New(orders.NewMemoryStore(), inventoryv1.NewInventoryServiceClient(conn), log)
	ordSrv := &suite.GRPCServer{Server: grpc.NewServer(suite.RecoveryOptions(log)...), Health: health.NewServer()}
	ordSvc.Register(ordSrv)
	healthpb.RegisterHealthServer(ordSrv, ordSrv.Health)
	ordLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	if err := announce(served{Inventory: invLis.Addr().String(), Orders: ordLis.Addr().String()}); err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return suite.ServeGRPC(gctx, log, "inventory", invLis, invSrv, invSvc.Close) })
	g.Go(func() error { return suite.ServeGRPC(gctx, log, "orders", ordLis, ordSrv, nil) })
	return g.Wait()
}

// serveIssuer runs the token issuer alone with one client, over HTTP or
// HTTPS.
func serveIssuer(ctx context.Context, dataDir string, useTLS bool) error {
	log := slog.New(slog.DiscardHandler)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	scheme, caFile := "http", ""
	if useTLS {
		ca, err := devtls.LoadOrCreate(dataDir)
		if err != nil {
			return err
		}
		cert, err := ca.ServerCert("127.0.0.1")
		if err != nil {
			return err
		}
		lis = tls.NewListener(lis, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
		scheme, caFile = "https", ca.CertFile
	}
	url := scheme + "://" + lis.Addr().String()
	iss, err := issuer.New(issuer.Config{Issuer: url, DataDir: dataDir, Logger: log})
	if err != nil {
		return err
	}
	defer iss.Close()
	secret, err := issuer.NewSecret()
	if err != nil {
		return err
	}
	if err := iss.Clients().Update(ctx, func(m map[string]*issuer.Client) error {
		m["load"] = &issuer.Client{ID: "load", Name: "load", SecretHashes: []string{issuer.HashSecret(secret)},
			AllowedScopes: []string{"inventory.read"}, DefaultScopes: []string{"inventory.read"},
			AllowedAudiences: []string{"inventory"}, DefaultAudiences: []string{"inventory"}}
		return nil
	}); err != nil {
		return err
	}
	if err := announce(served{Issuer: &issuerEndpoint{TokenURL: iss.TokenEndpoint(), CAFile: caFile, ClientID: "load", ClientSecret: secret}}); err != nil {
		return err
	}
	return suite.ServeHTTP(ctx, log, "issuer", lis, suite.NewHTTPServer(iss.Handler(), log))
}
