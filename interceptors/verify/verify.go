package verify

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/tollgate-rpc/tollgate/internal/egress"
)

// Issuer is one trusted token issuer.
type Issuer struct {
	// Issuer is the exact `iss` claim value, such as
	// "https://tenant.eu.auth0.com/" or "http://127.0.0.1:8400".
	Issuer string
	// JWKSURL is where the issuer publishes its keys. When empty it is found
	// through OpenID Connect or RFC 8414 discovery under Issuer.
	JWKSURL string
	// Audiences accepted from this issuer; a token's `aud` must contain one.
	Audiences []string
	// AllowJWTType also accepts header typ "JWT", which Auth0, Entra ID and
	// Keycloak put on their access tokens. Without it only "at+jwt" passes.
	AllowJWTType bool
	// ScopeClaims names the claims that carry scopes, merged into one set
	// (ScopeClaim, ScpClaim, PermissionsClaim). Empty means {ScopeClaim}.
	ScopeClaims []string
	// RequiredClaims names the claims every token of this issuer must carry
	// (a string claim must not be empty). Nil means RFC 9068 §2.2's, from
	// [RFC9068RequiredClaims]; set it to what a provider always sends, for
	// one that predates RFC 9068 (empty, not nil: none). exp is required
	// whatever this says.
	RequiredClaims []string
	// ClientIDClaims names the claims that may carry the client's ID, the
	// first present wins. Nil means client_id, azp, cid, appid (RFC 9068,
	// Auth0 and Keycloak, Okta, Entra ID v1).
	ClientIDClaims []string
	// RevocationFeedURL is where the issuer publishes the tokens it revoked
	// (Tollgate's issuer does, at /oauth/revocations). When empty it is
	// found through discovery, as tollgate_revocation_feed_endpoint; an
	// issuer that names none has no feed, and its tokens stay valid until
	// they expire.
	RevocationFeedURL string
	// ClientOptional accepts tokens in which none of ClientIDClaims names
	// a client (Claims.ClientID is then ""). By default such a token is
	// refused (ReasonClaims, "missing client id"): logs, metrics and
	// handlers that record who acted would otherwise see nobody.
	ClientOptional bool
}

// RFC9068RequiredClaims returns the claims RFC 9068 §2.2 requires of a JWT
// access token: iss, exp, aud, sub, client_id, iat and jti.
func RFC9068RequiredClaims() []string {
	return []string{"iss", "exp", "aud", "sub", "client_id", "iat", "jti"}
}

// Verifier checks access tokens. It is safe for concurrent use.
type Verifier struct {
	opts      options
	issuers   map[string]*keySet
	verifiers map[jwa.SignatureAlgorithm]jws.Verifier
	cache     *tokenCache
	stop      context.CancelFunc
	running   sync.WaitGroup // the key sets' refresh loops

	// revocationsChanged is closed, and replaced, at each change of any
	// issuer's revocations.
	revocationsChanged atomic.Pointer[chan struct{}]

	// Every call writes a counter: on cache lines of their own, so that
	// the writes from one core do not evict the fields every call reads
	// (opts, the cache) from the others'.
	_            [64]byte
	hits, misses atomic.Int64
	_            [64]byte
}

// New returns a Verifier for the given issuers and starts fetching their keys
// in the background; call Close to stop. New does not wait for the keys: use
// Ready for that.
func New(issuers []Issuer, opts ...Option) (*Verifier, error) {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	if len(issuers) == 0 {
		return nil, errors.New("verify: no trusted issuers")
	}
	if len(o.algorithms) == 0 {
		return nil, errors.New("verify: no signature algorithms allowed")
	}
	if o.skew < 0 || o.skew > MaxClockSkew {
		return nil, fmt.Errorf("verify: clock skew %s: between 0 and %s", o.skew, MaxClockSkew)
	}
	if d := o.revocationMaxStale; d != 0 && d < MinRevocationStaleness {
		return nil, fmt.Errorf("verify: revocation staleness bound %s: 0 (off) or at least %s", d, MinRevocationStaleness)
	}
	// Keys and metadata are followed through redirects only within https:
	// a redirect to http would let anyone on the path substitute the keys.
	o.httpClient = egress.Secure(o.httpClient)
	v := &Verifier{
		opts:      o,
		issuers:   make(map[string]*keySet, len(issuers)),
		verifiers: make(map[jwa.SignatureAlgorithm]jws.Verifier, len(o.algorithms)),
		cache:     newTokenCache(o.cacheSize),
	}
	changed := make(chan struct{})
	v.revocationsChanged.Store(&changed)
	for _, alg := range o.algorithms {
		jv, err := jws.NewVerifier(alg)
		if err != nil {
			return nil, fmt.Errorf("verify: algorithm %s: %w", alg, err)
		}
		v.verifiers[alg] = jv
	}
	// The key sets' lifetime: Close cancels their refreshes and any fetch in
	// flight.
	life, cancel := context.WithCancel(context.Background())
	v.stop = cancel
	for _, is := range issuers {
		if is.Issuer == "" {
			return nil, errors.New("verify: issuer with empty Issuer")
		}
		if len(is.Audiences) == 0 {
			return nil, fmt.Errorf("verify: issuer %s: no accepted audiences", is.Issuer)
		}
		if err := egress.CheckKeysURL(is.Issuer, is.JWKSURL); is.JWKSURL != "" && err != nil {
			return nil, fmt.Errorf("verify: %w", err)
		}
		if err := egress.CheckKeysURL(is.Issuer, is.RevocationFeedURL); is.RevocationFeedURL != "" && err != nil {
			return nil, fmt.Errorf("verify: revocation feed: %w", err)
		}
		if _, dup := v.issuers[is.Issuer]; dup {
			return nil, fmt.Errorf("verify: issuer %s configured twice", is.Issuer)
		}
		if len(is.ScopeClaims) == 0 {
			is.ScopeClaims = []string{ScopeClaim}
		}
		is.Audiences = slices.Clone(is.Audiences)
		if is.RequiredClaims == nil {
			is.RequiredClaims = RFC9068RequiredClaims()
		}
		is.RequiredClaims = slices.Clone(is.RequiredClaims)
		if is.ClientIDClaims == nil {
			is.ClientIDClaims = []string{"client_id", "azp", "cid", "appid"}
		}
		is.ClientIDClaims = slices.Clone(is.ClientIDClaims)
		is.ScopeClaims = slices.Clone(is.ScopeClaims)
		v.issuers[is.Issuer] = newKeySet(life, is, &v.opts)
		v.issuers[is.Issuer].revocations.changed = &v.revocationsChanged
	}
	for _, ks := range v.issuers {
		v.running.Go(ks.run)
		v.running.Go(func() { ks.followRevocations(life) })
	}
	return v, nil
}

// Close stops background key refreshes, cancels fetches in flight, and
// returns once they have ended.
func (v *Verifier) Close() {
	v.stop()
	v.running.Wait() // nothing fetches or logs once Close returns
}

// Ready waits until every issuer's keys have been fetched once, or ctx
// ends; with WithRevocationMaxStaleness, it fails while an issuer's
// revocation feed has not answered within the bound.
func (v *Verifier) Ready(ctx context.Context) error {
	for iss, ks := range v.issuers {
		select {
		case <-ks.ready:
		case <-ctx.Done():
			return fmt.Errorf("keys of issuer %s: %w", iss, ctx.Err())
		}
		if bound := v.opts.revocationMaxStale; bound > 0 && ks.revocations.stale(v.opts.now(), bound) {
			return fmt.Errorf("revocations of issuer %s: not heard from within %s", iss, bound)
		}
	}
	return nil
}

// Verify checks token and returns its claims. Every refusal is an *Error
// whose Reason says why.
func (v *Verifier) Verify(ctx context.Context, token string) (*Claims, error) {
	if c, found, err := v.cached(token); found {
		return c, err
	}
	return v.verifyAndCache(ctx, token)
}

// cached looks token up in the verified-token cache: found is false for a
// token it does not hold; otherwise the claims, or the refusal the
// issuer's revocations give them. A revoked token stays cached, so that
// each of its refusals costs a lookup, not a signature check.
func (v *Verifier) cached(token string) (c *Claims, found bool, err error) {
	if len(token) > v.opts.maxTokenBytes {
		return nil, false, nil
	}
	now := v.opts.now()
	c, key, found := v.cache.get(token, now)
	if !found {
		return nil, false, nil
	}
	if err := v.revocationError(key.revocations, c, now); err != nil {
		return nil, true, err
	}
	v.hits.Add(1)
	return c, true, nil
}

var (
	errRevoked          = NewError(ReasonRevoked, "token revoked", nil)
	errRevocationsStale = NewError(ReasonRevocationsUnavailable, "the issuer's revocations are older than this service accepts", nil)
)

// RevocationStaleness describes each followed revocation feed that has not
// answered for longer than a healthy one takes (two long polls), saying
// for how long: detail for a readiness probe, which stays ready unless
// WithRevocationMaxStaleness is set. Empty while every feed is current.
func (v *Verifier) RevocationStaleness() []string {
	now := v.opts.now()
	healthy := 2*feedWait(v.opts.httpClient) + 5*time.Second
	var out []string
	for iss, ks := range v.issuers {
		if r := ks.revocations; r.stale(now, healthy) {
			if t := r.synced.Load(); t != 0 {
				out = append(out, fmt.Sprintf("revocations of issuer %s: the feed last answered %s ago", iss, now.Sub(time.Unix(0, t)).Round(time.Second)))
			} else {
				out = append(out, fmt.Sprintf("revocations of issuer %s: the feed has not answered yet", iss))
			}
		}
	}
	slices.Sort(out)
	return out
}

// Revoked reports whether c's issuer has revoked it, by its jti or its
// client, as last read from the issuer's revocation feed.
func (v *Verifier) Revoked(c *Claims) bool {
	ks := v.issuers[c.Issuer]
	return ks != nil && ks.revocations.set.Load().covers(c)
}

// revocationError is why c is refused on its issuer's revocations r: it is
// revoked, or (with a staleness bound) the issuer's feed has not answered
// within it; nil otherwise.
func (v *Verifier) revocationError(r *revocations, c *Claims, now time.Time) error {
	if r.set.Load().covers(c) {
		return errRevoked
	}
	if bound := v.opts.revocationMaxStale; bound > 0 && r.stale(now, bound) {
		return errRevocationsStale
	}
	return nil
}

// RevocationsChanged returns a channel closed at the next change of any
// issuer's revocations, for whoever holds claims open (a stream) and must
// end when they are revoked.
func (v *Verifier) RevocationsChanged() <-chan struct{} { return *v.revocationsChanged.Load() }

// Cached returns the claims of a token that verified before and is still
// valid (an exact match, its key still published), doing nothing else; ok
// is false for any other token, which Verify must then check. It lets a
// caller skip its own syntax checks for a token it has already seen.
func (v *Verifier) Cached(token string) (c *Claims, ok bool) {
	c, found, err := v.cached(token)
	if err != nil {
		return nil, false // Verify refuses it
	}
	return c, found
}

func (v *Verifier) verifyAndCache(ctx context.Context, token string) (*Claims, error) {
	if len(token) > v.opts.maxTokenBytes {
		return nil, NewError(ReasonTooLarge, fmt.Sprintf("token longer than %d bytes", v.opts.maxTokenBytes), nil)
	}
	now := v.opts.now()
	v.misses.Add(1)
	c, key, err := v.verify(ctx, token, now)
	if err != nil {
		return nil, err
	}
	v.cache.put(token, c, key, v.ValidUntil(c), now)
	if err := v.revocationError(key.revocations, c, now); err != nil {
		return nil, err
	}
	return c, nil
}

// header is the part of a JOSE header the rules look at.
type header struct {
	Alg, Kid, Typ string
	// critical: the header has crit or b64, whose meaning this verifier
	// does not implement, so the token is refused.
	critical bool
}

// decodeHeader decodes a JOSE header. Member names are matched exactly, as
// JOSE requires ("ALG" is not alg), and alg, kid and typ must be strings.
func decodeHeader(seg string) (header, error) {
	m, err := decodeSegment(seg)
	if err != nil {
		return header{}, err
	}
	var h header
	for _, member := range [...]struct {
		name string
		dst  *string
	}{{"alg", &h.Alg}, {"kid", &h.Kid}, {"typ", &h.Typ}} {
		v, ok := m[member.name]
		if !ok {
			continue
		}
		if *member.dst, ok = v.(string); !ok {
			return header{}, fmt.Errorf("header member %s is not a string", member.name)
		}
	}
	_, crit := m["crit"]
	_, b64 := m["b64"]
	h.critical = crit || b64
	return h, nil
}

func (v *Verifier) verify(ctx context.Context, token string, now time.Time) (*Claims, *publicKey, error) {
	if strings.IndexByte(token, '\r') >= 0 || strings.IndexByte(token, '\n') >= 0 {
		// The base64 decoders below refuse every other byte outside the
		// alphabet but skip CR and LF: a line break inside a segment would
		// give one token many spellings.
		return nil, nil, NewError(ReasonMalformed, "token has a line break", nil)
	}
	h64, rest, ok1 := strings.Cut(token, ".")
	p64, s64, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || strings.Contains(s64, ".") {
		return nil, nil, NewError(ReasonMalformed, "token is not a compact JWS", nil)
	}
	hdr, err := decodeHeader(h64)
	if err != nil {
		return nil, nil, NewError(ReasonMalformed, "token header", err)
	}
	if hdr.critical {
		return nil, nil, NewError(ReasonHeader, "token header has crit or b64", nil)
	}
	alg := jwa.SignatureAlgorithm(hdr.Alg)
	jv, ok := v.verifiers[alg]
	if !ok {
		return nil, nil, NewError(ReasonAlgorithm, fmt.Sprintf("signature algorithm %q not allowed", hdr.Alg), nil)
	}
	if hdr.Kid == "" {
		return nil, nil, NewError(ReasonHeader, "token header has no kid", nil)
	}
	raw, err := decodeSegment(p64)
	if err != nil {
		return nil, nil, NewError(ReasonMalformed, "token claims", err)
	}
	c, err := newClaims(raw)
	if err != nil {
		return nil, nil, NewError(ReasonClaims, "token claims", err)
	}
	ks, ok := v.issuers[c.Issuer]
	if !ok {
		return nil, nil, NewError(ReasonIssuer, "token issuer not trusted", nil)
	}
	if !typeAllowed(hdr.Typ, ks.cfg.AllowJWTType) {
		return nil, nil, NewError(ReasonType, fmt.Sprintf("token type %q is not an access token type", hdr.Typ), nil)
	}
	key, err := ks.lookup(ctx, hdr.Kid)
	if err != nil {
		return nil, nil, err
	}
	if key.alg != "" && key.alg != alg {
		return nil, nil, NewError(ReasonAlgorithm, fmt.Sprintf("key is for %s, token says %s", key.alg, alg), nil)
	}
	sig, err := b64.DecodeString(s64)
	if err != nil {
		return nil, nil, NewError(ReasonMalformed, "token signature", err)
	}
	if err := jv.Verify([]byte(token[:len(h64)+1+len(p64)]), sig, key.raw); err != nil {
		return nil, nil, NewError(ReasonSignature, "token signature invalid", nil)
	}
	if err := v.checkTimes(c, now); err != nil {
		return nil, nil, err
	}
	if !slices.ContainsFunc(c.Audience, func(a string) bool { return slices.Contains(ks.cfg.Audiences, a) }) {
		return nil, nil, NewError(ReasonAudience, fmt.Sprintf("token audience not accepted; this service accepts %s", strings.Join(ks.cfg.Audiences, ", ")), nil)
	}
	for _, name := range ks.cfg.RequiredClaims {
		if v, ok := raw[name]; !ok || v == nil || v == "" {
			return nil, nil, NewError(ReasonClaims, "token lacks the required claim "+name, nil)
		}
	}
	c.Scopes = scopesOf(raw, ks.cfg.ScopeClaims)
	c.ClientID = clientIDOf(raw, ks.cfg.ClientIDClaims)
	if c.ClientID == "" && !ks.cfg.ClientOptional {
		return nil, nil, NewError(ReasonClaims, "missing client id: the token carries none of "+strings.Join(ks.cfg.ClientIDClaims, ", "), nil)
	}
	for _, check := range v.opts.checks {
		if err := check(c); err != nil {
			return nil, nil, NewError(ReasonRejected, "token refused", err)
		}
	}
	return c, key, nil
}

// ValidUntil is the first instant at which c no longer verifies: exp plus
// the clock skew. The cache, checkTimes and the stream interceptor's expiry
// all use it, so they agree.
func (v *Verifier) ValidUntil(c *Claims) time.Time { return c.Expiry.Add(v.opts.skew) }

// checkTimes applies exp (required), nbf and iat, each with the clock skew.
func (v *Verifier) checkTimes(c *Claims, now time.Time) error {
	skew := v.opts.skew
	switch {
	case c.Expiry.IsZero():
		return NewError(ReasonClaims, "token has no exp", nil)
	case !now.Before(v.ValidUntil(c)):
		return NewError(ReasonExpired, "token expired", nil)
	case !c.NotBefore.IsZero() && now.Add(skew).Before(c.NotBefore):
		return NewError(ReasonNotYetValid, "token not valid yet (nbf)", nil)
	case !c.IssuedAt.IsZero() && now.Add(skew).Before(c.IssuedAt):
		return NewError(ReasonNotYetValid, "token issued in the future (iat)", nil)
	}
	return nil
}

// typeAllowed applies RFC 9068 §4: typ must be "at+jwt" (optionally with the
// "application/" prefix). Issuers that predate RFC 9068 may be allowed "JWT"
// or no typ at all.
func typeAllowed(typ string, allowJWT bool) bool {
	t := strings.TrimPrefix(strings.ToLower(typ), "application/")
	return t == "at+jwt" || (allowJWT && (t == "jwt" || t == ""))
}

// b64 is strict base64url: a non-canonical encoding (stray low bits in the
// last character) is malformed; with line breaks refused, one token has
// exactly one spelling.
var b64 = base64.RawURLEncoding.Strict()

// decodeSegment decodes a base64url segment holding a JSON object.
func decodeSegment(seg string) (map[string]any, error) {
	b, err := b64.DecodeString(seg)
	if err != nil {
		return nil, err
	}
	return decodeObject(b)
}

// Stats reports counters for tests and metrics.
type Stats struct {
	CachedTokens int
	CacheHits    int64
	CacheMisses  int64
	JWKSFetches  int64 // attempts, all issuers
	JWKSFailures int64
	Issuers      map[string]IssuerStats
}

// IssuerStats are one trusted issuer's key-set counters.
type IssuerStats struct {
	JWKSFetches  int64
	JWKSFailures int64
	Keys         int
	// Fetched is when the key set was last fetched successfully (zero:
	// never).
	Fetched time.Time
	// RevocationFeed reports whether the issuer has a revocation feed this
	// verifier follows; RevocationsSynced is when it last answered (zero:
	// never), and Revoked how many revocations (tokens and clients) are in
	// force.
	RevocationFeed    bool
	RevocationsSynced time.Time
	Revoked           int
}

// Stats returns current counters.
func (v *Verifier) Stats() Stats {
	s := Stats{CachedTokens: v.cache.len(), CacheHits: v.hits.Load(), CacheMisses: v.misses.Load(),
		Issuers: make(map[string]IssuerStats, len(v.issuers))}
	for iss, ks := range v.issuers {
		is := IssuerStats{JWKSFetches: ks.fetches.Load(), JWKSFailures: ks.failures.Load()}
		if m := ks.keys.Load(); m != nil {
			is.Keys = len(*m)
		}
		if t := ks.fetchedAt.Load(); t != 0 {
			is.Fetched = time.Unix(0, t)
		}
		is.RevocationFeed = ks.revocations.followed.Load()
		if t := ks.revocations.synced.Load(); t != 0 {
			is.RevocationsSynced = time.Unix(0, t)
		}
		if set := ks.revocations.set.Load(); set != nil {
			is.Revoked = len(set.jtis) + len(set.clients)
		}
		s.Issuers[iss] = is
		s.JWKSFetches += is.JWKSFetches
		s.JWKSFailures += is.JWKSFailures
	}
	return s
}
