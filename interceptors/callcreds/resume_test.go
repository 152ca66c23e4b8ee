package callcreds

import (
	"context"
	"testing"
	"time"

	inventoryv1 "github.com/tollgate-rpc/tollgate/gen/go/tollgate/inventory/v1"
	"github.com/tollgate-rpc/tollgate/interceptors/verify"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// watchInventory is a watch: it sends the current state when the stream
// opens, then waits for changes (none come) until the stream ends.
type watchInventory struct {
	inventoryv1.UnimplementedInventoryServiceServer
}

func (w *watchInventory) WatchStock(_ *inventoryv1.WatchStockRequest, s grpc.ServerStreamingServer[inventoryv1.WatchStockResponse]) error {
	if err := s.Send(&inventoryv1.WatchStockResponse{Item: &inventoryv1.Item{Sku: "widget-1"}}); err != nil {
		return err
	}
	<-s.Context().Done()
	return status.FromContextError(s.Context().Err()).Err()
}

// A stream ends when its token expires — it used to go on for as long as
// the caller kept it open — and Resume reopens it with a fresh token.
func TestStreamsEndAtTokenExpiryAndResume(t *testing.T) {
	ts := newTokenServer(t, 2*time.Second)
	impl := &watchInventory{}
	addr, _ := serve(t, ts, "inventory", nil, func(s *grpc.Server) { inventoryv1.RegisterInventoryServiceServer(s, impl) },
		verify.WithClockSkew(0))
	src := ts.source(t)
	creds := New(src, AllowPlaintext())
	conn, err := creds.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	client := inventoryv1.NewInventoryServiceClient(conn)
	// Bounded, should a stream never end: the test then fails instead of hanging.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	stream, err := client.WatchStock(ctx, &inventoryv1.WatchStockRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); err != nil {
		t.Fatal(err)
	}
	tok, err := src.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, err = stream.Recv()
	if !TokenExpired(err) {
		t.Fatalf("stream opened with a 2 s token ended with %v, want Unauthenticated TOKEN_EXPIRED", err)
	}
	if now := time.Now(); now.Before(tok.Expiry.Truncate(time.Second)) {
		t.Errorf("stream ended at %s, before its token's exp %s", now, tok.Expiry)
	}

	fetched := ts.requests.Load()
	reopened, messages := 0, 0
	err = Resume(ctx, creds, func(ctx context.Context) (grpc.ServerStreamingClient[inventoryv1.WatchStockResponse], error) {
		return client.WatchStock(ctx, &inventoryv1.WatchStockRequest{})
	}, func(*inventoryv1.WatchStockResponse) error {
		messages++
		return nil
	}, func() {
		if reopened++; reopened == 2 {
			cancel()
		}
	})
	if status.Code(err) != codes.Canceled || reopened != 2 || messages != 2 {
		t.Errorf("Resume: %v after %d reopenings and %d messages; want it cancelled at the second reopening, after 2 messages", err, reopened, messages)
	}
	if got := ts.requests.Load() - fetched; got < 2 {
		t.Errorf("%d tokens fetched over two reopenings; each reopening needs a fresh one", got)
	}
}
