package interceptors

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/tollgate-rpc/tollgate/interceptors/verify"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
)

// TokenVerifier checks a bearer token; *verify.Verifier implements it.
type TokenVerifier interface {
	Verify(ctx context.Context, token string) (*verify.Claims, error)
}

// validUntil is implemented by verifiers that know the last instant a
// token verifies (its exp plus their clock skew), as *verify.Verifier does.
// For other verifiers a stream ends at the token's exp.
type validUntil interface {
	ValidUntil(c *verify.Claims) time.Time
}

// Authenticator holds the verifier and the policies of one server.
type Authenticator struct {
	verifier TokenVerifier
	opts     options
	policies sync.Map // full method name → Policy
	public   publicStreams
}

// New returns an Authenticator that verifies tokens with v.
func New(v TokenVerifier, opts ...Option) *Authenticator {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	return &Authenticator{verifier: v, opts: o}
}

// ServerOptions returns the options that install both interceptors, so that
// wiring a server is grpc.NewServer(auth.ServerOptions()...). They chain
// before any interceptor added after them.
func (a *Authenticator) ServerOptions() []grpc.ServerOption {
	unary := []grpc.UnaryServerInterceptor{a.UnaryServerInterceptor()}
	stream := []grpc.StreamServerInterceptor{a.StreamServerInterceptor()}
	if a.opts.accessLog != nil {
		l := accessLog{log: a.opts.accessLog, failureOnly: a.opts.accessLogFailures}
		unary = append([]grpc.UnaryServerInterceptor{l.unary()}, unary...)
		stream = append([]grpc.StreamServerInterceptor{l.stream()}, stream...)
	}
	return []grpc.ServerOption{grpc.ChainUnaryInterceptor(unary...), grpc.ChainStreamInterceptor(stream...)}
}

// UnaryServerInterceptor authenticates and authorises unary calls.
func (a *Authenticator) UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		ctx, err := a.authorize(ctx, info.FullMethod)
		if err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

// StreamServerInterceptor authenticates and authorises streaming calls when
// the stream opens; the handler sees the principal through the wrapped
// stream's Context. A stream lives no longer than its token: when the token
// expires (plus the verifier's clock skew) the stream's context ends, its
// sends and receives fail, and the call ends Unauthenticated with ErrorInfo
// reason TOKEN_EXPIRED, so the caller reopens it with a fresh token.
func (a *Authenticator) StreamServerInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx, err := a.authorize(ss.Context(), info.FullMethod)
		if err != nil {
			return err
		}
		p, ok := PrincipalFrom(ctx)
		if !ok { // a public method: no token, so a cap per connection
			release, err := a.public.open(ctx, a.opts.publicStreams)
			if err != nil {
				return err
			}
			defer release()
			return handler(srv, &wrappedStream{ServerStream: ss, ctx: ctx})
		}
		if p.Expiry.IsZero() {
			return handler(srv, &wrappedStream{ServerStream: ss, ctx: ctx})
		}
		until := p.Expiry
		if v, ok := a.verifier.(validUntil); ok {
			until = v.ValidUntil(p)
		}
		ctx, cancel := context.WithDeadlineCause(ctx, until, errStreamTokenExpired)
		defer cancel()
		err = handler(srv, &expiringStream{wrappedStream{ServerStream: ss, ctx: ctx}})
		if err != nil && context.Cause(ctx) == errStreamTokenExpired {
			return errStreamTokenExpired
		}
		return err
	}
}

// expiringStream fails sends and receives once its token has expired.
type expiringStream struct{ wrappedStream }

func (s *expiringStream) SendMsg(m any) error {
	if context.Cause(s.ctx) == errStreamTokenExpired {
		return errStreamTokenExpired
	}
	return s.ServerStream.SendMsg(m)
}

func (s *expiringStream) RecvMsg(m any) error {
	if context.Cause(s.ctx) == errStreamTokenExpired {
		return errStreamTokenExpired
	}
	return s.ServerStream.RecvMsg(m)
}

func (a *Authenticator) authorize(ctx context.Context, method string) (context.Context, error) {
	d := Decision{Method: method}
	ctx, err := a.decide(ctx, &d)
	if a.opts.accessLog != nil {
		if rec := record(ctx); rec != nil {
			rec.decision, rec.decided = d, true
		}
	}
	for _, f := range a.opts.observers {
		f(d)
	}
	return ctx, err
}

// decide applies the method's policy and fills in d.
func (a *Authenticator) decide(ctx context.Context, d *Decision) (context.Context, error) {
	d.Outcome = "refused"
	p, ok := a.policy(d.Method)
	if !ok {
		d.Reason = "no_policy"
		return ctx, authError(codes.PermissionDenied, "no access policy for "+d.Method, ReasonNoPolicy, nil)
	}
	if p.Public {
		d.Outcome, d.Reason = "public", "public"
		return ctx, nil
	}
	token, err := bearerToken(ctx)
	if err == errMissingToken && isReflection(d.Method) {
		err = errReflectionNeedsToken
	}
	if err != nil {
		d.Reason = "missing_token"
		if errors.Is(err, errMalformedBearer) {
			d.Reason = string(verify.ReasonMalformed)
		}
		return ctx, err
	}
	var start time.Time
	if len(a.opts.observers) > 0 { // the clock costs ~50ns; read it only for someone
		start = time.Now()
	}
	claims, err := a.verifier.Verify(ctx, token)
	if !start.IsZero() {
		d.Verify = time.Since(start)
	}
	if err != nil {
		d.Reason = string(verify.ReasonOf(err))
		return ctx, verifyError(err)
	}
	d.ClientID, d.Subject = claims.ClientID, claims.Subject
	if missing := claims.MissingScopes(p.Scopes); len(missing) > 0 {
		d.Reason = "insufficient_scope"
		return ctx, scopeError(d.Method, p.Scopes, missing)
	}
	ctx = context.WithValue(ctx, principalKey{}, claims)
	for _, check := range a.opts.checks {
		if err := check(ctx, d.Method, claims); err != nil {
			d.Reason = "rejected"
			return ctx, err
		}
	}
	d.Outcome, d.Reason = "ok", "ok"
	return ctx, nil
}

type wrappedStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (w *wrappedStream) Context() context.Context { return w.ctx }
