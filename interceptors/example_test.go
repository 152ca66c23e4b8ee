package interceptors_test

import (
	"fmt"
	"log"
	"log/slog"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	inventoryv1 "github.com/tollgate-rpc/tollgate/gen/go/tollgate/inventory/v1"
	"github.com/tollgate-rpc/tollgate/interceptors"
	"github.com/tollgate-rpc/tollgate/interceptors/verify"
	"google.golang.org/grpc"
)

// A service author's whole wiring: trust an issuer for one audience, install
// the interceptors, register, and check that every method has a policy.
func ExampleAuthenticator() {
	v, err := verify.New([]verify.Issuer{{Issuer: "http://127.0.0.1:8400", Audiences: []string{"inventory"}}})
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()

	auth := interceptors.New(v)
	srv := grpc.NewServer(auth.ServerOptions()...)
	inventoryv1.RegisterInventoryServiceServer(srv, inventoryv1.UnimplementedInventoryServiceServer{})
	if err := auth.Check(srv); err != nil {
		log.Fatal(err)
	}
	fmt.Println("every method has a policy")
	// Output: every method has a policy
}

// In a chain of your own, such as go-grpc-middleware's, install the two
// interceptors where auth belongs; the access log and observers come with
// them. Interceptors before auth (recovery here) see refused calls too.
func ExampleAuthenticator_UnaryServerInterceptor() {
	v, err := verify.New([]verify.Issuer{{Issuer: "http://127.0.0.1:8400", Audiences: []string{"inventory"}}})
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()

	auth := interceptors.New(v, interceptors.WithAccessLog(slog.Default()))
	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(recovery.UnaryServerInterceptor(), auth.UnaryServerInterceptor()),
		grpc.ChainStreamInterceptor(recovery.StreamServerInterceptor(), auth.StreamServerInterceptor()),
	)
	inventoryv1.RegisterInventoryServiceServer(srv, inventoryv1.UnimplementedInventoryServiceServer{})
	if err := auth.Check(srv); err != nil {
		log.Fatal(err)
	}
	fmt.Println("auth in a go-grpc-middleware chain")
	// Output: auth in a go-grpc-middleware chain
}
