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

// revocationWatcher is implemented by verifiers that follow their issuers'
// revocations, as *verify.Verifier does: a stream ends when its token is
// revoked.
type revocationWatcher interface {
	Revoked(c *verify.Claims) bool
	RevocationsChanged() <-chan struct{}
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
// reason TOKEN_EXPIRED, so the caller reopens it with a fresh token; when
// the issuer revokes the token (a verifier that follows revocations), the
// same happens with reason TOKEN_REVOKED.
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
	watcher, watches := a.verifier.(revocationWatcher)
	if p.Expiry.IsZero() && !watches {
		return handler(srv, &wrappedStream{ServerStream: ss, ctx: ctx})
	}
	ctx, end := context.WithCancelCause(ctx)
	defer end(nil)
	if !p.Expiry.IsZero() {
		until := p.Expiry
		if v, ok := a.verifier.(validUntil); ok {
			until = v.ValidUntil(p)
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadlineCause(ctx, until, errStreamTokenExpired)
		defer cancel()
	}
	if watches {
		go endWhenRevoked(ctx, watcher, p, end)
	}
	err = handler(srv, &endingStream{wrappedStream{ServerStream: ss, ctx: ctx}})
	if err != nil {
		if cause := streamEnd(ctx); cause != nil {
			return cause
		}
	}
	return err
}

// endWhenRevoked ends a stream, with errStreamTokenRevoked, when its
// token's issuer revokes it; it returns when the stream's context ends.
func endWhenRevoked(ctx context.Context, w revocationWatcher, p *verify.Claims, end context.CancelCauseFunc) {
	for {
		changed := w.RevocationsChanged() // before the check, so no change goes unseen
		if w.Revoked(p) {
			end(errStreamTokenRevoked)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		}
	}
}

// streamEnd is why the interceptor ended a stream (its token expired or
// was revoked), nil when it did not.
func streamEnd(ctx context.Context) error {
	switch cause := context.Cause(ctx); cause {
	case errStreamTokenExpired, errStreamTokenRevoked:
		return cause
	}
	return nil
}

// endingStream fails sends and receives once its token has expired or
// been revoked.
type endingStream struct{ wrappedStream }

func (s *endingStream) SendMsg(m any) error {
	if err := streamEnd(s.ctx); err != nil {
		return err
	}
	return s.ServerStream.SendMsg(m)
}

func (s *endingStream) RecvMsg(m any) error {
	if err := streamEnd(s.ctx); err != nil {
		return err
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
