package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	inventoryv1 "github.com/tollgate-rpc/tollgate/gen/go/tollgate/inventory/v1"
	"github.com/tollgate-rpc/tollgate/interceptors/callcreds"
	"github.com/tollgate-rpc/tollgate/interceptors/errorinfo"
	"github.com/tollgate-rpc/tollgate/internal/jwtest"
	"github.com/tollgate-rpc/tollgate/internal/tcpproxy"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// The issuer's JWKS becomes unreachable for inventory (a proxy on its path
// cut) and the issuer rotates its signing key meanwhile: calls with tokens
// of the new key are refused Unavailable with KEYS_UNAVAILABLE — the token
// is not at fault, callers keep it and retry — never Unauthenticated; calls
// with tokens of the old key keep succeeding; and once the JWKS answers
// again the new key's tokens are accepted within seconds, not after the
// 30 s unknown-kid cooldown. Before, every call with a new-key token was
// refused unknown_key until long after the JWKS came back.
func TestFaultKeyRotatedDuringJWKSOutage(t *testing.T) {
	dir := t.TempDir()
	issuerDir := filepath.Join(dir, "issuer")
	secretFile := filepath.Join(dir, "buyer.secret")
	runTo(t, nil, "client", "add", "--data-dir", issuerDir, "--id", "buyer", "--scopes", "inventory.read",
		"--audiences", "inventory", "--secret-file", secretFile)
	issuerURL := "http://" + start(t, "issuer", nil, "issuer", "--addr", "127.0.0.1:0", "--data-dir", issuerDir,
		"--jwks-max-age", "1s").listening(t, "issuer")
	keys := tcpproxy.New(t, issuerURL+"/.well-known/jwks.json")
	invProc := start(t, "inventory", nil, "inventory", "--addr", "127.0.0.1:0", "--issuer-url", issuerURL, "--jwks-url", keys.URL,
		"--data-dir", filepath.Join(dir, "inventory"), "--access-log", "refused")
	invAddr := invProc.listening(t, "inventory")

	dial := plainCaller(t, issuerURL, "buyer", secretFile)
	oldInv := inventoryv1.NewInventoryServiceClient(dial("inventory", invAddr))
	getItem := func(inv inventoryv1.InventoryServiceClient) error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err := inv.GetItem(ctx, &inventoryv1.GetItemRequest{Sku: "widget-1"})
		return err
	}
	jwtest.Eventually(t, "inventory to serve", func() bool { return getItem(oldInv) == nil })
	secret, err := os.ReadFile(secretFile)
	if err != nil {
		t.Fatal(err)
	}
	src, err := callcreds.NewSource(callcreds.Config{TokenURL: issuerURL + "/oauth/token", ClientID: "buyer",
		ClientSecret: strings.TrimSpace(string(secret)), Audience: "inventory"})
	if err != nil {
		t.Fatal(err)
	}
	oldTok, err := src.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}

	keys.Cut()
	runTo(t, nil, "issuer", "keys", "rotate", "--data-dir", issuerDir, "--jwks-max-age", "1s")
	var newTok string
	jwtest.Eventually(t, "a token signed by the rotated key", func() bool {
		tok, err := src.Token(context.Background())
		if err != nil {
			return false
		}
		if kidOf(tok.Value) != kidOf(oldTok.Value) {
			newTok = tok.Value
			return true
		}
		src.Invalidate(tok)
		return false
	})
	conn, err := grpc.NewClient(invAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	plain := inventoryv1.NewInventoryServiceClient(conn)
	withNew := func() error {
		ctx, cancel := context.WithTimeout(bearer(newTok), 5*time.Second)
		defer cancel()
		_, err := plain.GetItem(ctx, &inventoryv1.GetItemRequest{Sku: "widget-1"})
		return err
	}
	for i := range 3 {
		err := withNew()
		if st := status.Convert(err); st.Code() != codes.Unavailable || reasonOf(st) != errorinfo.KeysUnavailable {
			t.Errorf("call %d with a new-key token while the JWKS is unreachable: %v (reason %q), want Unavailable %s",
				i, err, reasonOf(st), errorinfo.KeysUnavailable)
		}
	}
	if err := getItem(oldInv); err != nil {
		t.Errorf("a call with an old-key token during the outage: %v", err)
	}
	if !strings.Contains(invProc.out.String(), "jwks refetch for an unknown kid failed") {
		t.Error("inventory did not log its failed refetch for the new kid (#25.11)")
	}
	keys.Restore()
	restored := time.Now()
	jwtest.Eventually(t, "the new key's tokens accepted once the JWKS answers", func() bool { return withNew() == nil })
	t.Logf("new-key tokens accepted %s after the JWKS came back", time.Since(restored).Round(10*time.Millisecond))
}

// reasonOf is the ErrorInfo reason of a refusal, or "".
func reasonOf(st *status.Status) string {
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info.GetReason()
		}
	}
	return ""
}
