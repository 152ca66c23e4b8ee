package metrics

import (
	"context"
	"net"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// The RPC series count what go-grpc-middleware's provider counts, under its
// names: calls started and handled by code, messages each way, latency.
func TestRPCMetrics(t *testing.T) {
	m := New()
	srv := grpc.NewServer(m.ServerOptions()...)
	hs := health.NewServer()
	healthpb.RegisterHealthServer(srv, hs)
	m.InitializeRPC(srv)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := healthpb.NewHealthClient(conn)

	handled := func(typ, method, code string) float64 {
		return testutil.ToFloat64(m.rpc.handled.WithLabelValues(typ, "grpc.health.v1.Health", method, code))
	}
	if got := handled("server_stream", "Watch", "OK"); got != 0 {
		t.Fatalf("Watch handled before any call: %v", got)
	}
	methods := len(srv.GetServiceInfo()["grpc.health.v1.Health"].Methods)
	if n := testutil.CollectAndCount(m.rpc.handled); n != methods*int(codes.Unauthenticated+1) {
		t.Errorf("%d handled series after initialisation, want every code of the %d methods", n, methods)
	}

	ctx := t.Context()
	for range 2 {
		if _, err := client.Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := client.Check(ctx, &healthpb.HealthCheckRequest{Service: "nope"}); status.Code(err) != codes.NotFound {
		t.Fatalf("Check of an unknown service: %v", err)
	}
	wctx, cancel := context.WithCancel(ctx)
	stream, err := client.Watch(wctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); err != nil {
		t.Fatal(err)
	}
	cancel()
	srv.GracefulStop() // every handler has returned and been counted

	checks := []string{"unary", "grpc.health.v1.Health", "Check"}
	watch := []string{"server_stream", "grpc.health.v1.Health", "Watch"}
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"Check started", testutil.ToFloat64(m.rpc.started.WithLabelValues(checks...)), 3},
		{"Check OK", handled("unary", "Check", "OK"), 2},
		{"Check NotFound", handled("unary", "Check", "NotFound"), 1},
		{"Check received", testutil.ToFloat64(m.rpc.received.WithLabelValues(checks...)), 3},
		{"Check sent", testutil.ToFloat64(m.rpc.sent.WithLabelValues(checks...)), 2},
		{"Watch started", testutil.ToFloat64(m.rpc.started.WithLabelValues(watch...)), 1},
		{"Watch Canceled", handled("server_stream", "Watch", "Canceled"), 1},
		{"Watch received", testutil.ToFloat64(m.rpc.received.WithLabelValues(watch...)), 1},
		{"Watch sent", testutil.ToFloat64(m.rpc.sent.WithLabelValues(watch...)), 1},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if n := testutil.CollectAndCount(m.rpc.handling); n != methods {
		t.Errorf("%d latency series, want one per method (%d)", n, methods)
	}
}
