package clients

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/tollgate-rpc/tollgate/internal/app/devsuite"
)

// need skips a test whose runtime is missing, naming what to install; with
// CI=true the skip is a failure, since CI installs every runtime.
func need(t *testing.T, what, install string, ok bool) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s missing in CI: %s", what, install)
	}
	t.Skipf("%s missing: %s", what, install)
}

func startSuite(t *testing.T) *devsuite.Dev {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	dev, err := devsuite.Start(ctx, devsuite.Config{DataDir: t.TempDir(),
		IssuerAddr: "127.0.0.1:0", InventoryAddr: "127.0.0.1:0", OrdersAddr: "127.0.0.1:0"})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		if err := dev.Wait(); err != nil {
			t.Error(err)
		}
	})
	return dev
}

// callerArgv returns the program and script of a caller, skipping (or, in
// CI, failing) when its runtime is missing.
func callerArgv(t *testing.T, name string) []string {
	switch name {
	case "python":
		py := "/usr/bin/python3" // Debian's python3-grpcio serves Debian's interpreter
		ok := exec.Command(py, "-c", "import grpc, google.protobuf").Run() == nil
		need(t, "Python grpcio", "apt-get install python3-grpcio python3-protobuf", ok)
		return []string{py, "python/tollgate_client.py"}
	default:
		_, nodeErr := exec.LookPath("node")
		_, modErr := os.Stat("node/node_modules/@grpc/grpc-js")
		need(t, "Node.js with @grpc/grpc-js", "install node, then run npm ci in clients/node", nodeErr == nil && modErr == nil)
		return []string{"node", "node/client.js"}
	}
}

func TestCallers(t *testing.T) {
	dev := startSuite(t)
	for _, c := range []string{"python", "node"} {
		t.Run(c, func(t *testing.T) {
			argv := callerArgv(t, c)
			run := func(args ...string) (string, error) {
				cmd := exec.Command(argv[0], append(argv[1:], append([]string{"--dev-json", dev.InfoPath}, args...)...)...)
				out, err := cmd.CombinedOutput()
				if strings.Contains(string(out), "Warning") || strings.Contains(string(out), "DEP0") {
					t.Errorf("%s printed a warning:\n%s", c, out)
				}
				return string(out), err
			}
			out, err := run("--client", "admin")
			if err != nil {
				t.Fatalf("admin: %v\n%s", err, out)
			}
			for _, want := range []string{"GetItem: widget-1 on hand", "ListItems: 3 items: gadget-2 gizmo-3 widget-1", "ORDER_STATE_RESERVED", "done"} {
				if !strings.Contains(out, want) {
					t.Errorf("admin output lacks %q:\n%s", want, out)
				}
			}
			out, err = run("--client", "reader", "--only", "order")
			if err == nil || !strings.Contains(out, "PERMISSION_DENIED, missing scope: orders.write (reason INSUFFICIENT_SCOPE)") {
				t.Errorf("reader PlaceOrder: err %v, output:\n%s", err, out)
			}
			out, err = run("--client", "admin", "--only", "read", "--tamper-first-token")
			if err != nil || !strings.Contains(out, "GetItem: UNAUTHENTICATED (INVALID_TOKEN); refreshing the token and retrying once") ||
				!strings.Contains(out, "GetItem: widget-1 on hand") {
				t.Errorf("tampered token: err %v, output:\n%s", err, out)
			}
		})
	}
}
