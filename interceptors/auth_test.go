package interceptors

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	authv1 "github.com/tollgate-rpc/tollgate/gen/go/tollgate/auth/v1"
	inventoryv1 "github.com/tollgate-rpc/tollgate/gen/go/tollgate/inventory/v1"
	"github.com/tollgate-rpc/tollgate/interceptors/errorinfo"
	"github.com/tollgate-rpc/tollgate/interceptors/verify"
	"github.com/tollgate-rpc/tollgate/internal/jwtest"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/reflection"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// inventoryStub answers GetItem with the caller's client ID as the item name.
type inventoryStub struct {
	inventoryv1.UnimplementedInventoryServiceServer
}

func (inventoryStub) GetItem(ctx context.Context, _ *inventoryv1.GetItemRequest) (*inventoryv1.GetItemResponse, error) {
	p, ok := PrincipalFrom(ctx)
	if !ok {
		return nil, status.Error(codes.Internal, "no principal in handler context")
	}
	return &inventoryv1.GetItemResponse{Item: &inventoryv1.Item{Name: p.ClientID}}, nil
}

func (inventoryStub) AdjustStock(ctx context.Context, _ *inventoryv1.AdjustStockRequest) (*inventoryv1.AdjustStockResponse, error) {
	// An extra, request-dependent scope check inside the handler.
	if err := RequireScopes(ctx, "inventory.admin"); err != nil {
		return nil, err
	}
	return &inventoryv1.AdjustStockResponse{}, nil
}

type fixture struct {
	iss  *jwtest.Issuer
	kid  string
	conn *grpc.ClientConn
	inv  inventoryv1.InventoryServiceClient
	addr string
}

// serve starts a real server on 127.0.0.1:0 with the auth interceptors in
// front of the inventory stub, health, and a streaming test service.
func serve(t *testing.T, opts ...Option) *fixture {
	t.Helper()
	return serveWired(t, (*Authenticator).ServerOptions, opts...)
}

// serveWired is serve with the server options that wire auth in.
func serveWired(t *testing.T, wire func(*Authenticator) []grpc.ServerOption, opts ...Option) *fixture {
	t.Helper()
	iss := jwtest.NewIssuer(t)
	kid := iss.AddKey(jwa.ES256)
	v, err := verify.New([]verify.Issuer{{Issuer: iss.URL, Audiences: []string{"inventory"}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	desc, files := streamTestService(t)
	auth := New(v, append([]Option{WithDescriptors(descriptorChain{files, protoregistry.GlobalFiles})}, opts...)...)
	srv := grpc.NewServer(wire(auth)...)
	inventoryv1.RegisterInventoryServiceServer(srv, inventoryStub{})
	healthpb.RegisterHealthServer(srv, health.NewServer())
	reflection.Register(srv)
	srv.RegisterService(&desc, struct{}{})
	if err := auth.Check(srv); err != nil {
		t.Fatal(err)
	}
	conn, addr := listenAndDial(t, srv)
	return &fixture{iss: iss, kid: kid, conn: conn, inv: inventoryv1.NewInventoryServiceClient(conn), addr: addr}
}

// listenAndDial serves srv on 127.0.0.1:0 and dials it, until the test ends.
func listenAndDial(t *testing.T, srv *grpc.Server) (*grpc.ClientConn, string) {
	t.Helper()
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
	t.Cleanup(func() { conn.Close() })
	return conn, lis.Addr().String()
}

// streamTestService is a server-streaming service (scope "stream.read")
// whose handler sends back the client ID it finds in the stream's context.
func streamTestService(t *testing.T) (grpc.ServiceDesc, *protoregistry.Files) {
	desc, files := registerTestService(t, "tollgate.streamtest.v1",
		&authv1.AccessPolicy{Scopes: []string{"stream.read"}}, map[string]*authv1.AccessPolicy{"Watch": nil})
	desc.Methods = nil
	desc.Streams = []grpc.StreamDesc{{
		StreamName:    "Watch",
		ServerStreams: true,
		Handler: func(_ any, ss grpc.ServerStream) error {
			p, ok := PrincipalFrom(ss.Context())
			if !ok {
				return status.Error(codes.Internal, "no principal in stream context")
			}
			return ss.SendMsg(&inventoryv1.Item{Name: p.ClientID})
		},
	}}
	return desc, files
}

// descriptorChain finds a descriptor in the first registry that has it.
type descriptorChain []Descriptors

func (c descriptorChain) FindDescriptorByName(name protoreflect.FullName) (protoreflect.Descriptor, error) {
	for _, d := range c {
		if found, err := d.FindDescriptorByName(name); err == nil {
			return found, nil
		}
	}
	return nil, protoregistry.NotFound
}

func (f *fixture) token(t *testing.T, header, claims map[string]any) string {
	t.Helper()
	return f.iss.Sign(f.kid, header, f.iss.Claims("inventory", claims))
}

func callWith(vals ...string) context.Context {
	md := metadata.MD{}
	for _, v := range vals {
		md.Append("authorization", v)
	}
	return metadata.NewOutgoingContext(context.Background(), md)
}

func errorInfo(err error) *errdetails.ErrorInfo {
	for _, d := range status.Convert(err).Details() {
		if ei, ok := d.(*errdetails.ErrorInfo); ok {
			return ei
		}
	}
	return nil
}

func TestUnaryAuth(t *testing.T) {
	f := serve(t)
	good := f.token(t, nil, nil)
	for _, tc := range []struct {
		name       string
		ctx        context.Context
		wantCode   codes.Code
		wantReason string
	}{
		{"valid", callWith("Bearer " + good), codes.OK, ""},
		{"lower-case scheme", callWith("bearer " + good), codes.OK, ""},
		{"upper-case scheme", callWith("BEARER " + good), codes.OK, ""},
		{"no metadata", context.Background(), codes.Unauthenticated, errorinfo.MissingToken},
		{"two authorization values", callWith("Bearer "+good, "Bearer "+good), codes.Unauthenticated, errorinfo.MissingToken},
		{"basic scheme", callWith("Basic dXNlcjpwYXNz"), codes.Unauthenticated, errorinfo.MissingToken},
		{"scheme only", callWith("Bearer"), codes.Unauthenticated, errorinfo.MissingToken},
		{"empty token", callWith("Bearer "), codes.Unauthenticated, errorinfo.InvalidToken},
		{"token with a space", callWith("Bearer " + good[:20] + " " + good[20:]), codes.Unauthenticated, errorinfo.InvalidToken},
		{"garbage token", callWith("Bearer not-a-jwt"), codes.Unauthenticated, errorinfo.InvalidToken},
		{"forged token", callWith("Bearer " + good[:len(good)-4] + "AAAA"), codes.Unauthenticated, errorinfo.InvalidToken},
		{"expired token", callWith("Bearer " + f.token(t, nil, map[string]any{"exp": time.Now().Add(-time.Hour).Unix()})),
			codes.Unauthenticated, errorinfo.TokenExpired},
		{"no scope", callWith("Bearer " + f.token(t, nil, map[string]any{"scope": "orders.read"})),
			codes.PermissionDenied, errorinfo.InsufficientScope},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := f.inv.GetItem(tc.ctx, &inventoryv1.GetItemRequest{Sku: "x"})
			if got := status.Code(err); got != tc.wantCode {
				t.Fatalf("code = %v (%v), want %v", got, err, tc.wantCode)
			}
			if tc.wantCode == codes.OK {
				if resp.GetItem().GetName() != "client-1" {
					t.Errorf("handler saw client %q, want client-1", resp.GetItem().GetName())
				}
				return
			}
			ei := errorInfo(err)
			if ei == nil || ei.GetReason() != tc.wantReason || ei.GetDomain() != errorinfo.Domain {
				t.Errorf("ErrorInfo = %v, want reason %s in %s", ei, tc.wantReason, errorinfo.Domain)
			}
			if strings.Contains(err.Error(), good[10:40]) {
				t.Errorf("error echoes the token: %v", err)
			}
		})
	}
}

func TestScopeErrorNamesScopes(t *testing.T) {
	f := serve(t)
	_, err := f.inv.AdjustStock(callWith("Bearer "+f.token(t, nil, nil)), &inventoryv1.AdjustStockRequest{})
	ei := errorInfo(err)
	if status.Code(err) != codes.PermissionDenied || ei.GetMetadata()["required_scopes"] != "inventory.write" ||
		ei.GetMetadata()["missing_scopes"] != "inventory.write" {
		t.Errorf("AdjustStock without inventory.write: %v, %v", err, ei)
	}
	// The handler's own RequireScopes check refuses the same way.
	tok := f.token(t, nil, map[string]any{"scope": "inventory.write"})
	_, err = f.inv.AdjustStock(callWith("Bearer "+tok), &inventoryv1.AdjustStockRequest{})
	if ei := errorInfo(err); status.Code(err) != codes.PermissionDenied || ei.GetMetadata()["missing_scopes"] != "inventory.admin" ||
		!strings.HasSuffix(status.Convert(err).Message(), "required by /tollgate.inventory.v1.InventoryService/AdjustStock") {
		t.Errorf("RequireScopes: %v, %v", err, ei)
	}
}

// What a caller is told names the refusal in a few words: a parser's
// internals stay in the server's logs, and a wrong audience names the one
// expected.
func TestRefusalsDescribeWithoutInternals(t *testing.T) {
	f := serve(t)
	notJSON := jwtest.B64JSON(map[string]any{"alg": "ES256", "kid": f.kid, "typ": "at+jwt"}) + ".bm90IGpzb24.c2ln"
	for _, tc := range []struct {
		name, token, want, never string
	}{
		{"claims not JSON", notJSON, "access token invalid: token claims", "invalid character"},
		{"wrong audience", f.iss.Sign(f.kid, nil, f.iss.Claims("orders", nil)), "this service accepts inventory", ""},
		{"no jti", f.token(t, nil, map[string]any{"jti": nil}), "lacks the required claim jti", ""},
	} {
		_, err := f.inv.GetItem(callWith("Bearer "+tc.token), &inventoryv1.GetItemRequest{Sku: "x"})
		msg := status.Convert(err).Message()
		if !strings.Contains(msg, tc.want) || (tc.never != "" && strings.Contains(msg, tc.never)) {
			t.Errorf("%s: caller told %q; want it to say %q and never %q", tc.name, msg, tc.want, tc.never)
		}
	}
}

func TestStreamAuth(t *testing.T) {
	f := serve(t)
	open := func(ctx context.Context) (*inventoryv1.Item, error) {
		desc := &grpc.StreamDesc{ServerStreams: true}
		cs, err := f.conn.NewStream(ctx, desc, "/tollgate.streamtest.v1.TestService/Watch")
		if err != nil {
			return nil, err
		}
		if err := cs.SendMsg(&inventoryv1.Item{}); err != nil {
			return nil, err
		}
		if err := cs.CloseSend(); err != nil {
			return nil, err
		}
		got := &inventoryv1.Item{}
		return got, cs.RecvMsg(got)
	}
	got, err := open(callWith("Bearer " + f.token(t, nil, map[string]any{"scope": "stream.read"})))
	if err != nil || got.GetName() != "client-1" {
		t.Errorf("stream with scope: %v, %v; want the principal client-1 in the stream context", got, err)
	}
	if _, err := open(context.Background()); status.Code(err) != codes.Unauthenticated {
		t.Errorf("stream without token: %v, want Unauthenticated", err)
	}
	if _, err := open(callWith("Bearer " + f.token(t, nil, nil))); status.Code(err) != codes.PermissionDenied {
		t.Errorf("stream without scope: %v, want PermissionDenied", err)
	}
}

func TestHealthIsPublic(t *testing.T) {
	f := serve(t)
	if _, err := healthpb.NewHealthClient(f.conn).Check(context.Background(), &healthpb.HealthCheckRequest{}); err != nil {
		t.Errorf("health check without token: %v", err)
	}
}

// Streams of public methods carry no token, so each connection may hold
// only so many open: 10 connections × 1,000 health Watch streams took a
// service from 35 MB to 156 MB. Other connections are not affected, and a
// closed stream frees its place.
func TestPublicStreamsAreCappedPerConnection(t *testing.T) {
	f := serve(t, WithPublicStreamLimit(3))
	watch := func(conn *grpc.ClientConn) (context.CancelFunc, error) {
		ctx, cancel := context.WithCancel(context.Background())
		s, err := healthpb.NewHealthClient(conn).Watch(ctx, &healthpb.HealthCheckRequest{})
		if err == nil {
			_, err = s.Recv() // the first status, or the refusal
		}
		if err != nil {
			cancel()
		}
		return cancel, err
	}
	var open []context.CancelFunc
	for i := range 3 {
		cancel, err := watch(f.conn)
		if err != nil {
			t.Fatalf("watch %d of 3: %v", i+1, err)
		}
		open = append(open, cancel)
	}
	defer func() {
		for _, c := range open {
			c()
		}
	}()
	if _, err := watch(f.conn); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("4th watch on one connection: %v, want ResourceExhausted", err)
	}
	other, err := grpc.NewClient(f.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	cancel, err := watch(other)
	if err != nil {
		t.Fatalf("watch on another connection: %v", err)
	}
	open = append(open, cancel)
	open[0]()
	jwtest.Eventually(t, "a closed stream to free its place", func() bool {
		cancel, err := watch(f.conn)
		if err == nil {
			open = append(open, cancel)
		}
		return err == nil
	})
}

// grpcurl without a token used to report a missing service descriptor; the
// refusal now says that reflection needs a token.
func TestReflectionRefusalSaysItNeedsAToken(t *testing.T) {
	f := serve(t)
	stream, err := reflectionpb.NewServerReflectionClient(f.conn).ServerReflectionInfo(context.Background())
	if err == nil {
		err = stream.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}})
		if err == nil || errors.Is(err, io.EOF) { // io.EOF: the server ended the stream first; Recv has why
			_, err = stream.Recv()
		}
	}
	if status.Code(err) != codes.Unauthenticated || !strings.Contains(status.Convert(err).Message(), "server reflection requires a bearer token") {
		t.Errorf("reflection without a token: %v", err)
	}
}

func TestCheckHookRuns(t *testing.T) {
	f := serve(t, WithCheck(func(_ context.Context, method string, p *Principal) error {
		if p.Raw["tenant"] != "acme" {
			return status.Error(codes.PermissionDenied, "wrong tenant for "+method)
		}
		return nil
	}))
	if _, err := f.inv.GetItem(callWith("Bearer "+f.token(t, nil, nil)), &inventoryv1.GetItemRequest{}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("without tenant: %v, want PermissionDenied", err)
	}
	tok := f.token(t, nil, map[string]any{"tenant": "acme"})
	if _, err := f.inv.GetItem(callWith("Bearer "+tok), &inventoryv1.GetItemRequest{}); err != nil {
		t.Errorf("with tenant: %v", err)
	}
}
