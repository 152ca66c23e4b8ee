package callcreds

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	inventoryv1 "github.com/tollgate-rpc/tollgate/gen/go/tollgate/inventory/v1"
	"github.com/tollgate-rpc/tollgate/internal/jwtest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

func plaintextClient(t *testing.T, src *Source, addr string) inventoryv1.InventoryServiceClient {
	t.Helper()
	conn, err := New(src, AllowPlaintext()).NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return inventoryv1.NewInventoryServiceClient(conn)
}

// 200 goroutines call for three token lifetimes (3 s tokens): refreshes happen in the
// background, one at a time, and nobody waits after the first token.
func TestConcurrentCallersShareProactiveRefreshes(t *testing.T) {
	const lifetime = 3 * time.Second
	ts := newTokenServer(t, lifetime)
	addr, impl, _ := serveInventory(t, ts, nil)
	src := ts.source(t)
	inv := plaintextClient(t, src, addr)
	if _, err := inv.GetItem(context.Background(), &inventoryv1.GetItemRequest{Sku: "x"}); err != nil {
		t.Fatal(err)
	}
	waitsAfterFirst := src.Stats().Waits
	stop := time.Now().Add(3 * lifetime)
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				if _, err := inv.GetItem(context.Background(), &inventoryv1.GetItemRequest{Sku: "x"}); err != nil {
					if failed.Add(1) == 1 {
						t.Errorf("RPC failed: %v", err)
					}
				}
			}
		}()
	}
	wg.Wait()
	// One request per refresh interval, never one per caller: the first
	// token, then a refresh each time a token has used its share (0.70-0.80)
	// of its life: 1 + floor(3/0.70) = 5 at most. Refreshing only at expiry
	// would allow 1 + 3 = 4, but then callers would have to wait.
	st := src.Stats()
	if st.Fetches > 5 {
		t.Errorf("%d token requests over 3 lifetimes, want at most 5", st.Fetches)
	}
	if st.Fetches < 4 {
		t.Errorf("%d token requests over 3 lifetimes: refreshes did not happen ahead of expiry", st.Fetches)
	}
	if w := st.Waits - waitsAfterFirst; w != 0 {
		t.Errorf("%d calls waited for a token after the first one was fetched", w)
	}
	t.Logf("%d RPCs, %d token requests, %d failed", impl.calls.Load(), st.Fetches, failed.Load())
}

func TestEndpointDownDuringRefresh(t *testing.T) {
	const lifetime = 2 * time.Second
	ts := newTokenServer(t, lifetime)
	addr, _, _ := serveInventory(t, ts, nil)
	src := ts.source(t, WithBackoff(50*time.Millisecond, 400*time.Millisecond))
	inv := plaintextClient(t, src, addr)
	call := func() error {
		_, err := inv.GetItem(context.Background(), &inventoryv1.GetItemRequest{Sku: "x"})
		return err
	}
	if err := call(); err != nil {
		t.Fatal(err)
	}
	first, _ := src.Token(context.Background())
	ts.mode.Store(modeDown)
	// Until just before expiry every RPC succeeds with the valid token, while
	// the source keeps retrying with backoff.
	for time.Until(first.Expiry) > 300*time.Millisecond {
		if err := call(); err != nil {
			t.Fatalf("RPC with a still-valid token failed: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	st := src.Stats()
	if st.Failures < 2 {
		t.Errorf("%d failed refreshes while the endpoint was down, want retries", st.Failures)
	}
	if st.Failures > 12 {
		t.Errorf("%d failed refreshes in under 2s: backoff not applied", st.Failures)
	}
	ts.mode.Store(modeOK)
	jwtest.Eventually(t, "a new token after the endpoint returned", func() bool {
		tok, err := src.Token(context.Background())
		return err == nil && tok.Value != first.Value
	})
	if err := call(); err != nil {
		t.Errorf("after recovery: %v", err)
	}
}

func TestEndpointHangingTimesOut(t *testing.T) {
	ts := newTokenServer(t, time.Minute)
	ts.mode.Store(modeHang)
	src := ts.source(t, WithRequestTimeout(200*time.Millisecond))
	// The caller's context has no deadline: the request's own timeout ends it.
	_, err := src.Token(context.Background())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Token with a hanging endpoint: %v, want a deadline error", err)
	}
	// A caller with a shorter deadline is released by its own context.
	src2 := ts.source(t, WithRequestTimeout(time.Hour))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := src2.Token(ctx); !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "waiting for access token") {
		t.Errorf("Token with a short caller deadline: %v", err)
	}
}

func TestBadResponsesNameEndpointAndCode(t *testing.T) {
	for _, tc := range []struct {
		name string
		mode int32
		want string
	}{
		{"garbage", modeGarbage, "token endpoint"},
		{"oauth error", modeOAuthError, "invalid_client"},
		{"down", modeDown, "503"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTokenServer(t, time.Minute)
			ts.mode.Store(tc.mode)
			_, err := ts.source(t).Token(context.Background())
			if err == nil {
				t.Fatal("Token succeeded")
			}
			if !strings.Contains(err.Error(), ts.URL) {
				t.Errorf("error %q does not name the endpoint", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), testSecret) {
				t.Errorf("error leaks the client secret: %q", err)
			}
		})
	}
}

func TestWrongSecretIsAClearError(t *testing.T) {
	ts := newTokenServer(t, time.Minute)
	src, err := NewSource(Config{TokenURL: ts.URL, ClientID: testClientID, ClientSecret: "wrong"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = src.Token(context.Background())
	if err == nil || !strings.Contains(err.Error(), "invalid_client") || strings.Contains(err.Error(), "wrong") {
		t.Errorf("Token with a wrong secret: %v", err)
	}
	// Right after a failure the source does not hammer the endpoint.
	before := ts.requests.Load()
	if _, err := src.Token(context.Background()); err == nil || !strings.Contains(err.Error(), "next attempt in") {
		t.Errorf("second Token during backoff: %v", err)
	}
	if ts.requests.Load() != before {
		t.Error("a call during backoff reached the endpoint")
	}
}

func TestMissingExpiresInGetsDefaultLifetime(t *testing.T) {
	ts := newTokenServer(t, time.Hour)
	ts.mode.Store(modeNoExpiry)
	src := ts.source(t, WithDefaultLifetime(90*time.Second))
	start := time.Now()
	tok, err := src.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if life := tok.Expiry.Sub(start); life < 89*time.Second || life > 91*time.Second {
		t.Errorf("token without expires_in lives %s, want the 90s default", life)
	}
}

func TestConfigErrors(t *testing.T) {
	for name, cfg := range map[string]Config{
		"no URL":         {ClientID: "a", ClientSecret: "b"},
		"no client":      {TokenURL: "http://127.0.0.1:1/t", ClientSecret: "b"},
		"no credentials": {TokenURL: "http://127.0.0.1:1/t", ClientID: "a"},
	} {
		if _, err := NewSource(cfg); err == nil {
			t.Errorf("NewSource(%s) succeeded", name)
		}
	}
	if _, err := NewSource(Config{TokenURL: "http://127.0.0.1:1/t", ClientID: "a", ClientSecret: "b"}, WithRefreshShare(1.5)); err == nil {
		t.Error("NewSource with refresh share 1.5 succeeded")
	}
}
