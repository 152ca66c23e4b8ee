package main

import (
	"context"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	ordersv1 "github.com/tollgate-rpc/tollgate/gen/go/tollgate/orders/v1"
	"github.com/tollgate-rpc/tollgate/internal/jwtest"
)

// Containers start in any order: orders started while its issuer is down
// listens and fails /readyz instead of exiting, and once the issuer answers
// at its address it finds the token endpoint, becomes ready and places
// orders. Before (#29.4) it exited at start: "find the token endpoint …
// connection refused".
func TestOrdersStartsBeforeItsIssuer(t *testing.T) {
	dir := t.TempDir()
	issuerDir := filepath.Join(dir, "issuer")
	secretOf := func(id string) string { return filepath.Join(dir, id+".secret") }
	runTo(t, nil, "client", "add", "--data-dir", issuerDir, "--id", "orders-service", "--scopes", "inventory.read inventory.reserve",
		"--audiences", "inventory", "--default-audience", "inventory", "--secret-file", secretOf("orders-service"))
	runTo(t, nil, "client", "add", "--data-dir", issuerDir, "--id", "buyer", "--scopes", "orders.write inventory.read inventory.write",
		"--audiences", "orders inventory", "--secret-file", secretOf("buyer"))
	issuerAddr := fixedPort(t)
	issuerURL := "http://" + issuerAddr
	invAddr := start(t, "inventory", nil, "inventory", "--addr", "127.0.0.1:0", "--issuer-url", issuerURL,
		"--data-dir", filepath.Join(dir, "inventory"), "--access-log", "refused").listening(t, "inventory")
	ord := start(t, "orders", []string{"TOLLGATE_CLIENT_SECRET_FILE=" + secretOf("orders-service")}, "orders",
		"--addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", "--issuer-url", issuerURL, "--inventory-addr", invAddr,
		"--data-dir", filepath.Join(dir, "orders"), "--access-log", "refused")
	ordAddr, ordAdmin := ord.listening(t, "orders"), ord.listening(t, "admin")
	ready := func() int { return readyz(t, ordAdmin) }
	if code := ready(); code != http.StatusServiceUnavailable {
		t.Errorf("orders' /readyz with its issuer down: %d, want 503", code)
	}

	start(t, "issuer", nil, "issuer", "--addr", issuerAddr, "--data-dir", issuerDir)
	jwtest.Eventually(t, "orders ready once its issuer answers", func() bool { return ready() == http.StatusOK })
	client := buyerClients(t, issuerURL, secretOf, invAddr, ordAddr)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := client.PlaceOrder(ctx, &ordersv1.PlaceOrderRequest{OrderId: "after-issuer",
		Lines: []*ordersv1.OrderLine{{Sku: "widget-1", Quantity: 1}}}); err != nil {
		t.Errorf("PlaceOrder once the issuer is up: %v", err)
	}
}
