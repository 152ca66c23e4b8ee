package interceptors

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	inventoryv1 "github.com/tollgate-rpc/tollgate/gen/go/tollgate/inventory/v1"
	"github.com/tollgate-rpc/tollgate/internal/jwtest"
	"google.golang.org/grpc"
)

// The access log comes with the interceptors themselves, so a chain built
// without ServerOptions (go-grpc-middleware's, here with its recovery
// interceptor outside auth) has it too.
func TestAccessLog(t *testing.T) {
	wirings := map[string]func(*Authenticator) []grpc.ServerOption{
		"ServerOptions": (*Authenticator).ServerOptions,
		"chain": func(a *Authenticator) []grpc.ServerOption {
			return []grpc.ServerOption{
				grpc.ChainUnaryInterceptor(recovery.UnaryServerInterceptor(), a.UnaryServerInterceptor()),
				grpc.ChainStreamInterceptor(recovery.StreamServerInterceptor(), a.StreamServerInterceptor()),
			}
		},
	}
	for name, wire := range wirings {
		t.Run(name, func(t *testing.T) { testAccessLog(t, wire) })
	}
}

func testAccessLog(t *testing.T, wire func(*Authenticator) []grpc.ServerOption) {
	var buf jwtest.Buffer
	f := serveWired(t, wire, WithAccessLog(slog.New(slog.NewJSONHandler(&buf, nil))))
	good := f.token(t, nil, nil)
	noScope := f.token(t, nil, map[string]any{"scope": "orders.read"})
	_, _ = f.inv.GetItem(callWith("Bearer "+good), &inventoryv1.GetItemRequest{})
	_, _ = f.inv.GetItem(context.Background(), &inventoryv1.GetItemRequest{})
	_, _ = f.inv.GetItem(callWith("Bearer "+noScope), &inventoryv1.GetItemRequest{})
	_, _ = f.inv.GetItem(callWith("Bearer garbage"), &inventoryv1.GetItemRequest{})

	out := buf.String()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	iss := f.iss.URL
	want := []struct{ outcome, code, reason, issuer, client string }{
		{"ok", "OK", "", iss, "client-1"},
		{"refused", "Unauthenticated", "missing_token", "", ""},
		{"refused", "PermissionDenied", "insufficient_scope", iss, "client-1"},
		{"refused", "Unauthenticated", "malformed", "", ""},
	}
	if len(lines) != len(want) {
		t.Fatalf("%d access-log lines, want %d:\n%s", len(lines), len(want), out)
	}
	for i, w := range want {
		var rec map[string]any
		if err := json.Unmarshal([]byte(lines[i]), &rec); err != nil {
			t.Fatal(err)
		}
		got := struct{ outcome, code, reason, issuer, client string }{str(rec["outcome"]), str(rec["code"]), str(rec["auth_reason"]), str(rec["issuer"]), str(rec["client_id"])}
		if got != w || rec["method"] != "/tollgate.inventory.v1.InventoryService/GetItem" || rec["peer"] == nil {
			t.Errorf("line %d = %s\nwant %+v", i, lines[i], w)
		}
	}
	for _, tok := range []string{good, noScope, "garbage"} {
		if strings.Contains(out, tok) {
			t.Errorf("access log contains a token")
		}
	}
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// With failures only, a successful call writes nothing and a refused one
// its line, as before.
func TestAccessLogFailuresOnly(t *testing.T) {
	var buf jwtest.Buffer
	f := serve(t, WithAccessLog(slog.New(slog.NewJSONHandler(&buf, nil))), WithAccessLogFailuresOnly())
	for range 3 {
		if _, err := f.inv.GetItem(callWith("Bearer "+f.token(t, nil, nil)), &inventoryv1.GetItemRequest{}); err != nil {
			t.Fatal(err)
		}
	}
	_, _ = f.inv.GetItem(context.Background(), &inventoryv1.GetItemRequest{})
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], `"auth_reason":"missing_token"`) {
		t.Errorf("access log with failures only:\n%s\nwant the one refused call", buf.String())
	}
}
