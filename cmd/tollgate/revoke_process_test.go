package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	inventoryv1 "github.com/tollgate-rpc/tollgate/gen/go/tollgate/inventory/v1"
	"github.com/tollgate-rpc/tollgate/interceptors/callcreds"
	"github.com/tollgate-rpc/tollgate/internal/app/devsuite"
	"github.com/tollgate-rpc/tollgate/internal/app/transport"
	"github.com/tollgate-rpc/tollgate/internal/devtls"
	"github.com/tollgate-rpc/tollgate/internal/jwtest"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// `tollgate client disable` against a running `tollgate dev`: the reader's
// token, valid for minutes more, is refused TOKEN_REVOKED by inventory soon
// after the command returns, on GetItem in a loop and on the WatchStock
// stream it holds open; every call after the first refusal is refused. The
// time from the command's return to the first refusal is logged (the
// README's figure comes from this test).
func TestDisabledClientIsRefusedEverywhere(t *testing.T) {
	d := startDevProcess(t)
	reader := mustClient(t, d.info, "reader")
	src, _ := callerConn(t, d.info.TokenEndpoint, d.info.CAFile, reader.ClientID, reader.ClientSecret, "inventory")
	token, err := src.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	inv := inventoryv1.NewInventoryServiceClient(tlsConn(t, d.info.CAFile, d.info.Services["inventory"]))
	if _, err := inv.GetItem(bearer(token.Value), &inventoryv1.GetItemRequest{Sku: "widget-1"}); err != nil {
		t.Fatalf("before the disable: %v", err)
	}
	streamEnded := watchStock(t, inv, token.Value)

	runTo(t, nil, "client", "disable", "--data-dir", d.dir, "--id", reader.ClientID)
	returned := time.Now()
	var refusedAt time.Time
	for deadline := returned.Add(10 * time.Second); time.Now().Before(deadline); {
		_, err := inv.GetItem(bearer(token.Value), &inventoryv1.GetItemRequest{Sku: "widget-1"})
		switch {
		case err == nil && refusedAt.IsZero():
			continue
		case err == nil:
			t.Fatal("a call after the first refusal was accepted")
		case status.Code(err) != codes.Unauthenticated || !callcreds.TokenRevoked(err):
			t.Fatalf("refused with %v, want Unauthenticated TOKEN_REVOKED", err)
		case refusedAt.IsZero():
			refusedAt = time.Now()
			deadline = refusedAt.Add(500 * time.Millisecond) // and every call after it
		}
	}
	if refusedAt.IsZero() {
		t.Fatal("the disabled client's token was never refused")
	}
	t.Logf("first refusal %s after `client disable` returned", refusedAt.Sub(returned).Round(time.Millisecond))
	if err := <-streamEnded; !callcreds.TokenRevoked(err) {
		t.Errorf("the open WatchStock stream ended with %v, want TOKEN_REVOKED", err)
	}
}

// watchStock opens a WatchStock stream with token, waits for its first
// message, and returns a channel that receives the error that ends it.
func watchStock(t *testing.T, inv inventoryv1.InventoryServiceClient, token string) <-chan error {
	t.Helper()
	watch, err := inv.WatchStock(bearer(token), &inventoryv1.WatchStockRequest{Skus: []string{"widget-1"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := watch.Recv(); err != nil {
		t.Fatalf("the stream's first message: %v", err)
	}
	ended := make(chan error, 1)
	go func() {
		for {
			if _, err := watch.Recv(); err != nil {
				ended <- err
				return
			}
		}
	}()
	return ended
}

// RFC 7009 against a running `tollgate dev`: the reader revokes its own
// token at /oauth/revoke; inventory then refuses it TOKEN_REVOKED, the
// admin's introspection calls it inactive, and the reader's next token
// works.
func TestTokenRevokedByItsClient(t *testing.T) {
	d := startDevProcess(t)
	reader, admin := mustClient(t, d.info, "reader"), mustClient(t, d.info, "admin")
	pool, err := devtls.LoadPool(d.info.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	httpc := transport.Transport{RootCAs: pool}.HTTPClient()
	post := func(path string, c devsuite.Client, token string) (int, map[string]any) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, d.info.Issuer+path, strings.NewReader(url.Values{"token": {token}}.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(c.ClientID, c.ClientSecret)
		resp, err := httpc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body
	}
	src, _ := callerConn(t, d.info.TokenEndpoint, d.info.CAFile, reader.ClientID, reader.ClientSecret, "inventory")
	token, err := src.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	inv := inventoryv1.NewInventoryServiceClient(tlsConn(t, d.info.CAFile, d.info.Services["inventory"]))
	getItem := func(tok string) error {
		_, err := inv.GetItem(bearer(tok), &inventoryv1.GetItemRequest{Sku: "widget-1"})
		return err
	}
	if err := getItem(token.Value); err != nil {
		t.Fatal(err)
	}
	if code, body := post("/oauth/introspect", admin, token.Value); code != http.StatusOK || body["active"] != true {
		t.Fatalf("introspecting a live token: %d %v", code, body)
	}
	if code, body := post("/oauth/revoke", reader, token.Value); code != http.StatusOK {
		t.Fatalf("revoke: %d %v", code, body)
	}
	jwtest.Eventually(t, "inventory to refuse the revoked token", func() bool { return getItem(token.Value) != nil })
	if err := getItem(token.Value); !callcreds.TokenRevoked(err) {
		t.Errorf("the revoked token: %v, want TOKEN_REVOKED", err)
	}
	if code, body := post("/oauth/introspect", admin, token.Value); code != http.StatusOK || body["active"] != false {
		t.Errorf("introspecting the revoked token: %d %v, want active false", code, body)
	}
	if code, _ := post("/oauth/introspect", reader, token.Value); code != http.StatusForbidden {
		t.Errorf("the reader introspecting: %d, want 403 (only admin may)", code)
	}
	src.Invalidate(token)
	fresh, err := src.Token(context.Background())
	if err != nil || getItem(fresh.Value) != nil {
		t.Errorf("the reader's next token: %v, %v", err, getItem(fresh.Value))
	}
}
