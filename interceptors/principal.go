package interceptors

import (
	"context"

	"github.com/tollgate-rpc/tollgate/interceptors/verify"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
)

// Principal is the verified caller: issuer, subject, client ID, audiences,
// scopes, token ID, expiry and raw claims. It is shared between calls that
// present the same token; treat it as read-only.
type Principal = verify.Claims

type principalKey struct{}

// PrincipalFrom returns the caller that the interceptors verified, or false
// for a public method or a context that did not pass through them.
func PrincipalFrom(ctx context.Context) (*Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(*Principal)
	return p, ok && p != nil
}

// RequireScopes lets a handler demand scopes beyond the method's policy, for
// decisions that depend on the request. It returns nil when the caller has
// them all, and otherwise the same PermissionDenied status as the
// interceptors (naming the method ctx carries), or Unauthenticated when ctx
// carries no principal.
func RequireScopes(ctx context.Context, scopes ...string) error {
	p, ok := PrincipalFrom(ctx)
	if !ok {
		return authError(codes.Unauthenticated, "no authenticated caller", ReasonMissingToken, nil)
	}
	if missing := p.MissingScopes(scopes); len(missing) > 0 {
		method, _ := grpc.Method(ctx)
		return scopeError(method, scopes, missing)
	}
	return nil
}
