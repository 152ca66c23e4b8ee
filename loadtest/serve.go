package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"

	inventoryv1 "github.com/tollgate-rpc/tollgate/gen/go/tollgate/inventory/v1"
	"github.com/tollgate-rpc/tollgate/interceptors/callcreds"
	"github.com/tollgate-rpc/tollgate/internal/app/devsuite"
	"github.com/tollgate-rpc/tollgate/internal/app/metrics"
	"github.com/tollgate-rpc/tollgate/internal/app/serving"
	"github.com/tollgate-rpc/tollgate/internal/devtls"
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
	Dev       *devsuite.Info  `json:"dev,omitempty"`
	Issuer    *issuerEndpoint `json:"issuer,omitempty"`
}

type issuerEndpoint struct {
	TokenURL     string `json:"token_url"`
	CAFile       string `json:"ca_file"`
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	// KeyedClientID authenticates with private_key_jwt, signing with
	// KeyedClientKey (a private JWK).
	KeyedClientID  string          `json:"keyed_client_id"`
	KeyedClientKey json.RawMessage `json:"keyed_client_key"`
}

// stock is large enough that no load run sells out.
const stock = 1_000_000_000

func serve(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	mode := fs.String("mode", "auth", "auth (issuer, inventory and orders with Tollgate auth), baseline (the same services without Tollgate), observability (baseline plus Tollgate's RPC metrics), issuer, or bare-issuer (the reference token endpoint)")
	useTLS := fs.Bool("tls", false, "issuer mode: serve HTTPS")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of this process to this file until it stops")
	dataDir := fs.String("data-dir", "", "directory for keys and clients (default: a temporary one)")
	dbURL := fs.String("database-url", "", "issuer mode: keep the issuer's state in this PostgreSQL database (in a schema of its own, dropped at exit) instead of the data directory")
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
		return serveBaseline(ctx, false)
	case "observability":
		return serveBaseline(ctx, true)
	case "bare-issuer":
		return serveBareIssuer(ctx)
	case "issuer":
		return serveIssuer(ctx, *dataDir, *dbURL, *useTLS)
	}
	return fmt.Errorf("unknown mode %q", *mode)
}

func announce(s served) error { return json.NewEncoder(os.Stdout).Encode(s) }

// serveAuth runs the dev suite's exact wiring, in memory and plaintext so
// that the comparison isolates auth from storage and TLS costs.
func serveAuth(ctx context.Context, dataDir string) error {
	dev, err := devsuite.Start(ctx, devsuite.Config{DataDir: dataDir, IssuerAddr: "127.0.0.1:0",
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
func addStock(addr string, dev *devsuite.Dev) error {
	src, err := tokenSource(&dev.Info, inventory.Audience)
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
// same recovery interceptor but no auth at all; with observe, plus the RPC
// metrics every Tollgate service records (the access log is written by the
// auth interceptors, so it counts as auth).
func serveBaseline(ctx context.Context, observe bool) error {
	opts := serving.RecoveryOptions(slog.New(slog.DiscardHandler))
	var met *metrics.Metrics
	if observe {
		met = metrics.New()
		opts = append(opts, met.ServerOptions()...)
	}
	newServer := func() *serving.GRPCServer {
		return &serving.GRPCServer{Server: grpc.NewServer(opts...), Health: health.NewServer()}
	}
	log := slog.New(slog.DiscardHandler)
	invStore := inventory.NewMemoryStore()
	if err := inventory.SeedDemo(ctx, invStore); err != nil {
		return err
	}
	if _, err := invStore.Adjust(ctx, "widget-1", "", stock); err != nil {
		return err
	}
	invSvc := inventory.New(invStore, log)
	invSrv := newServer()
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
	ordSrv := newServer()
	ordSvc.Register(ordSrv)
	healthpb.RegisterHealthServer(ordSrv, ordSrv.Health)
	if met != nil {
		met.InitializeRPC(invSrv.Server)
		met.InitializeRPC(ordSrv.Server)
	}
	ordLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	if err := announce(served{Inventory: invLis.Addr().String(), Orders: ordLis.Addr().String()}); err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return serving.ServeGRPC(gctx, log, "inventory", invLis, invSrv, invSvc.Close) })
	g.Go(func() error { return serving.ServeGRPC(gctx, log, "orders", ordLis, ordSrv, nil) })
	return g.Wait()
}

// serveIssuer runs the token issuer alone with two clients (one with a
// secret, one with private_key_jwt), over HTTP or HTTPS, keeping its state
// in dataDir or, given dbURL, in a PostgreSQL schema of its own.
func serveIssuer(ctx context.Context, dataDir, dbURL string, useTLS bool) error {
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
	store, drop, err := openStore(ctx, dataDir, dbURL)
	if err != nil {
		return err
	}
	defer drop()
	url := scheme + "://" + lis.Addr().String()
	iss, err := issuer.New(issuer.Config{Issuer: url, Store: store, Logger: log})
	if err != nil {
		return err
	}
	defer iss.Close()
	secret, err := issuer.NewSecret()
	if err != nil {
		return err
	}
	priv, pubSet, err := clientKey()
	if err != nil {
		return err
	}
	if err := iss.Clients().Update(ctx, func(m map[string]*issuer.Client) error {
		for _, c := range []*issuer.Client{
			{ID: "load", SecretHashes: []string{issuer.HashSecret(secret)}},
			{ID: "load-keyed", JWKS: pubSet},
		} {
			c.Name = c.ID
			c.AllowedScopes, c.DefaultScopes = []string{"inventory.read"}, []string{"inventory.read"}
			c.AllowedAudiences, c.DefaultAudiences = []string{"inventory"}, []string{"inventory"}
			m[c.ID] = c
		}
		return nil
	}); err != nil {
		return err
	}
	if err := announce(served{Issuer: &issuerEndpoint{TokenURL: iss.TokenEndpoint(), CAFile: caFile,
		ClientID: "load", ClientSecret: secret, KeyedClientID: "load-keyed", KeyedClientKey: priv}}); err != nil {
		return err
	}
	return serving.ServeHTTP(ctx, log, "issuer", lis, serving.NewIssuerServer(iss, log))
}

// openStore opens the issuer's store: the data directory, or a fresh
// schema in the PostgreSQL database at dbURL, which drop removes.
func openStore(ctx context.Context, dataDir, dbURL string) (store issuer.Store, drop func(), err error) {
	if dbURL == "" {
		return issuer.OpenDir(dataDir), func() {}, nil
	}
	kekText, err := issuer.NewSecret()
	if err != nil {
		return nil, nil, err
	}
	kek, err := issuer.ParseKeyEncryptionKeys(kekText)
	if err != nil {
		return nil, nil, err
	}
	schema := fmt.Sprintf("loadtest_%d", os.Getpid())
	drop = func() { dropSchema(dbURL, schema) }
	pg, err := issuer.OpenPG(ctx, dbURL, schema, kek)
	if err != nil {
		drop()
		return nil, nil, err
	}
	return pg, drop, nil
}

func dropSchema(dbURL, schema string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadtest: drop schema:", err)
		return
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest: drop schema:", err)
	}
}

// clientKey makes a P-256 key for private_key_jwt: the private JWK (for
// the load generator) and the public JWK set (for the client record).
func clientKey() (priv, pubSet []byte, err error) {
	raw, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	key, err := jwk.FromRaw(raw)
	if err != nil {
		return nil, nil, err
	}
	if err := key.Set(jwk.KeyIDKey, "load"); err != nil {
		return nil, nil, err
	}
	if err := key.Set(jwk.AlgorithmKey, jwa.ES256); err != nil {
		return nil, nil, err
	}
	pub, err := key.PublicKey()
	if err != nil {
		return nil, nil, err
	}
	set := jwk.NewSet()
	if err := set.AddKey(pub); err != nil {
		return nil, nil, err
	}
	if priv, err = json.Marshal(key); err != nil {
		return nil, nil, err
	}
	pubSet, err = json.Marshal(set)
	return priv, pubSet, err
}

// serveBareIssuer is the reference the issuer is measured against: a token
// endpoint that does only what any must — check Basic credentials against
// one in-memory client, sign an RFC 9068 ES256 token with the standard
// library, write the JSON response — with none of Tollgate's parsing,
// policy, throttling or observability.
func serveBareIssuer(ctx context.Context) error {
	log := slog.New(slog.DiscardHandler)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	secret, err := issuer.NewSecret()
	if err != nil {
		return err
	}
	want := sha256.Sum256([]byte(secret))
	url := "http://" + lis.Addr().String()
	header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"ES256","kid":"bare","typ":"at+jwt"}`))
	mux := http.NewServeMux()
	mux.HandleFunc("POST /oauth/token", func(w http.ResponseWriter, r *http.Request) {
		id, sec, ok := r.BasicAuth()
		got := sha256.Sum256([]byte(sec))
		if !ok || id != "load" || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
			return
		}
		now := time.Now().Unix()
		jti := make([]byte, 16)
		_, _ = rand.Read(jti)
		payload, _ := json.Marshal(map[string]any{"iss": url, "sub": id, "aud": []string{"inventory"}, "iat": now, "nbf": now,
			"exp": now + 900, "jti": base64.RawURLEncoding.EncodeToString(jti), "client_id": id, "scope": "inventory.read"})
		input := header + "." + base64.RawURLEncoding.EncodeToString(payload)
		digest := sha256.Sum256([]byte(input))
		rr, ss, err := ecdsa.Sign(rand.Reader, key, digest[:])
		if err != nil {
			http.Error(w, `{"error":"server_error"}`, http.StatusInternalServerError)
			return
		}
		sig := make([]byte, 64)
		rr.FillBytes(sig[:32])
		ss.FillBytes(sig[32:])
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": input + "." + base64.RawURLEncoding.EncodeToString(sig),
			"token_type": "Bearer", "expires_in": 900, "scope": "inventory.read"})
	})
	if err := announce(served{Issuer: &issuerEndpoint{TokenURL: url + "/oauth/token", ClientID: "load", ClientSecret: secret}}); err != nil {
		return err
	}
	return serving.ServeHTTP(ctx, log, "bare-issuer", lis, serving.NewHTTPServer(mux, log))
}
