package serving

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwa"
	inventoryv1 "github.com/tollgate-rpc/tollgate/gen/go/tollgate/inventory/v1"
	"github.com/tollgate-rpc/tollgate/interceptors/verify"
	"github.com/tollgate-rpc/tollgate/internal/app/metrics"
	"github.com/tollgate-rpc/tollgate/internal/jwtest"
	"github.com/tollgate-rpc/tollgate/services/inventory"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
)

// BenchmarkGetItem is one GetItem over a real loopback connection, with 32
// calls in flight: "tollgate" through the server every service runs (RPC
// metrics, auth with a warm token and its observer, an access log line per
// call into a JSON handler), "log-refused" the same logging only refused
// calls (--access-log refused), "baseline" through the same service with no
// Tollgate at all. The differences are what Tollgate adds per call:
//
//	go test -run '^$' -bench BenchmarkGetItem -cpu 2 -count 6 ./internal/app/serving | benchstat -
func BenchmarkGetItem(b *testing.B) {
	iss := jwtest.NewIssuer(b)
	kid := iss.AddKey(jwa.ES256)
	v, err := verify.New([]verify.Issuer{{Issuer: iss.URL, Audiences: []string{inventory.Audience}}})
	if err != nil {
		b.Fatal(err)
	}
	defer v.Close()
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization",
		"Bearer "+iss.Sign(kid, nil, iss.Claims(inventory.Audience, nil)))
	servers := map[string]func(register func(grpc.ServiceRegistrar)) (*grpc.Server, error){
		"baseline": func(register func(grpc.ServiceRegistrar)) (*grpc.Server, error) {
			srv := grpc.NewServer(RecoveryOptions(log)...)
			register(srv)
			return srv, nil
		},
	}
	for arm, accessLog := range map[string]string{"tollgate": "all", "log-refused": "refused"} {
		servers[arm] = func(register func(grpc.ServiceRegistrar)) (*grpc.Server, error) {
			srv, err := NewServiceServer(v, register, ServerConfig{Log: log, Metrics: metrics.New(), AccessLog: accessLog})
			if err != nil {
				return nil, err
			}
			return srv.Server, nil
		}
	}
	for _, arm := range []string{"baseline", "log-refused", "tollgate"} {
		b.Run(arm, func(b *testing.B) {
			store := inventory.NewMemoryStore()
			if err := inventory.SeedDemo(context.Background(), store); err != nil {
				b.Fatal(err)
			}
			srv, err := servers[arm](inventory.New(store, log).Register)
			if err != nil {
				b.Fatal(err)
			}
			lis, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			go func() { _ = srv.Serve(lis) }()
			defer srv.Stop()
			conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				b.Fatal(err)
			}
			defer conn.Close()
			client := inventoryv1.NewInventoryServiceClient(conn)
			req := &inventoryv1.GetItemRequest{Sku: "widget-1"}
			if _, err := client.GetItem(ctx, req); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.SetParallelism(16)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := client.GetItem(ctx, req); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
