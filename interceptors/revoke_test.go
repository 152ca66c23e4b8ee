package interceptors

import (
	"context"
	"sync"
	"testing"
	"time"

	inventoryv1 "github.com/tollgate-rpc/tollgate/gen/go/tollgate/inventory/v1"
	"github.com/tollgate-rpc/tollgate/interceptors/errorinfo"
	"github.com/tollgate-rpc/tollgate/interceptors/verify"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// revocableVerifier accepts one token whose claims the test revokes.
type revocableVerifier struct {
	claims  *verify.Claims
	mu      sync.Mutex
	revoked bool
	changed chan struct{}
}

func (v *revocableVerifier) Verify(context.Context, string) (*verify.Claims, error) {
	return v.claims, nil
}

func (v *revocableVerifier) Revoked(*verify.Claims) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.revoked
}

func (v *revocableVerifier) RevocationsChanged() <-chan struct{} {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.changed
}

func (v *revocableVerifier) revoke() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.revoked = true
	close(v.changed)
	v.changed = make(chan struct{})
}

// A stream open when its token is revoked ends at once, Unauthenticated
// with ErrorInfo reason TOKEN_REVOKED, though its token has long to live.
func TestStreamEndsWhenItsTokenIsRevoked(t *testing.T) {
	v := &revocableVerifier{changed: make(chan struct{}), claims: &verify.Claims{
		ClientID: "client-1", Scopes: []string{"stream.read"}, Expiry: time.Now().Add(time.Hour)}}
	desc, files := streamTestService(t)
	opened := make(chan struct{})
	desc.Streams[0].Handler = func(_ any, ss grpc.ServerStream) error {
		close(opened)
		<-ss.Context().Done()
		return ss.SendMsg(&inventoryv1.Item{})
	}
	auth := New(v, WithDescriptors(descriptorChain{files, protoregistry.GlobalFiles}))
	srv := grpc.NewServer(auth.ServerOptions()...)
	srv.RegisterService(&desc, struct{}{})
	conn, _ := listenAndDial(t, srv)

	cs, err := conn.NewStream(callWith("Bearer x.y.z"), &grpc.StreamDesc{ServerStreams: true}, "/tollgate.streamtest.v1.TestService/Watch")
	if err != nil {
		t.Fatal(err)
	}
	if err := cs.SendMsg(&inventoryv1.Item{}); err != nil {
		t.Fatal(err)
	}
	<-opened
	v.revoke()
	err = cs.RecvMsg(&inventoryv1.Item{})
	if status.Code(err) != codes.Unauthenticated || errorInfo(err).GetReason() != errorinfo.TokenRevoked {
		t.Fatalf("stream after its token was revoked: %v, want Unauthenticated TOKEN_REVOKED", err)
	}
}
