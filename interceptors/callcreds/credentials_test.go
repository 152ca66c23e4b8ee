package callcreds

import (
	"context"
	"strings"
	"testing"
	"time"

	inventoryv1 "github.com/tollgate-rpc/tollgate/gen/go/tollgate/inventory/v1"
	"github.com/tollgate-rpc/tollgate/interceptors/errorinfo"
	"github.com/tollgate-rpc/tollgate/interceptors/verify"
	"github.com/tollgate-rpc/tollgate/internal/jwtest"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

func TestTokenOnlyOverSecureChannels(t *testing.T) {
	ts := newTokenServer(t, time.Minute)
	serverTLS, pool := selfSignedTLS(t)
	addr, impl, _ := serveInventory(t, ts, serverTLS)

	// Secure by default: over TLS it just works.
	conn, err := New(ts.source(t)).NewClient(addr, grpc.WithTransportCredentials(credentials.NewClientTLSFromCert(pool, "")))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := inventoryv1.NewInventoryServiceClient(conn).GetItem(context.Background(), &inventoryv1.GetItemRequest{Sku: "x"}); err != nil {
		t.Fatalf("over TLS: %v", err)
	}

	// Over plaintext without the opt-in, no connection is even made.
	if _, err := New(ts.source(t)).NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials())); err == nil {
		t.Error("NewClient with plaintext transport and default credentials succeeded")
	}
	// Asked directly without a secure channel, the credentials refuse and
	// fetch nothing.
	src := ts.source(t)
	if _, err := New(src).GetRequestMetadata(context.Background()); status.Code(err) != codes.Unauthenticated {
		t.Errorf("GetRequestMetadata without transport security: %v, want Unauthenticated", err)
	}
	if src.Stats().Fetches != 0 {
		t.Error("a token was fetched for an insecure channel")
	}
	if !New(src).RequireTransportSecurity() || New(src, AllowPlaintext()).RequireTransportSecurity() {
		t.Error("RequireTransportSecurity must be true unless AllowPlaintext is given")
	}
	if impl.calls.Load() != 1 {
		t.Errorf("server handled %d calls, want 1", impl.calls.Load())
	}
}

// After the issuer rotates its keys and the service drops the old one, the
// first call fails with INVALID_TOKEN; the interceptor fetches a new token
// and retries once, so the caller sees success.
func TestRetryOnceAfterKeyRotation(t *testing.T) {
	ts := newTokenServer(t, time.Hour)
	ts.iss.MaxAge = 0
	addr, impl, _ := serveInventory(t, ts, nil, verify.WithRefreshBounds(10*time.Millisecond, 20*time.Millisecond))
	src := ts.source(t)
	inv := plaintextClient(t, src, addr)
	if _, err := inv.GetItem(context.Background(), &inventoryv1.GetItemRequest{Sku: "x"}); err != nil {
		t.Fatal(err)
	}
	old, _ := src.Token(context.Background())
	ts.rotate()
	// Wait until the service refuses the old token on its own.
	raw := inventoryv1.NewInventoryServiceClient(dialPlain(t, addr))
	jwtest.Eventually(t, "the service to refuse the old key", func() bool {
		ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+old.Value)
		_, err := raw.GetItem(ctx, &inventoryv1.GetItemRequest{})
		return status.Code(err) == codes.Unauthenticated
	})
	before, handled := src.Stats().Fetches, impl.calls.Load()
	if _, err := inv.GetItem(context.Background(), &inventoryv1.GetItemRequest{Sku: "x"}); err != nil {
		t.Fatalf("unary call after rotation: %v", err)
	}
	if got := src.Stats().Fetches - before; got != 1 {
		t.Errorf("%d token fetches for the retried call, want 1", got)
	}
	if got := impl.calls.Load() - handled; got != 1 {
		t.Errorf("handler ran %d times for one retried call, want 1 (the rejected attempt never reaches it)", got)
	}

	// The same for a server stream.
	ts.rotate()
	cur, _ := src.Token(context.Background())
	jwtest.Eventually(t, "the service to refuse the second key", func() bool {
		ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+cur.Value)
		_, err := raw.GetItem(ctx, &inventoryv1.GetItemRequest{})
		return status.Code(err) == codes.Unauthenticated
	})
	handled = impl.calls.Load()
	stream, err := inv.ListItems(context.Background(), &inventoryv1.ListItemsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	page, err := stream.Recv()
	if err != nil || len(page.GetItems()) != 1 {
		t.Fatalf("stream after rotation: %v, %v", page, err)
	}
	if got := impl.calls.Load() - handled; got != 1 {
		t.Errorf("stream handler ran %d times for one retried stream, want 1", got)
	}
}

func TestPermissionDeniedIsNotRetried(t *testing.T) {
	ts := newTokenServer(t, time.Hour)
	addr, _, _ := serveInventory(t, ts, nil)
	src := ts.source(t)
	conn, err := New(src, AllowPlaintext()).NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// AdjustStock needs inventory.write; the token has inventory.read.
	_, err = inventoryv1.NewInventoryServiceClient(conn).AdjustStock(context.Background(), &inventoryv1.AdjustStockRequest{})
	if status.Code(err) != codes.PermissionDenied {
		t.Fatalf("AdjustStock: %v, want PermissionDenied", err)
	}
	if f := src.Stats().Fetches; f != 1 {
		t.Errorf("%d token fetches, want 1: PermissionDenied must not trigger a refresh", f)
	}
}

func dialPlain(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// BenchmarkGetRequestMetadataWarm is the per-RPC cost of attaching a cached
// token.
func BenchmarkGetRequestMetadataWarm(b *testing.B) {
	ts := newTokenServer(b, time.Hour)
	c := New(ts.source(b), AllowPlaintext())
	ctx := context.Background()
	if _, err := c.GetRequestMetadata(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		md, err := c.GetRequestMetadata(ctx)
		if err != nil || !strings.HasPrefix(md["authorization"], "Bearer ") {
			b.Fatal(md, err)
		}
	}
}

// A service that cannot fetch its issuer's keys answers Unavailable with
// KEYS_UNAVAILABLE: the caller keeps its token instead of fetching another.
func TestKeysUnavailableKeepsTheToken(t *testing.T) {
	ts := newTokenServer(t, time.Hour)
	ts.iss.Down.Store(true) // the service's JWKS fetches fail; tokens are still issued
	addr, impl, _ := serveInventory(t, ts, nil)
	src := ts.source(t)
	inv := plaintextClient(t, src, addr)
	for range 3 {
		_, err := inv.GetItem(context.Background(), &inventoryv1.GetItemRequest{Sku: "x"})
		reason := ""
		for _, d := range status.Convert(err).Details() {
			if ei, ok := d.(*errdetails.ErrorInfo); ok {
				reason = ei.GetReason()
			}
		}
		if status.Code(err) != codes.Unavailable || reason != errorinfo.KeysUnavailable {
			t.Fatalf("GetItem while the service has no keys: %v (reason %q), want Unavailable with %s", err, reason, errorinfo.KeysUnavailable)
		}
	}
	if f := src.Stats().Fetches; f != 1 {
		t.Errorf("%d token fetches, want 1: an unavailable key set is not the token's fault", f)
	}
	if n := impl.calls.Load(); n != 0 {
		t.Errorf("handler ran %d times without a verified token", n)
	}
}
