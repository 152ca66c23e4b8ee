package callcreds_test

import (
	"fmt"
	"log"

	"github.com/tollgate-rpc/tollgate/interceptors/callcreds"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
)

// Dial once with Tollgate credentials; tokens are fetched, cached and
// refreshed from then on.
func ExampleCredentials_NewClient() {
	src, err := callcreds.NewSource(callcreds.Config{
		TokenURL:     "https://issuer.internal:8400/oauth/token",
		ClientID:     "orders-service",
		ClientSecret: "from-a-secret-file",
		Audience:     "inventory",
		Scopes:       []string{"inventory.reserve"},
	})
	if err != nil {
		log.Fatal(err)
	}
	conn, err := callcreds.New(src).NewClient("inventory.internal:8401", grpc.WithTransportCredentials(credentials.NewClientTLSFromCert(nil, "")))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	fmt.Println(conn.CanonicalTarget())
	// Output: dns:///inventory.internal:8401
}
