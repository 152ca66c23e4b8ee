package callcreds

import (
	"context"
	"fmt"
	"io"
	"sync/atomic"
	"testing"
	"time"

	ordersv1 "github.com/tollgate-rpc/tollgate/gen/go/tollgate/orders/v1"
	"github.com/tollgate-rpc/tollgate/interceptors/verify"
	"github.com/tollgate-rpc/tollgate/internal/jwtest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// echoOrders answers each Fulfil update with the order it names.
type echoOrders struct {
	ordersv1.UnimplementedOrdersServiceServer
	streams atomic.Int64
}

func (e *echoOrders) Fulfil(s grpc.BidiStreamingServer[ordersv1.FulfilRequest, ordersv1.FulfilResponse]) error {
	e.streams.Add(1)
	for {
		req, err := s.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := s.Send(&ordersv1.FulfilResponse{Order: &ordersv1.Order{OrderId: req.GetOrderId()}}); err != nil {
			return err
		}
	}
}

// fulfilConcurrently sends n updates from one goroutine (then CloseSend) while
// this one receives, and checks every answer arrives once, in order.
func fulfilConcurrently(t *testing.T, client ordersv1.OrdersServiceClient, n int) {
	t.Helper()
	stream, err := client.Fulfil(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	sendErr := make(chan error, 1)
	go func() {
		for i := range n {
			if err := stream.Send(&ordersv1.FulfilRequest{OrderId: fmt.Sprint("o-", i)}); err != nil {
				sendErr <- fmt.Errorf("send %d: %w", i, err)
				return
			}
		}
		sendErr <- stream.CloseSend()
	}()
	for i := range n {
		resp, err := stream.Recv()
		if err != nil {
			t.Fatalf("receive %d: %v", i, err)
		}
		if got, want := resp.GetOrder().GetOrderId(), fmt.Sprint("o-", i); got != want {
			t.Fatalf("answer %d is for %q, want %q", i, got, want)
		}
	}
	if _, err := stream.Recv(); err != io.EOF {
		t.Fatalf("after %d answers: %v, want io.EOF", n, err)
	}
	if err := <-sendErr; err != nil {
		t.Fatal(err)
	}
}

// One goroutine sends while another receives on a bidi stream, as gRPC
// allows — with a valid token (past the replay window), and with a token the
// server rejects, so that the stream is replaced while sends are in flight.
// Run under -race: the retry bookkeeping is shared by both goroutines.
func TestBidiStreamConcurrentSendAndReceive(t *testing.T) {
	ts := newTokenServer(t, time.Hour)
	ts.iss.MaxAge = 0
	impl := &echoOrders{}
	addr, _ := serve(t, ts, "orders", nil, func(s *grpc.Server) { ordersv1.RegisterOrdersServiceServer(s, impl) },
		verify.WithRefreshBounds(10*time.Millisecond, 20*time.Millisecond))
	src, err := NewSource(Config{TokenURL: ts.URL, ClientID: testClientID, ClientSecret: testSecret,
		Audience: "orders", Scopes: []string{"orders.fulfil"}})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := New(src, AllowPlaintext()).NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	client := ordersv1.NewOrdersServiceClient(conn)

	t.Run("valid token", func(t *testing.T) {
		for range 5 {
			fulfilConcurrently(t, client, 3*maxReplayedMessages)
		}
	})

	t.Run("rejected token retried", func(t *testing.T) {
		for round := range 3 {
			old, err := src.Token(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			ts.rotate()
			raw := ordersv1.NewOrdersServiceClient(dialPlain(t, addr))
			jwtest.Eventually(t, "the service to refuse the old key", func() bool {
				ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+old.Value)
				s, err := raw.Fulfil(ctx)
				if err != nil || s.CloseSend() != nil {
					return false
				}
				_, err = s.Recv() // io.EOF while the old key is still accepted
				return status.Code(err) == codes.Unauthenticated
			})
			fetches, streams := src.Stats().Fetches, impl.streams.Load()
			fulfilConcurrently(t, client, maxReplayedMessages/2)
			if got := src.Stats().Fetches - fetches; got != 1 {
				t.Errorf("round %d: %d token fetches for one retried stream, want 1", round, got)
			}
			if got := impl.streams.Load() - streams; got != 1 {
				t.Errorf("round %d: handler ran %d times, want 1 (the rejected stream never reaches it)", round, got)
			}
		}
	})
}
