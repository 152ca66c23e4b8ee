package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	inventoryv1 "github.com/tollgate-rpc/tollgate/gen/go/tollgate/inventory/v1"
	ordersv1 "github.com/tollgate-rpc/tollgate/gen/go/tollgate/orders/v1"
	"github.com/tollgate-rpc/tollgate/internal/jwtest"
	"github.com/tollgate-rpc/tollgate/internal/pgtest"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"gopkg.in/yaml.v3"
)

// composeFile is the part of docker-compose.yml this test reads.
type composeFile struct {
	Services map[string]struct {
		Entrypoint  []string          `yaml:"entrypoint"`
		Command     []string          `yaml:"command"`
		Environment map[string]string `yaml:"environment"`
		DependsOn   map[string]any    `yaml:"depends_on"`
		Volumes     []string          `yaml:"volumes"`
		Healthcheck struct {
			Test []string `yaml:"test"`
		} `yaml:"healthcheck"`
	} `yaml:"services"`
}

// TestComposeProcesses runs every service of docker-compose.yml as a local
// process with exactly its command and environment, only rewriting container
// addresses to loopback ports and volume paths to a temporary directory, then
// calls the suite through TLS with a token from the compose token service.
func TestComposeProcesses(t *testing.T) { testCompose(t, nil) }

// TestComposePostgresProcesses does the same with docker-compose.postgres.yml
// over it: every state in the machine's PostgreSQL (a schema of the test's
// own) instead of the data volumes.
func TestComposePostgresProcesses(t *testing.T) {
	url := pgtest.URL(t)
	testCompose(t, &composeOverride{file: "../../docker-compose.postgres.yml", database: url, schema: pgtest.Schema(t, url)})
}

// composeOverride is an override file and where its database really is.
type composeOverride struct{ file, database, schema string }

func loadCompose(t *testing.T, path string) composeFile {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cf composeFile
	if err := yaml.Unmarshal(raw, &cf); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return cf
}

func testCompose(t *testing.T, over *composeOverride) {
	cf := loadCompose(t, "../../docker-compose.yml")
	provided := []string{"certs-issuer", "certs-inventory", "certs-orders", "certs-callers", "orders-client", "admin-client", "issuer", "inventory"}
	checkComposeVolumes(t, cf)
	var overEnv map[string]map[string]string
	if over != nil {
		o := loadCompose(t, over.file)
		overEnv = map[string]map[string]string{}
		for name, svc := range o.Services {
			overEnv[name] = svc.Environment
		}
		provided = append(provided, "postgres") // the machine's own
	}
	dir := t.TempDir()
	issuerAddr, invAddr, ordAddr := fixedPort(t), fixedPort(t), fixedPort(t)
	invAdmin := fixedPort(t)
	addrs := []string{
		"0.0.0.0:9400", fixedPort(t), "0.0.0.0:9401", invAdmin, "0.0.0.0:9402", fixedPort(t),
		"0.0.0.0:8400", issuerAddr, "issuer:8400", issuerAddr, "localhost:8400", issuerAddr,
		"0.0.0.0:8401", invAddr, "inventory:8401", invAddr, "localhost:8401", invAddr,
		"0.0.0.0:8402", ordAddr, "localhost:8402", ordAddr,
	}
	// Each service's volumes become directories named after the volume, so
	// that a service sees exactly the volumes it mounts.
	rewriter := func(name string) *strings.Replacer {
		pairs := slices.Clone(addrs)
		for _, v := range cf.Services[name].Volumes {
			parts := strings.Split(v, ":")
			pairs = append(pairs, parts[1], filepath.Join(dir, parts[0]))
		}
		return strings.NewReplacer(pairs...)
	}
	argv := func(name string) ([]string, []string) {
		svc, ok := cf.Services[name]
		if !ok {
			t.Fatalf("docker-compose.yml has no service %s", name)
		}
		rewrite := rewriter(name)
		var args []string
		if len(svc.Entrypoint) > 1 {
			args = append(args, svc.Entrypoint[1:]...) // [0] is the binary itself
		}
		args = append(args, svc.Command...)
		for i := range args {
			args[i] = rewrite.Replace(args[i])
		}
		var env []string
		for k, v := range svc.Environment {
			env = append(env, k+"="+rewrite.Replace(v))
		}
		if over != nil {
			for k, v := range overEnv[name] {
				switch k {
				case "TOLLGATE_DATABASE_URL":
					v = over.database
				case "TOLLGATE_KEY_ENCRYPTION_KEY":
					v = testKEK
				}
				env = append(env, k+"="+v)
			}
			if _, ok := overEnv[name]["TOLLGATE_DATABASE_URL"]; ok {
				env = append(env, "TOLLGATE_DATABASE_SCHEMA="+over.schema)
			}
		}
		return args, env
	}
	healthy := func(name string) {
		test := cf.Services[name].Healthcheck.Test
		if len(test) < 3 || test[0] != "CMD" {
			t.Fatalf("%s: healthcheck %v is not a CMD of the tollgate binary", name, test)
		}
		_, env := argv(name)
		rewrite := rewriter(name)
		args := make([]string, 0, len(test)-2)
		for _, a := range test[2:] {
			args = append(args, rewrite.Replace(a))
		}
		jwtest.Eventually(t, name+" healthy", func() bool {
			cmd := execTollgate(t, env, args...)
			return cmd.Run() == nil
		})
	}

	// One-shot setup services, in dependency order.
	for _, name := range []string{"certs-issuer", "certs-inventory", "certs-orders", "certs-callers", "orders-client", "admin-client"} {
		args, env := argv(name)
		runTo(t, env, args...)
	}
	var procs []*proc
	for _, name := range []string{"issuer", "inventory", "orders"} {
		for dep := range cf.Services[name].DependsOn {
			if !slices.Contains(provided, dep) {
				t.Fatalf("%s depends on %s, which this test does not start", name, dep)
			}
		}
		args, env := argv(name)
		procs = append(procs, start(t, name, env, args...))
		healthy(name)
	}

	args, env := argv("token")
	token := strings.TrimSpace(runTo(t, env, args...))
	ca := filepath.Join(dir, "caller-certs", "ca.pem")
	inv := inventoryv1.NewInventoryServiceClient(tlsConn(t, ca, invAddr))
	ord := ordersv1.NewOrdersServiceClient(tlsConn(t, ca, ordAddr))
	if _, err := inv.GetItem(bearer(token), &inventoryv1.GetItemRequest{Sku: "widget-1"}); err != nil {
		t.Errorf("GetItem: %v", err)
	}
	checkUnauthenticated(t, inv)
	scraped, err := http.Get("http://" + invAdmin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(scraped.Body)
	scraped.Body.Close()
	if !regexp.MustCompile(`tollgate_auth_decisions_total\{client_id="admin",issuer="https://[^"]+",outcome="ok",reason="ok"\} 1`).Match(body) {
		t.Errorf("inventory /metrics lacks the admin's decision:\n%.2000s", body)
	}
	// orders → inventory with the orders-service client the compose file registers.
	// A token is valid at one service: the inventory token is refused by
	// orders, which gets one of its own.
	_, err = ord.GetOrder(bearer(token), &ordersv1.GetOrderRequest{OrderId: "compose-1"})
	if status.Code(err) != codes.Unauthenticated {
		t.Errorf("orders with the inventory token: %v, want Unauthenticated", err)
	}
	token = strings.TrimSpace(runTo(t, append(env, "TOLLGATE_AUDIENCE=orders"), args...))
	resp, err := ord.PlaceOrder(bearer(token), &ordersv1.PlaceOrderRequest{OrderId: "compose-1",
		Lines: []*ordersv1.OrderLine{{Sku: "gadget-2", Quantity: 3}}})
	if err != nil {
		t.Fatalf("PlaceOrder: %v", err)
	}
	if resp.GetOrder().GetPlacedBy() != "admin" {
		t.Errorf("placed by %q, want admin", resp.GetOrder().GetPlacedBy())
	}
	for i := len(procs) - 1; i >= 0; i-- {
		procs[i].stop(t)
	}
	if over != nil {
		for _, f := range []string{"clients.json", "keys.json", "inventory.db", "orders.db"} {
			if _, err := os.Stat(filepath.Join(dir, "data", f)); err == nil {
				t.Errorf("on PostgreSQL, %s was still written to the data volume", f)
			}
		}
	}
	// Secret hygiene across every process's logs.
	var secrets []string
	for _, f := range []string{"admin-secret/admin.secret", "orders-secret/orders-service.secret"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, strings.TrimSpace(string(b)))
	}
	for _, p := range procs {
		logs := p.out.String()
		for _, s := range append(secrets, token) {
			if strings.Contains(logs, s) {
				t.Errorf("%s logs contain a secret or token", p.name)
			}
		}
	}
}

// checkComposeVolumes checks who mounts what: the CA's key only the certs
// jobs, each client secret only the job that makes it and the one process
// that uses it, each service's certificate only that service (and the job
// that makes it).
func checkComposeVolumes(t *testing.T, cf composeFile) {
	t.Helper()
	allowed := map[string][]string{
		"ca":              {"certs-issuer", "certs-inventory", "certs-orders", "certs-callers"},
		"admin-secret":    {"admin-client", "token"},
		"orders-secret":   {"orders-client", "orders"},
		"issuer-certs":    {"certs-issuer", "issuer"},
		"inventory-certs": {"certs-inventory", "inventory"},
		"orders-certs":    {"certs-orders", "orders"},
		"caller-certs":    {"certs-callers", "token"},
	}
	for name, svc := range cf.Services {
		for _, v := range svc.Volumes {
			vol, _, _ := strings.Cut(v, ":")
			if who, ok := allowed[vol]; ok && !slices.Contains(who, name) {
				t.Errorf("%s mounts %s, which only %v may", name, vol, who)
			}
		}
	}
}
