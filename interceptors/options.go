package interceptors

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/tollgate-rpc/tollgate/interceptors/verify"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// Option customises an Authenticator.
type Option func(*options)

type options struct {
	descriptors Descriptors
	overrides   map[string]Policy
	checks      []func(ctx context.Context, method string, p *Principal) error
	accessLog   *slog.Logger
	// accessLogFailures logs only refused and failed calls.
	accessLogFailures bool
	observers         []func(Decision)
	// publicStreams caps the open streams of public methods per connection.
	publicStreams int
}

// DefaultPublicStreams is how many streams of public methods (health
// Watch, public reflection) one connection may hold open at once.
const DefaultPublicStreams = 16

// Well-known services that are not annotated with Tollgate options.
const (
	HealthService        = "grpc.health.v1.Health"
	ReflectionService    = "grpc.reflection.v1.ServerReflection"
	ReflectionServiceV1a = "grpc.reflection.v1alpha.ServerReflection"
)

func defaultOptions() options {
	return options{descriptors: protoregistry.GlobalFiles, publicStreams: DefaultPublicStreams, overrides: map[string]Policy{
		// Health checks are public: load balancers and orchestrators call
		// them without tokens.
		HealthService: {Public: true},
		// Reflection reveals the API surface: any valid token, no scope.
		ReflectionService:    {},
		ReflectionServiceV1a: {},
	}}
}

// isReflection reports whether method belongs to server reflection.
func isReflection(method string) bool {
	return strings.HasPrefix(method, "/"+ReflectionService+"/") || strings.HasPrefix(method, "/"+ReflectionServiceV1a+"/")
}

// Descriptors finds service descriptors by full name, as
// *protoregistry.Files does.
type Descriptors interface {
	FindDescriptorByName(protoreflect.FullName) (protoreflect.Descriptor, error)
}

// WithDescriptors reads the policy options of services from d instead of
// protoregistry.GlobalFiles, where generated code registers them.
func WithDescriptors(d Descriptors) Option {
	return func(o *options) { o.descriptors = d }
}

// WithMethodPolicy sets the policy of a method ("/pkg.Service/Method") or of
// a whole service ("pkg.Service"), overriding the proto options. Use it for
// services whose protos you do not own.
func WithMethodPolicy(name string, p Policy) Option {
	return func(o *options) {
		p.Scopes = slices.Clone(p.Scopes)
		slices.Sort(p.Scopes)
		o.overrides[name] = p
	}
}

// WithPublicReflection makes server reflection callable without a token.
func WithPublicReflection() Option {
	return func(o *options) {
		o.overrides[ReflectionService] = Policy{Public: true}
		o.overrides[ReflectionServiceV1a] = Policy{Public: true}
	}
}

// WithPublicStreamLimit caps the streams of public methods (called without
// a token) that one connection may hold open at once; more are refused
// with ResourceExhausted. Streams that carry a token are bounded by the
// server's MaxConcurrentStreams and by their token's lifetime instead.
func WithPublicStreamLimit(n int) Option { return func(o *options) { o.publicStreams = max(n, 1) } }

// WithCheck adds a check run after the scope check on every authenticated
// call; its error is returned to the caller as is, so it should be a status.
func WithCheck(check func(ctx context.Context, method string, p *Principal) error) Option {
	return func(o *options) { o.checks = append(o.checks, check) }
}

// WithAccessLog writes one line per call to l, at Info (Error for internal
// failures): method, client ID, subject, outcome (ok, refused with the auth
// reason, or error), status code, duration and peer. Never the token.
func WithAccessLog(l *slog.Logger) Option { return func(o *options) { o.accessLog = l } }

// WithAccessLogFailuresOnly writes access-log lines only for calls that
// were refused or failed: under load, a line per successful call is most of
// a service's log.
func WithAccessLogFailuresOnly() Option { return func(o *options) { o.accessLogFailures = true } }

// Outcome is what an auth decision allowed.
type Outcome string

// Outcomes of auth decisions.
const (
	OutcomeOK      Outcome = "ok"      // a verified token with every required scope
	OutcomePublic  Outcome = "public"  // a public method: no token needed
	OutcomeRefused Outcome = "refused" // refused, for Decision.Reason
)

// Decision describes one auth decision, for metrics.
type Decision struct {
	Method  string
	Outcome Outcome
	// Reason is why the call was refused ("" unless it was): a verify.Reason
	// for a token that did not verify (bad_signature, expired,
	// wrong_audience …; rejected for a custom TokenVerifier's own error or
	// a WithCheck hook), else missing_token, insufficient_scope or
	// no_policy. The refusal's ErrorInfo reason is ErrorInfoReason(Reason), and
	// the access log's auth_reason is Reason.
	Reason verify.Reason
	// Issuer, ClientID and Subject are the verified token's, "" when no
	// token verified. A client ID means something only with its issuer:
	// two trusted issuers may each have an "admin".
	Issuer   string
	ClientID string
	Subject  string
	// Verify is how long token verification took (0 when none ran).
	Verify time.Duration
}

// WithObserver calls f after every auth decision. It runs on the request
// path: keep it cheap (a counter increment).
func WithObserver(f func(Decision)) Option {
	return func(o *options) { o.observers = append(o.observers, f) }
}
