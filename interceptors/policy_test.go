package interceptors

import (
	"context"
	"errors"
	"strings"
	"testing"

	authv1 "github.com/tollgate-rpc/tollgate/gen/go/tollgate/auth/v1"
	"github.com/tollgate-rpc/tollgate/interceptors/verify"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	_ "google.golang.org/protobuf/types/known/emptypb" // registers google/protobuf/empty.proto
)

// registerTestService adds a service descriptor to a registry of the test's
// own (not the process-global one, so the test can run repeatedly), as
// generated code would, with the given policies per method (nil = none).
func registerTestService(t *testing.T, pkg string, servicePolicy *authv1.AccessPolicy, methods map[string]*authv1.AccessPolicy) (grpc.ServiceDesc, *protoregistry.Files) {
	t.Helper()
	sopts := &descriptorpb.ServiceOptions{}
	if servicePolicy != nil {
		proto.SetExtension(sopts, authv1.E_ServicePolicy, servicePolicy)
	}
	svc := &descriptorpb.ServiceDescriptorProto{Name: proto.String("TestService"), Options: sopts}
	desc := grpc.ServiceDesc{ServiceName: pkg + ".TestService", HandlerType: (*any)(nil)}
	for name, p := range methods {
		mopts := &descriptorpb.MethodOptions{}
		if p != nil {
			proto.SetExtension(mopts, authv1.E_MethodPolicy, p)
		}
		svc.Method = append(svc.Method, &descriptorpb.MethodDescriptorProto{
			Name: proto.String(name), InputType: proto.String(".google.protobuf.Empty"),
			OutputType: proto.String(".google.protobuf.Empty"), Options: mopts,
		})
		desc.Methods = append(desc.Methods, grpc.MethodDesc{MethodName: name,
			Handler: func(any, context.Context, func(any) error, grpc.UnaryServerInterceptor) (any, error) { return nil, nil }})
	}
	fdp := &descriptorpb.FileDescriptorProto{
		Name: proto.String(strings.ReplaceAll(pkg, ".", "/") + "/test.proto"), Package: proto.String(pkg),
		Syntax: proto.String("proto3"), Dependency: []string{"google/protobuf/empty.proto"},
		Service: []*descriptorpb.ServiceDescriptorProto{svc},
	}
	fd, err := protodesc.NewFile(fdp, protoregistry.GlobalFiles)
	if err != nil {
		t.Fatal(err)
	}
	files := new(protoregistry.Files)
	if err := files.RegisterFile(fd); err != nil {
		t.Fatal(err)
	}
	return desc, files
}

type noVerifier struct{}

func (noVerifier) Verify(context.Context, string) (*verify.Claims, error) {
	return nil, errors.New("not used")
}

func TestCheckNamesEveryMethodWithoutPolicy(t *testing.T) {
	read := &authv1.AccessPolicy{Scopes: []string{"x.read"}}
	desc, files := registerTestService(t, "tollgate.policytest.v1", nil, map[string]*authv1.AccessPolicy{
		"Covered": read, "Open": nil, "AlsoOpen": nil,
		"Empty": {}, "Contradictory": {Public: true, Scopes: []string{"x.read"}},
	})
	srv := grpc.NewServer()
	srv.RegisterService(&desc, struct{}{})
	err := New(noVerifier{}, WithDescriptors(files)).Check(srv)
	if !errors.Is(err, ErrNoPolicy) {
		t.Fatalf("Check = %v, want ErrNoPolicy", err)
	}
	for _, m := range []string{"Open", "AlsoOpen", "Empty", "Contradictory"} {
		if !strings.Contains(err.Error(), "/tollgate.policytest.v1.TestService/"+m+":") {
			t.Errorf("Check error does not name method %s:\n%v", m, err)
		}
	}
	if strings.Contains(err.Error(), "Covered") {
		t.Errorf("Check error names the covered method:\n%v", err)
	}
}

func TestPolicyResolution(t *testing.T) {
	desc, files := registerTestService(t, "tollgate.policytest.v2",
		&authv1.AccessPolicy{Scopes: []string{"svc.read"}},
		map[string]*authv1.AccessPolicy{
			"Inherit":  nil,
			"Override": {Scopes: []string{"m.write", "m.admin"}},
			"Public":   {Public: true},
		})
	srv := grpc.NewServer()
	srv.RegisterService(&desc, struct{}{})
	a := New(noVerifier{}, WithDescriptors(files))
	if err := a.Check(srv); err != nil {
		t.Fatal(err)
	}
	for method, want := range map[string]Policy{
		"Inherit":  {Scopes: []string{"svc.read"}},
		"Override": {Scopes: []string{"m.admin", "m.write"}}, // method replaces service, sorted
		"Public":   {Public: true},
	} {
		got, ok := a.policy("/tollgate.policytest.v2.TestService/" + method)
		if !ok || got.Public != want.Public || strings.Join(got.Scopes, ",") != strings.Join(want.Scopes, ",") {
			t.Errorf("policy(%s) = %+v, %v; want %+v", method, got, ok, want)
		}
	}
	if _, ok := a.policy("/tollgate.nosuch.v1.Service/Method"); ok {
		t.Error("an unregistered service has a policy")
	}
}
