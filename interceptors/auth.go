package interceptors

import (
	"context"
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
	log      accessLog
	policies sync.Map // full method name → Policy
	public   publicStreams
}

// New returns an Authenticator that verifies tokens with v.
func New(v TokenVerifier, opts ...Option) *Authenticator {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	return &Authenticator{verifier: v, opts: o, log: accessLog{log: o.accessLog, failuresOnly: o.accessLogFailures}}
}

// ServerOptions returns the options that install both interceptors, so that
// wiring a server is grpc.NewServer(auth.ServerOptions()...). They chain
// before any interceptor added after them. In a chain of your own (such as
// go-grpc-middleware's), use UnaryServerInterceptor and
// StreamServerInterceptor instead: the access log and the observers come
// with them.
func (a *Authenticator) ServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(a.UnaryServerInterceptor()),
		grpc.ChainStreamInterceptor(a.StreamServerInterceptor()),
	}
}

// UnaryServerInterceptor authenticates and authorises unary calls, and
// writes the access log line of each (WithAccessLog).
func (a *Authenticator) UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		start := a.log.start()
		d := Decision{Method: info.FullMethod}
		actx, err := a.authorize(ctx, &d)
		if err == nil {
			resp, err = handler(actx, req)
		}
		a.log.write(ctx, start, &d, err)
		return resp, err
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
		start := a.log.start()
		d := Decision{Method: info.FullMethod}
		err := a.stream(srv, ss, &d, handler)
		a.log.write(ss.Context(), start, &d, err)
		return err
	}
}

// stream authorises a stream and runs its handler.
func (a *Authenticator) stream(srv any, ss grpc.ServerStream, d *Decision, handler grpc.StreamHandler) error {
	ctx, err := a.authorize(ss.Context(), d)
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

// authorize decides on the call d.Method and tells the observers.
func (a *Authenticator) authorize(ctx context.Context, d *Decision) (context.Context, error) {
	ctx, err := a.decide(ctx, d)
	for _, f := range a.opts.observers {
		f(*d)
	}
	return ctx, err
}

// decide applies the method's policy and fills in d.
func (a *Authenticator) decide(ctx context.Context, d *Decision) (context.Context, error) {
	d.Outcome = OutcomeRefused
	p, ok := a.policy(d.Method)
	if !ok {
		d.Reason = ReasonNoPolicy
		return ctx, authError(codes.PermissionDenied, "no access policy for "+d.Method, d.Reason, nil)
	}
	if p.Public {
		d.Outcome = OutcomePublic
		return ctx, nil
	}
	token, err := bearerToken(ctx)
	if err == errMissingToken && isReflection(d.Method) {
		err = errReflectionNeedsToken
	}
	if err != nil {
		d.Reason = ReasonMissingToken
		return ctx, err
	}
	var start time.Time
	if len(a.opts.observers) > 0 { // the clock costs ~50ns; read it only for someone
		start = time.Now()
	}
	claims, err := a.verify(ctx, token)
	if !start.IsZero() {
		d.Verify = time.Since(start)
	}
	if err == errMalformedBearer {
		d.Reason = verify.ReasonMalformed
		return ctx, err
	}
	if err != nil {
		// A custom TokenVerifier's plain error is a rejection; with
		// verify.NewError it names its own reason.
		if d.Reason = verify.ReasonOf(err); d.Reason == "" {
			d.Reason = verify.ReasonRejected
		}
		return ctx, verifyError(err, d.Reason)
	}
	d.Issuer, d.ClientID, d.Subject = claims.Issuer, claims.ClientID, claims.Subject
	if missing := claims.MissingScopes(p.Scopes); len(missing) > 0 {
		d.Reason = ReasonInsufficientScope
		return ctx, scopeError(d.Method, p.Scopes, missing)
	}
	ctx = context.WithValue(ctx, principalKey{}, claims)
	for _, check := range a.opts.checks {
		if err := check(ctx, d.Method, claims); err != nil {
			d.Reason = verify.ReasonRejected
			return ctx, err
		}
	}
	d.Outcome = OutcomeOK
	return ctx, nil
}

// cacheLookup is implemented by verifiers that remember tokens they
// verified, as *verify.Verifier does.
type cacheLookup interface {
	Cached(token string) (*verify.Claims, bool)
}

// verify returns the claims of token. A token the verifier has already
// verified is an exact match with one that passed every check, so it skips
// the syntax check: the warm path is one cache lookup.
func (a *Authenticator) verify(ctx context.Context, token string) (*verify.Claims, error) {
	if cl, ok := a.verifier.(cacheLookup); ok {
		if c, ok := cl.Cached(token); ok {
			return c, nil
		}
	}
	if err := checkToken68(token); err != nil {
		return nil, err
	}
	return a.verifier.Verify(ctx, token)
}

type wrappedStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (w *wrappedStream) Context() context.Context { return w.ctx }
