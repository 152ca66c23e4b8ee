package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	inventoryv1 "github.com/tollgate-rpc/tollgate/gen/go/tollgate/inventory/v1"
	ordersv1 "github.com/tollgate-rpc/tollgate/gen/go/tollgate/orders/v1"
	"github.com/tollgate-rpc/tollgate/internal/app/devsuite"
	"github.com/tollgate-rpc/tollgate/internal/app/transport"
	"github.com/tollgate-rpc/tollgate/internal/devtls"
	"github.com/tollgate-rpc/tollgate/internal/jwtest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// These tests run the real binary as separate processes.

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// TestMain removes the binary the process tests built, and its directory.
func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "tollgate-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "tollgate")
		args := []string{"build", "-o", binPath}
		if raceEnabled {
			args = append(args, "-race")
		}
		out, err := exec.Command("go", append(args, ".")...).CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// proc is a running tollgate process whose output is kept for the test log.
type proc struct {
	name   string
	cmd    *exec.Cmd
	out    *jwtest.Buffer
	done   chan error    // the exit, once
	exited chan struct{} // closed when the process has exited
}

// testKEK is the key-encryption key of the tests' PostgreSQL stores: 32
// random bytes in base64, as `openssl rand -base64 32` makes them.
const testKEK = "lz7kI56VqzGwrtz20cgRPtkc2x384pi04kc6ZEgAU2A="

// cleanEnv is the test's environment without TOLLGATE_ variables.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TOLLGATE_") {
			env = append(env, kv)
		}
	}
	return env
}

func start(t *testing.T, name string, env []string, args ...string) *proc {
	t.Helper()
	return startCmd(t, name, execTollgate(t, env, args...))
}

// startCmd starts cmd, capturing its output, and kills it when the test
// ends if it is still running.
func startCmd(t *testing.T, name string, cmd *exec.Cmd) *proc {
	t.Helper()
	p := &proc{name: name, cmd: cmd, out: &jwtest.Buffer{}, done: make(chan error, 1), exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		err := cmd.Wait()
		close(p.exited)
		p.done <- err
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("--- %s output:\n%s", name, p.out)
		}
	})
	return p
}

// stop sends SIGTERM and waits for a clean exit.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("%s exited with %v after SIGTERM", p.name, err)
		}
	case <-time.After(20 * time.Second):
		t.Errorf("%s did not stop within 20s of SIGTERM", p.name)
		_ = p.cmd.Process.Kill()
	}
}

func execTollgate(t *testing.T, env []string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Env = append(cleanEnv(), env...)
	return cmd
}

// runTo runs a command to completion and returns its stdout.
func runTo(t *testing.T, env []string, args ...string) string {
	t.Helper()
	cmd := execTollgate(t, env, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("tollgate %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

// listening waits until p logs that its listener (issuer, inventory,
// orders, admin …) serves, and returns the address. Processes take port 0
// and say where they listen, so no test picks a port and releases it for
// another program to take first.
func (p *proc) listening(t *testing.T, listener string) string {
	t.Helper()
	re := regexp.MustCompile(`msg="serving (?:gRPC|HTTP)" .*listener=` + regexp.QuoteMeta(listener) + ` addr=(\S+)`)
	var addr string
	jwtest.Eventually(t, p.name+" to serve "+listener, func() bool {
		if m := re.FindStringSubmatch(p.out.String()); m != nil {
			addr = m[1]
			return true
		}
		select {
		case <-p.exited:
			t.Fatalf("%s exited before serving %s:\n%s", p.name, listener, p.out)
		default:
		}
		return false
	})
	return addr
}

// fixedPort is an address for a process that must keep it across a
// restart, or that others must know before it starts (compose's fixed
// ports, Hydra's configuration). The port lies below the kernel's
// ephemeral range, which the kernel never hands out by itself (to an
// outgoing connection, or to a listener on port 0), and was free when
// chosen; only a program binding that very port explicitly could take it.
func fixedPort(t *testing.T) string {
	t.Helper()
	low := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil && n > 20100 {
				low = n
			}
		}
	}
	for range 100 {
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(20000+rand.IntN(low-20000)))
		if l, err := net.Listen("tcp", addr); err == nil {
			l.Close()
			return addr
		}
	}
	t.Fatal("no free port below the ephemeral range")
	return ""
}

// readyz is the status of the /readyz of the admin listener at addr.
func readyz(t *testing.T, addr string) int {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func bearer(token string) context.Context {
	return metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+token)
}

func tlsConn(t *testing.T, caFile, addr string) *grpc.ClientConn {
	t.Helper()
	pool, err := devtls.LoadPool(caFile)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(transport.Transport{RootCAs: pool}.DialCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// fixedPorts are dev flags that keep the suite's addresses across a
// restart, for tests whose callers must find it again.
func fixedPorts(t *testing.T) []string {
	return []string{"--issuer-addr", fixedPort(t), "--inventory-addr", fixedPort(t), "--orders-addr", fixedPort(t)}
}

func TestDevProcess(t *testing.T) {
	dev := startDevProcess(t, fixedPorts(t)...)
	dir, args, info := dev.dir, dev.args, dev.info
	token := strings.TrimSpace(runTo(t, nil, "token", "--client", "admin", "--data-dir", dir, "--audience", "inventory"))
	otoken := strings.TrimSpace(runTo(t, nil, "token", "--client", "admin", "--data-dir", dir, "--audience", "orders"))
	inv := inventoryv1.NewInventoryServiceClient(tlsConn(t, info.CAFile, info.Services["inventory"]))
	ord := ordersv1.NewOrdersServiceClient(tlsConn(t, info.CAFile, info.Services["orders"]))
	if _, err := inv.GetItem(bearer(token), &inventoryv1.GetItemRequest{Sku: "widget-1"}); err != nil {
		t.Fatalf("GetItem: %v", err)
	}
	if _, err := ord.PlaceOrder(bearer(otoken), &ordersv1.PlaceOrderRequest{OrderId: "p-1",
		Lines: []*ordersv1.OrderLine{{Sku: "widget-1", Quantity: 1}}}); err != nil {
		t.Fatalf("PlaceOrder: %v", err)
	}

	// Graceful shutdown with a stream open: the stream ends cleanly and the
	// process exits 0.
	watch, err := inv.WatchStock(bearer(token), &inventoryv1.WatchStockRequest{Skus: []string{"widget-1"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := watch.Recv(); err != nil {
		t.Fatal(err)
	}
	dev.stop(t)
	if _, err := watch.Recv(); !errors.Is(err, io.EOF) {
		t.Errorf("open WatchStock after SIGTERM: %v, want a clean end of stream", err)
	}

	// Restart on the same data directory: keys and clients are kept, so the
	// token from before the restart still works.
	restarted := start(t, "dev (restarted)", nil, args...)
	jwtest.Eventually(t, "the restarted suite", func() bool {
		_, err := inv.GetItem(bearer(token), &inventoryv1.GetItemRequest{Sku: "widget-1"})
		return err == nil
	})
	if o, err := ord.GetOrder(bearer(otoken), &ordersv1.GetOrderRequest{OrderId: "p-1"}); err != nil || o.GetOrder().GetPlacedBy() != "dev-admin" {
		t.Errorf("order placed before the restart: %v, %v", o, err)
	}
	again, err := devsuite.ReadInfo(filepath.Join(dir, "dev.json"))
	if err != nil {
		t.Fatal(err)
	}
	if a, _ := again.Client("admin"); a.ClientSecret != mustClient(t, info, "admin").ClientSecret {
		t.Error("the admin secret changed across a restart")
	}
	restarted.stop(t)

	// Secret hygiene: no log line of either run holds a secret or a token.
	logs := dev.out.String() + restarted.out.String()
	for _, c := range info.Clients {
		if strings.Contains(logs, c.ClientSecret) {
			t.Errorf("the logs contain the secret of %s", c.Name)
		}
	}
	for _, tok := range []string{token, otoken} {
		if strings.Contains(logs, tok) || strings.Contains(logs, tok[strings.LastIndexByte(tok, '.')+1:]) {
			t.Error("the logs contain an access token or its signature")
		}
	}
	if !strings.Contains(logs, `msg=rpc`) || !strings.Contains(logs, "client_id=dev-admin") {
		t.Errorf("no access-log lines in the dev logs:\n%s", logs)
	}
}

// devRun is a `tollgate dev` process on free loopback ports.
type devRun struct {
	*proc
	dir  string
	args []string // the command line, to restart it the same way
	info *devsuite.Info
}

// startDevProcess starts `tollgate dev` in a new data directory, with extra
// flags, and waits for its banner (printed once every listener is open).
func startDevProcess(t *testing.T, extra ...string) *devRun {
	t.Helper()
	dir := t.TempDir()
	// Port 0: the suite picks free ports and writes them to dev.json, with
	// no window in which another test could take them.
	args := append([]string{"dev", "--data-dir", dir, "--issuer-addr", "127.0.0.1:0", "--inventory-addr", "127.0.0.1:0",
		"--orders-addr", "127.0.0.1:0", "--issuer-admin-addr", "127.0.0.1:0", "--inventory-admin-addr", "127.0.0.1:0",
		"--orders-admin-addr", "127.0.0.1:0"}, extra...)
	d := &devRun{proc: start(t, "dev", nil, args...), dir: dir, args: args}
	jwtest.Eventually(t, "dev.json and the banner", func() bool {
		var err error
		d.info, err = devsuite.ReadInfo(filepath.Join(dir, "dev.json"))
		return err == nil && strings.Contains(d.out.String(), "grpcurl -cacert")
	})
	return d
}

func mustClient(t *testing.T, info *devsuite.Info, name string) devsuite.Client {
	t.Helper()
	c, ok := info.Client(name)
	if !ok {
		t.Fatalf("no dev client %s", name)
	}
	return c
}

func TestBadFlagsAreClearErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"nope"}, `unknown command "nope"`},
		{[]string{"dev", "--issuer-addr", "0.0.0.0:0"}, "loopback only"},
		{[]string{"inventory", "--issuer-url", "https://x", "--addr", "0.0.0.0:0"}, "refusing to serve without TLS"},
		{[]string{"inventory"}, "--issuer-url"},
		{[]string{"issuer", "--tls-cert", "only-cert.pem"}, "--tls-cert and --tls-key go together"},
		{[]string{"token", "--client", "admin", "--data-dir", "/nonexistent"}, "is `tollgate dev` running"},
		{[]string{"dev", "--log-level", "loud"}, "--log-level"},
		{[]string{"inventory", "--issuer-url", "http://127.0.0.1:1", "--clock-skew", "8760h"}, "--clock-skew 8760h0m0s: between 0 and 5m0s"},
		{[]string{"inventory", "--issuer-url", "http://127.0.0.1:1", "--clock-skew", "-1h"}, "--clock-skew -1h0m0s: between 0 and 5m0s"},
	} {
		cmd := exec.Command(binary(t), tc.args...)
		cmd.Env = cleanEnv()
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), tc.want) {
			t.Errorf("tollgate %s: err %v, output %q; want an error mentioning %q", strings.Join(tc.args, " "), err, out, tc.want)
		}
	}
	// Environment fallbacks are validated too, naming the variable.
	cmd := exec.Command(binary(t), "dev")
	cmd.Env = append(cleanEnv(), "TOLLGATE_PLAINTEXT=maybe")
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "TOLLGATE_PLAINTEXT") {
		t.Errorf("bad TOLLGATE_PLAINTEXT: %v %q", err, out)
	}
}

// checkUnauthenticated calls GetItem without a token.
func checkUnauthenticated(t *testing.T, inv inventoryv1.InventoryServiceClient) {
	t.Helper()
	_, err := inv.GetItem(context.Background(), &inventoryv1.GetItemRequest{Sku: "widget-1"})
	if status.Code(err) != codes.Unauthenticated {
		t.Errorf("GetItem without token: %v, want Unauthenticated", err)
	}
}

func decodeJWTSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// `tollgate dev --inventory-admin-addr` puts inventory's /metrics where a
// fixed scrape configuration expects it.
func TestDevAdminAddresses(t *testing.T) {
	addr := fixedPort(t)
	dev := startDevProcess(t, "--inventory-admin-addr", addr)
	if got := dev.info.Metrics["inventory"]; got != addr {
		t.Errorf("inventory metrics at %s, want %s", got, addr)
	}
	if v := scrapeValue(t, addr, "tollgate_jwks_fetches_total"); v < 1 {
		t.Errorf("inventory metrics at %s: %v JWKS fetches", addr, v)
	}
	dev.stop(t)
}
