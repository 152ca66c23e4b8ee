package interceptors

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	authv1 "github.com/tollgate-rpc/tollgate/gen/go/tollgate/auth/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Policy is what a caller needs to call one method.
type Policy struct {
	// Public methods need no token.
	Public bool
	// Scopes the token must all carry. Empty on a non-public policy means
	// any valid token will do; the proto options never produce that, only
	// WithMethodPolicy does.
	Scopes []string
}

// ErrNoPolicy is wrapped by Check's error when methods lack a policy.
var ErrNoPolicy = errors.New("methods without an access policy")

// resolvePolicy finds the policy of fullMethod ("/pkg.Service/Method"):
// first an explicit override, then the proto method option, then the proto
// service option.
func (a *Authenticator) resolvePolicy(fullMethod string) (Policy, error) {
	if p, ok := a.opts.overrides[fullMethod]; ok {
		return p, nil
	}
	service, method, ok := splitMethod(fullMethod)
	if !ok {
		return Policy{}, fmt.Errorf("%s: not a /service/method name", fullMethod)
	}
	if p, ok := a.opts.overrides[service]; ok {
		return p, nil
	}
	d, err := a.opts.descriptors.FindDescriptorByName(protoreflect.FullName(service))
	if err != nil {
		return Policy{}, fmt.Errorf("%s: service descriptor not registered", fullMethod)
	}
	sd, ok := d.(protoreflect.ServiceDescriptor)
	if !ok {
		return Policy{}, fmt.Errorf("%s: %s is not a service", fullMethod, service)
	}
	md := sd.Methods().ByName(protoreflect.Name(method))
	if md == nil {
		return Policy{}, fmt.Errorf("%s: method not in service descriptor", fullMethod)
	}
	if ap, ok := proto.GetExtension(md.Options(), authv1.E_MethodPolicy).(*authv1.AccessPolicy); ok && ap != nil {
		return fromProto(fullMethod, "method_policy", ap)
	}
	if ap, ok := proto.GetExtension(sd.Options(), authv1.E_ServicePolicy).(*authv1.AccessPolicy); ok && ap != nil {
		return fromProto(fullMethod, "service_policy", ap)
	}
	return Policy{}, fmt.Errorf("%s: no method_policy or service_policy option", fullMethod)
}

func fromProto(fullMethod, option string, ap *authv1.AccessPolicy) (Policy, error) {
	switch {
	case ap.GetPublic() && len(ap.GetScopes()) > 0:
		return Policy{}, fmt.Errorf("%s: %s is public and also names scopes", fullMethod, option)
	case ap.GetPublic():
		return Policy{Public: true}, nil
	case len(ap.GetScopes()) == 0:
		return Policy{}, fmt.Errorf("%s: %s names no scopes and is not public", fullMethod, option)
	}
	scopes := slices.Clone(ap.GetScopes())
	for _, s := range scopes {
		if s == "" || strings.ContainsAny(s, " \t\r\n\"\\") {
			return Policy{}, fmt.Errorf("%s: %s has invalid scope %q", fullMethod, option, s)
		}
	}
	slices.Sort(scopes)
	return Policy{Scopes: slices.Compact(scopes)}, nil
}

func splitMethod(fullMethod string) (service, method string, ok bool) {
	s, found := strings.CutPrefix(fullMethod, "/")
	if !found {
		return "", "", false
	}
	service, method, ok = strings.Cut(s, "/")
	return service, method, ok && service != "" && method != ""
}

// ServiceInfoProvider is implemented by *grpc.Server.
type ServiceInfoProvider interface {
	GetServiceInfo() map[string]grpc.ServiceInfo
}

// Check resolves the policy of every method registered on srv and fails,
// naming each one, when any method has no valid policy. Call it after
// registering services and before serving.
func (a *Authenticator) Check(srv ServiceInfoProvider) error {
	var bad []string
	for service, info := range srv.GetServiceInfo() {
		for _, m := range info.Methods {
			full := "/" + service + "/" + m.Name
			p, err := a.resolvePolicy(full)
			if err != nil {
				bad = append(bad, err.Error())
				continue
			}
			a.policies.Store(full, p)
		}
	}
	if len(bad) > 0 {
		slices.Sort(bad)
		return fmt.Errorf("%w:\n  %s", ErrNoPolicy, strings.Join(bad, "\n  "))
	}
	return nil
}

// policy returns the policy of fullMethod, resolving it the first time only.
func (a *Authenticator) policy(fullMethod string) (Policy, bool) {
	if p, ok := a.policies.Load(fullMethod); ok {
		return p.(Policy), true
	}
	p, err := a.resolvePolicy(fullMethod)
	if err != nil {
		return Policy{}, false
	}
	a.policies.Store(fullMethod, p)
	return p, true
}
