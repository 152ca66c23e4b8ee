package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	inventoryv1 "github.com/tollgate-rpc/tollgate/gen/go/tollgate/inventory/v1"
	ordersv1 "github.com/tollgate-rpc/tollgate/gen/go/tollgate/orders/v1"
	"github.com/tollgate-rpc/tollgate/internal/jwtest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// hydraCommand is how to build the Ory Hydra the tests run beside the suite.
const hydraCommand = "GOTOOLCHAIN=local CGO_ENABLED=1 go build -C tools/hydra -tags sqlite,sqlite_omit_load_extension -o $PWD/.ci/bin/hydra github.com/ory/hydra/v2"

// hydraBinary finds Hydra: $HYDRA_BIN, .ci/bin/hydra, or hydra on PATH. It
// skips the test naming the build command when there is none, and fails in
// CI, which builds it.
func hydraBinary(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("HYDRA_BIN"), "../../.ci/bin/hydra"} {
		if p != "" {
			if _, err := os.Stat(p); err == nil {
				abs, _ := filepath.Abs(p)
				return abs
			}
		}
	}
	if p, err := exec.LookPath("hydra"); err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("Ory Hydra missing in CI; .ci/run builds it with: %s", hydraCommand)
	}
	t.Skipf("Ory Hydra not built; build it at the repository root with: %s", hydraCommand)
	return ""
}

// hydra is a running Ory Hydra v2 with JWT access tokens, in memory.
type hydra struct {
	bin, issuer, admin string
	proc               *proc
}

func startHydra(t *testing.T) *hydra {
	t.Helper()
	bin := hydraBinary(t)
	public, admin := fixedPort(t), fixedPort(t)
	secret := make([]byte, 16)
	_, _ = rand.Read(secret)
	_, publicPort, _ := strings.Cut(public, ":")
	_, adminPort, _ := strings.Cut(admin, ":")
	h := &hydra{bin: bin, issuer: "http://" + public, admin: "http://" + admin}
	cmd := exec.Command(bin, "serve", "all", "--dev")
	cmd.Env = append(os.Environ(), "DSN=memory", "STRATEGIES_ACCESS_TOKEN=jwt", "LOG_LEVEL=warn",
		"SERVE_PUBLIC_HOST=127.0.0.1", "SERVE_PUBLIC_PORT="+publicPort, "SERVE_ADMIN_HOST=127.0.0.1", "SERVE_ADMIN_PORT="+adminPort,
		"URLS_SELF_ISSUER="+h.issuer, "SECRETS_SYSTEM="+hex.EncodeToString(secret))
	h.proc = startCmd(t, "hydra", cmd)
	jwtest.Eventually(t, "Hydra ready", func() bool {
		resp, err := http.Get(h.admin + "/health/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return h
}

// client registers a client_credentials client and returns its ID and a
// file holding its secret.
func (h *hydra) client(t *testing.T, audience, scopes string) (id, secretFile string) {
	t.Helper()
	out, err := exec.Command(h.bin, "create", "oauth2-client", "--endpoint", h.admin, "--grant-type", "client_credentials",
		"--audience", audience, "--scope", scopes, "--token-endpoint-auth-method", "client_secret_basic", "--format", "json").Output()
	if err != nil {
		t.Fatalf("hydra create oauth2-client: %v", err)
	}
	var c struct {
		ID     string `json:"client_id"`
		Secret string `json:"client_secret"`
	}
	if err := json.Unmarshal(out, &c); err != nil {
		t.Fatal(err)
	}
	secretFile = filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretFile, []byte(c.Secret), 0o600); err != nil {
		t.Fatal(err)
	}
	return c.ID, secretFile
}

// token gets a Hydra token the way a user would: tollgate token, finding
// Hydra's token endpoint by discovery.
func (h *hydra) token(t *testing.T, id, secretFile, audience, scope string) string {
	t.Helper()
	return strings.TrimSpace(runTo(t, nil, "token", "--issuer-url", h.issuer, "--client-id", id, "--client-secret-file", secretFile,
		"--audience", audience, "--scope", scope))
}

// The suite against a real third-party OAuth 2.0 server, Ory Hydra v2.3.0,
// as processes: inventory and orders trust Hydra by flags only, orders gets
// its inventory token from Hydra by discovery, scopes are enforced, and a
// rotation of Hydra's signing keys fails no call with a valid token.
func TestAgainstOryHydra(t *testing.T) {
	h := startHydra(t)
	readerID, readerSecret := h.client(t, "inventory", "inventory.read")
	ordersSvcID, ordersSvcSecret := h.client(t, "inventory", "inventory.read inventory.reserve")
	buyerID, buyerSecret := h.client(t, "orders", "orders.write orders.read")

	// Hydra signs with a new key the moment it exists (nothing is published
	// ahead), and it makes its first key lazily, after inventory's first
	// JWKS fetch: so each new kid costs one unknown-kid refetch, which the
	// cooldown spaces out. A short one keeps this test short.
	trust := func(audience string) []string {
		return []string{"--issuer-url", h.issuer, "--issuer-profile", "hydra", "--audience", audience, "--data-dir", t.TempDir(),
			"--jwks-unknown-kid-cooldown", "500ms"}
	}
	invAddr := start(t, "inventory", nil, append([]string{"inventory", "--addr", "127.0.0.1:0"}, trust("inventory")...)...).listening(t, "inventory")
	ordAddr := start(t, "orders", nil, append([]string{"orders", "--addr", "127.0.0.1:0", "--inventory-addr", invAddr,
		"--client-id", ordersSvcID, "--client-secret-file", ordersSvcSecret}, trust("orders")...)...).listening(t, "orders")
	dial := func(addr string) *grpc.ClientConn {
		conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		return conn
	}
	inv := inventoryv1.NewInventoryServiceClient(dial(invAddr))
	ord := ordersv1.NewOrdersServiceClient(dial(ordAddr))

	readToken := h.token(t, readerID, readerSecret, "inventory", "inventory.read")
	jwtest.Eventually(t, "inventory to accept a Hydra token", func() bool {
		_, err := inv.GetItem(bearer(readToken), &inventoryv1.GetItemRequest{Sku: "widget-1"})
		return err == nil
	})
	if _, err := inv.AdjustStock(bearer(readToken), &inventoryv1.AdjustStockRequest{Sku: "widget-1", Delta: 1}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("AdjustStock with a Hydra inventory.read token: %v, want PermissionDenied", err)
	}
	before, err := inv.GetItem(bearer(readToken), &inventoryv1.GetItemRequest{Sku: "widget-1"})
	if err != nil {
		t.Fatal(err)
	}
	buyToken := h.token(t, buyerID, buyerSecret, "orders", "orders.write")
	var placed *ordersv1.PlaceOrderResponse
	jwtest.Eventually(t, "orders to accept a Hydra token and reserve across the hop", func() bool {
		placed, err = ord.PlaceOrder(bearer(buyToken), &ordersv1.PlaceOrderRequest{OrderId: "hydra-1",
			Lines: []*ordersv1.OrderLine{{Sku: "widget-1", Quantity: 2}}})
		return err == nil
	})
	if placed.GetOrder().GetState() != ordersv1.OrderState_ORDER_STATE_RESERVED {
		t.Errorf("order placed with a Hydra token: %v, want RESERVED", placed.GetOrder().GetState())
	}
	after, err := inv.GetItem(bearer(readToken), &inventoryv1.GetItemRequest{Sku: "widget-1"})
	if err != nil {
		t.Fatal(err)
	}
	if got := after.GetItem().GetQuantityReserved() - before.GetItem().GetQuantityReserved(); got != 2 {
		t.Errorf("inventory reserved %d for the order, want 2 (orders' own Hydra token across the hop)", got)
	}

	// Rotate Hydra's access-token signing key through its admin API: the
	// token signed before keeps working, and so does one signed after.
	if out, err := exec.Command(h.bin, "create", "jwks", "hydra.jwt.access-token", "--alg", "RS256", "--endpoint", h.admin).CombinedOutput(); err != nil {
		t.Fatalf("hydra create jwks: %v\n%s", err, out)
	}
	newToken := h.token(t, readerID, readerSecret, "inventory", "inventory.read")
	if kidOf(newToken) == kidOf(readToken) {
		t.Fatal("Hydra signed with the same key after the rotation; the test shows nothing")
	}
	if _, err := inv.GetItem(bearer(readToken), &inventoryv1.GetItemRequest{Sku: "widget-1"}); err != nil {
		t.Errorf("token signed before the rotation: %v", err)
	}
	jwtest.Eventually(t, "a token signed with Hydra's new key to verify", func() bool {
		_, err := inv.GetItem(bearer(newToken), &inventoryv1.GetItemRequest{Sku: "widget-1"})
		return err == nil
	})
}
