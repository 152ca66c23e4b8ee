package verify

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/tollgate-rpc/tollgate/internal/egress"
)

// Option customises a Verifier.
type Option func(*options)

type options struct {
	skew               time.Duration
	algorithms         []jwa.SignatureAlgorithm
	cacheSize          int
	maxTokenBytes      int
	httpClient         *http.Client
	fetchTimeout       time.Duration
	maxJWKSBytes       int64
	refreshDefault     time.Duration
	refreshMin         time.Duration
	refreshMax         time.Duration
	retryMin           time.Duration
	unknownKidCooldown time.Duration
	checks             []func(*Claims) error
	revocationMaxStale time.Duration
	now                func() time.Time
	logger             *slog.Logger
}

// DefaultAlgorithms returns the signature algorithms accepted unless
// WithAlgorithms says otherwise: asymmetric only, never "none" or HMAC. Each
// call returns a new slice, so no importer can change another's defaults.
func DefaultAlgorithms() []jwa.SignatureAlgorithm {
	return []jwa.SignatureAlgorithm{
		jwa.ES256, jwa.ES384, jwa.ES512,
		jwa.RS256, jwa.RS384, jwa.RS512,
		jwa.PS256, jwa.PS384, jwa.PS512,
		jwa.EdDSA,
	}
}

func defaultOptions() options {
	return options{
		skew:               60 * time.Second,
		algorithms:         DefaultAlgorithms(),
		cacheSize:          10_000,
		maxTokenBytes:      8 << 10,
		httpClient:         &http.Client{Timeout: 10 * time.Second, CheckRedirect: egress.HTTPSOnly},
		fetchTimeout:       10 * time.Second,
		maxJWKSBytes:       1 << 20,
		refreshDefault:     5 * time.Minute,
		refreshMin:         30 * time.Second,
		refreshMax:         time.Hour,
		retryMin:           time.Second,
		unknownKidCooldown: 30 * time.Second,
		now:                time.Now,
		logger:             slog.New(slog.DiscardHandler),
	}
}

// MaxClockSkew bounds WithClockSkew: a larger allowance would accept
// tokens long expired.
const MaxClockSkew = 5 * time.Minute

// WithClockSkew sets how far exp, nbf and iat may be off (default 60s; New
// refuses a skew below 0 or above MaxClockSkew).
func WithClockSkew(d time.Duration) Option { return func(o *options) { o.skew = d } }

// WithAlgorithms replaces the allow-list of signature algorithms. Symmetric
// algorithms and "none" are dropped from it: they never verify an access
// token from a JWKS.
func WithAlgorithms(algs ...jwa.SignatureAlgorithm) Option {
	return func(o *options) {
		o.algorithms = nil
		for _, a := range algs {
			switch a {
			case jwa.NoSignature, jwa.HS256, jwa.HS384, jwa.HS512:
				continue
			}
			o.algorithms = append(o.algorithms, a)
		}
	}
}

// WithCacheSize bounds the verified-token cache (default 10,000 tokens).
func WithCacheSize(n int) Option { return func(o *options) { o.cacheSize = n } }

// WithMaxTokenBytes refuses longer tokens before any parsing (default 8 KiB).
func WithMaxTokenBytes(n int) Option { return func(o *options) { o.maxTokenBytes = n } }

// WithHTTPClient sets the client for discovery and JWKS fetches. Whatever
// its own redirect policy, a redirect that leaves https is refused
// (egress.HTTPSOnly runs first).
func WithHTTPClient(c *http.Client) Option { return func(o *options) { o.httpClient = c } }

// WithFetchTimeout bounds each discovery or JWKS fetch (default 10s).
func WithFetchTimeout(d time.Duration) Option { return func(o *options) { o.fetchTimeout = d } }

// WithRefreshBounds clamps the JWKS refresh interval that Cache-Control
// max-age asks for (default 30s to 1h; 5m when the server says nothing).
func WithRefreshBounds(lo, hi time.Duration) Option {
	return func(o *options) {
		o.refreshMin, o.refreshMax = lo, hi
		o.refreshDefault = min(max(o.refreshDefault, o.refreshMin), o.refreshMax)
	}
}

// WithUnknownKidCooldown sets how often a token with an unknown kid may cause
// a JWKS refetch, per issuer (default 30s).
func WithUnknownKidCooldown(d time.Duration) Option {
	return func(o *options) { o.unknownKidCooldown = d }
}

// WithCheck adds a check run on every newly verified token after the
// built-in rules; an error refuses the token with ReasonRejected.
func WithCheck(check func(*Claims) error) Option {
	return func(o *options) { o.checks = append(o.checks, check) }
}

// MinRevocationStaleness is the smallest bound WithRevocationMaxStaleness
// takes: a healthy feed answers at least every 25 seconds.
const MinRevocationStaleness = time.Minute

// WithRevocationMaxStaleness makes the verifier fail closed on a feed it
// has not heard from: once an issuer's revocation feed has not answered for
// d (or before it first answered), every token of that issuer is refused
// (ReasonRevocationsUnavailable) and Ready fails, until the feed answers
// again. The default, 0, fails open: a feed that is down leaves the last
// revocations in force, and tokens revoked meanwhile stay valid until they
// expire or the feed is back. Issuers without a feed are not affected.
func WithRevocationMaxStaleness(d time.Duration) Option {
	return func(o *options) { o.revocationMaxStale = d }
}

// WithLogger sets the logger for background key refreshes.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithClock sets the time source, for tests.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }
