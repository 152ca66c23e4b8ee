package devsuite

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	inventoryv1 "github.com/tollgate-rpc/tollgate/gen/go/tollgate/inventory/v1"
	ordersv1 "github.com/tollgate-rpc/tollgate/gen/go/tollgate/orders/v1"
	"github.com/tollgate-rpc/tollgate/services/inventory"
	"github.com/tollgate-rpc/tollgate/services/orders"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// scrape reads a process's /metrics into "name{k="v",…}" → value, with
// labels sorted.
func scrape(t *testing.T, addr string) map[string]float64 {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for name, mf := range families {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			sort.Strings(labels)
			key := name + "{" + strings.Join(labels, ",") + "}"
			switch {
			case m.GetCounter() != nil:
				out[key] = m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				out[key] = m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				out[key] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}

func TestMetricsAfterScriptedCalls(t *testing.T) {
	dev := startDev(t, false)
	tr := transportOf(t, dev)
	conn := dial(t, dev, "inventory")
	inv := inventoryv1.NewInventoryServiceClient(conn)
	reader := fetchToken(t, dev, ReaderClient, inventory.Audience)
	forOrders := fetchToken(t, dev, AdminClient, orders.Audience)

	// The script: two good reads, then one of each refusal, and a health check.
	for range 2 {
		if _, err := inv.GetItem(withToken(reader), &inventoryv1.GetItemRequest{Sku: "widget-1"}); err != nil {
			t.Fatal(err)
		}
	}
	_, _ = inv.GetItem(context.Background(), &inventoryv1.GetItemRequest{Sku: "widget-1"})
	_, _ = inv.AdjustStock(withToken(reader), &inventoryv1.AdjustStockRequest{Sku: "widget-1", Delta: 1})
	_, _ = inv.GetItem(withToken("not-a-jwt"), &inventoryv1.GetItemRequest{Sku: "widget-1"})
	_, _ = inv.GetItem(withToken(forOrders), &inventoryv1.GetItemRequest{Sku: "widget-1"})
	if _, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatal(err)
	}
	// Two failed token requests: a wrong secret, and a client nobody knows.
	post := func(id, secret string) {
		req, _ := http.NewRequest(http.MethodPost, dev.Info.TokenEndpoint, strings.NewReader(url.Values{"grant_type": {"client_credentials"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(id, secret)
		resp, err := tr.HTTPClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	post("dev-reader", "wrong")
	post("nobody", "x")
	// One order, so orders fetches its own token for inventory.
	ord := ordersv1.NewOrdersServiceClient(dial(t, dev, "orders"))
	if _, err := ord.PlaceOrder(withToken(forOrders), &ordersv1.PlaceOrderRequest{OrderId: "m-1",
		Lines: []*ordersv1.OrderLine{{Sku: "widget-1", Quantity: 1}}}); err != nil {
		t.Fatal(err)
	}

	// Every admin listener answers the probes: each process is ready.
	for name, addr := range dev.Info.Metrics {
		for _, probe := range []string{"/healthz", "/readyz"} {
			resp, err := http.Get("http://" + addr + probe)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("%s admin %s: %s", name, probe, resp.Status)
			}
		}
	}

	invM := scrape(t, dev.Info.Metrics["inventory"])
	iss := dev.Info.Issuer
	method := `grpc_method="GetItem",grpc_service="tollgate.inventory.v1.InventoryService",grpc_type="unary"`
	for key, want := range map[string]float64{
		`tollgate_auth_decisions_total{client_id="dev-reader",issuer="` + iss + `",outcome="ok",reason="ok"}`:                      2,
		`tollgate_auth_decisions_total{client_id="",issuer="",outcome="refused",reason="missing_token"}`:                           1,
		`tollgate_auth_decisions_total{client_id="dev-reader",issuer="` + iss + `",outcome="refused",reason="insufficient_scope"}`: 1,
		`tollgate_auth_decisions_total{client_id="",issuer="",outcome="refused",reason="malformed"}`:                               1,
		`tollgate_auth_decisions_total{client_id="",issuer="",outcome="refused",reason="wrong_audience"}`:                          1,
		`tollgate_auth_decisions_total{client_id="",issuer="",outcome="public",reason="public"}`:                                   1,
		// The orders service's own Reserve call.
		`tollgate_auth_decisions_total{client_id="orders-service",issuer="` + iss + `",outcome="ok",reason="ok"}`: 1,
		`grpc_server_handled_total{grpc_code="OK",` + method + `}`:                                                2,
		`grpc_server_handled_total{grpc_code="Unauthenticated",` + method + `}`:                                   3,
		`tollgate_verify_cache_hits_total{}`:                                                                      2,
		`tollgate_verify_cache_misses_total{}`:                                                                    4,
		`tollgate_auth_verify_seconds{}`:                                                                          6, // every call that carried a token
	} {
		if got, ok := invM[key]; !ok || got != want {
			t.Errorf("inventory %s = %v (present %v), want %v", key, got, ok, want)
		}
	}
	if age, ok := invM[fmt.Sprintf(`tollgate_jwks_age_seconds{issuer=%q}`, dev.Info.Issuer)]; !ok || age < 0 {
		t.Errorf("jwks age = %v, %v", age, ok)
	}
	// The dev issuer has a revocation feed, which inventory follows.
	if n, ok := invM[fmt.Sprintf(`tollgate_revocations{issuer=%q}`, dev.Info.Issuer)]; !ok || n != 0 {
		t.Errorf("revocations in force = %v, %v; want 0, present", n, ok)
	}
	if _, ok := invM[fmt.Sprintf(`tollgate_revocations_age_seconds{issuer=%q}`, dev.Info.Issuer)]; !ok {
		t.Error("no tollgate_revocations_age_seconds for the dev issuer")
	}

	issM := scrape(t, dev.Info.Metrics["issuer"])
	for key, want := range map[string]float64{
		`tollgate_issuer_token_requests_total{client_id="dev-reader",outcome="issued"}`:         1,
		`tollgate_issuer_token_requests_total{client_id="dev-admin",outcome="issued"}`:          1,
		`tollgate_issuer_token_requests_total{client_id="orders-service",outcome="issued"}`:     1,
		`tollgate_issuer_token_requests_total{client_id="dev-reader",outcome="invalid_client"}`: 1,
		`tollgate_issuer_token_requests_total{client_id="",outcome="invalid_client"}`:           1,
	} {
		if got := issM[key]; got != want {
			t.Errorf("issuer %s = %v, want %v", key, got, want)
		}
	}
	if _, ok := issM[`tollgate_issuer_signing_key_age_seconds{}`]; !ok {
		t.Error("no signing key age")
	}

	ordM := scrape(t, dev.Info.Metrics["orders"])
	if got := ordM[`tollgate_callcreds_token_fetches_total{client_id="orders-service",result="ok"}`]; got != 1 {
		t.Errorf("orders' token fetches = %v, want 1", got)
	}
	if got := ordM[`tollgate_callcreds_token_expiry_seconds{client_id="orders-service"}`]; got <= 0 {
		t.Errorf("orders' token expiry in %v s", got)
	}

	// Cardinality: 1,000 unknown client IDs add no series.
	series := func() int {
		n := 0
		for k := range scrape(t, dev.Info.Metrics["issuer"]) {
			if strings.HasPrefix(k, "tollgate_issuer_token_requests_total{") {
				n++
			}
		}
		return n
	}
	before := series()
	for i := range 1000 {
		post(fmt.Sprintf("unknown-%d", i), "x")
	}
	// At most one new series: the throttled outcome for unregistered IDs.
	if after := series(); after > before+1 {
		t.Errorf("1,000 unknown client IDs grew the token-request series from %d to %d", before, after)
	}
}
