package interceptors

import (
	"context"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/tollgate-rpc/tollgate/interceptors/verify"
	"github.com/tollgate-rpc/tollgate/internal/jwtest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// BenchmarkUnaryWarm is the whole per-call cost of auth for a token seen
// before: metadata parsing, policy lookup, cache hit, scope check, and the
// context that carries the principal.
func BenchmarkUnaryWarm(b *testing.B) {
	iss := jwtest.NewIssuer(b)
	kid := iss.AddKey(jwa.ES256)
	v, err := verify.New([]verify.Issuer{{Issuer: iss.URL, Audiences: []string{"inventory"}}})
	if err != nil {
		b.Fatal(err)
	}
	defer v.Close()
	interceptor := New(v).UnaryServerInterceptor()
	ctx := metadata.NewIncomingContext(context.Background(),
		metadata.Pairs("authorization", "Bearer "+iss.Sign(kid, nil, iss.Claims("inventory", nil))))
	info := &grpc.UnaryServerInfo{FullMethod: "/tollgate.inventory.v1.InventoryService/GetItem"}
	handler := func(context.Context, any) (any, error) { return nil, nil }
	if _, err := interceptor(ctx, nil, info, handler); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := interceptor(ctx, nil, info, handler); err != nil {
			b.Fatal(err)
		}
	}
}
