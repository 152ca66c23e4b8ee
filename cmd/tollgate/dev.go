package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/template"
	"time"

	"github.com/tollgate-rpc/tollgate/internal/app/devsuite"
	"github.com/tollgate-rpc/tollgate/internal/app/serving"
	"github.com/tollgate-rpc/tollgate/services/issuer"
)

const defaultDataDir = ".tollgate"

func runDev(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newFlags("dev", stdout, stderr)
	dataDir := f.String("data-dir", defaultDataDir, "directory for keys, clients and dev.json")
	issuerAddr := f.String("issuer-addr", "127.0.0.1:8400", "issuer listen address (loopback; port 0 picks one)")
	inventoryAddr := f.String("inventory-addr", "127.0.0.1:8401", "inventory listen address (loopback)")
	ordersAddr := f.String("orders-addr", "127.0.0.1:8402", "orders listen address (loopback)")
	adminAddrs := map[string]*string{
		"issuer":    f.String("issuer-admin-addr", "127.0.0.1:9400", "issuer /metrics listen address (loopback; port 0 picks one)"),
		"inventory": f.String("inventory-admin-addr", "127.0.0.1:9401", "inventory /metrics listen address (loopback)"),
		"orders":    f.String("orders-admin-addr", "127.0.0.1:9402", "orders /metrics listen address (loopback)"),
	}
	reconcile := f.Duration("reconcile-interval", 30*time.Second, "how often orders reconciles open orders against inventory")
	publicReflection := f.Bool("public-reflection", false, "allow server reflection without a token")
	accessLog := f.String("access-log", "all", "access log lines: all, refused (refused and failed calls only) or none")
	traceExporter := f.String("trace-exporter", "none", "OpenTelemetry trace exporter: none, stdout or otlp (OTEL_EXPORTER_OTLP_* configure it)")
	jwksMaxAge := f.Duration("jwks-max-age", issuer.DefaultJWKSMaxAge, "issuer JWKS max-age; a rotated key signs after twice this")
	plaintext := f.Bool("plaintext", false, "serve without TLS (by default a local CA in the data directory signs the suite's certificates)")
	newLogger := f.logFlags()
	if err := f.parse(args); err != nil {
		return err
	}
	if !slices.Contains(serving.AccessLogModes, *accessLog) {
		return fmt.Errorf("%w: --access-log %q: use all, refused or none", errUsage, *accessLog)
	}
	log, err := newLogger(stderr)
	if err != nil {
		return err
	}
	admin := map[string]string{}
	for name, addr := range adminAddrs {
		admin[name] = *addr
	}
	dev, err := devsuite.Start(ctx, devsuite.Config{
		DataDir: *dataDir, IssuerAddr: *issuerAddr, InventoryAddr: *inventoryAddr, OrdersAddr: *ordersAddr, AdminAddrs: admin,
		Plaintext: *plaintext, ReconcileInterval: *reconcile, AccessLog: *accessLog, PublicReflection: *publicReflection, JWKSMaxAge: *jwksMaxAge,
		TraceExporter: *traceExporter, TraceWriter: stdout, Logger: log,
	})
	if err != nil {
		return err
	}
	if err := printBanner(stdout, dev, *dataDir); err != nil {
		return err
	}
	return dev.Wait()
}

var banner = template.Must(template.New("banner").Parse(`Tollgate dev suite is running (Ctrl-C stops it).{{if .Info.CAFile}}
  TLS        certificates from the local CA {{.Info.CAFile}}{{end}}
  issuer     {{.Info.Issuer}}   token endpoint {{.Info.TokenEndpoint}}
  inventory  {{index .Info.Services "inventory"}}
  orders     {{index .Info.Services "orders"}}
  clients    admin (every scope), reader (read-only), orders-service; secrets in {{.InfoPath}}

Call it from another terminal in this directory:
  TOKEN=$(go run ./cmd/tollgate token --client admin --audience inventory{{.DataDirFlag}})
  go tool -modfile=tools/go.mod grpcurl {{.GRPCurlTLS}} -H "authorization: Bearer $TOKEN" \
    -d '{"sku":"widget-1"}' {{index .Info.Services "inventory"}} tollgate.inventory.v1.InventoryService/GetItem
  ORDERS_TOKEN=$(go run ./cmd/tollgate token --client admin --audience orders{{.DataDirFlag}})   # one token per service
  go tool -modfile=tools/go.mod grpcurl {{.GRPCurlTLS}} -H "authorization: Bearer $ORDERS_TOKEN" \
    -d '{"order_id":"o-1","lines":[{"sku":"widget-1","quantity":2}]}' {{index .Info.Services "orders"}} tollgate.orders.v1.OrdersService/PlaceOrder
  go tool -modfile=tools/go.mod ghz {{.GhzTLS}} --proto proto/tollgate/inventory/v1/inventory.proto -i proto \
    --call tollgate.inventory.v1.InventoryService.GetItem -d '{"sku":"widget-1"}' \
    --metadata "{\"authorization\":\"Bearer $TOKEN\"}" -n 2000 -c 16 {{index .Info.Services "inventory"}}
`))

func printBanner(w io.Writer, dev *devsuite.Dev, dataDir string) error {
	flag := ""
	if dataDir != defaultDataDir {
		flag = fmt.Sprintf(" --data-dir %q", dataDir)
	}
	grpcurlTLS, ghzTLS := "-plaintext", "--insecure"
	if ca := dev.Info.CAFile; ca != "" {
		rel := ca
		if wd, err := os.Getwd(); err == nil {
			if r, err := filepath.Rel(wd, ca); err == nil && !strings.HasPrefix(r, "..") {
				rel = r
			}
		}
		grpcurlTLS, ghzTLS = "-cacert "+rel, "--cacert "+rel
	}
	return banner.Execute(w, struct {
		*devsuite.Dev
		DataDirFlag, GRPCurlTLS, GhzTLS string
	}{dev, flag, grpcurlTLS, ghzTLS})
}
