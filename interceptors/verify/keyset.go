package verify

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lestrrat-go/httpcc"
	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/tollgate-rpc/tollgate/internal/discovery"
)

// publicKey is one verification key of an issuer. The same *publicKey stays
// in place across refreshes while the JWKS keeps publishing it, so cached
// tokens can check that their key is still trusted with one atomic load.
type publicKey struct {
	kid     string
	alg     jwa.SignatureAlgorithm // "" when the JWK does not pin one
	raw     any                    // *ecdsa.PublicKey, *rsa.PublicKey or ed25519.PublicKey
	thumb   string
	revoked atomic.Bool
	// revocations are its issuer's, so that a cached token's revocation
	// check needs no lookup of its issuer.
	revocations *revocations
}

// keySet holds the current keys of one issuer and keeps them fresh.
type keySet struct {
	cfg  Issuer
	opts *options

	keys      atomic.Pointer[map[string]*publicKey]
	ready     chan struct{} // closed after the first successful fetch
	once      sync.Once
	attempted chan struct{} // closed when the first fetch ends, however it ended
	attempt   sync.Once
	life      context.Context // the verifier's lifetime: Close cancels every fetch

	jwksURL atomic.Pointer[string] // explicit, or found by discovery

	revocations  *revocations  // as last read from the issuer's feed
	discovered   chan struct{} // closed once discovery found the JWKS URL (and the feed's, if any)
	feedURL      atomic.Pointer[string]
	discoverOnce sync.Once

	mu             sync.Mutex
	lastUnknownKid time.Time          // last refetch caused by an unknown kid
	pending        chan struct{}      // closed when that refetch ends; nil when none runs
	loggedRefusals map[[2]string]bool // (kid, reason) of keys refused and logged

	fetches   atomic.Int64 // JWKS fetch attempts, for tests and metrics
	failures  atomic.Int64
	fetchedAt atomic.Int64 // unix nanoseconds of the last successful fetch

	lastFetchFailed atomic.Bool  // the newest fetch to end failed
	succeeded       atomic.Int64 // successful fetches, by any path
}

func newKeySet(life context.Context, cfg Issuer, opts *options) *keySet {
	s := &keySet{cfg: cfg, opts: opts, ready: make(chan struct{}), attempted: make(chan struct{}), life: life, revocations: &revocations{}, discovered: make(chan struct{})}
	s.revocations.followed.Store(cfg.RevocationFeedURL != "")
	if cfg.JWKSURL != "" {
		u := cfg.JWKSURL
		s.jwksURL.Store(&u)
	}
	return s
}

// lookup returns the key for kid. An unknown kid causes one refetch, unless
// another unknown kid caused one within the cooldown; callers that arrive
// while that refetch is running wait for it rather than fail.
func (s *keySet) lookup(ctx context.Context, kid string) (*publicKey, error) {
	if k := s.key(kid); k != nil {
		return k, nil
	}
	if s.keys.Load() == nil {
		// Keys not loaded yet (start-up): wait for the first fetch to end,
		// bounded by the caller's deadline, rather than spend the unknown-kid
		// refetch on it. If it failed, the keys are unavailable: the caller
		// learns so at once, and its token is not blamed.
		select {
		case <-s.attempted:
		case <-ctx.Done():
			return nil, NewError(ReasonKeysUnavailable, "waiting for issuer keys", ctx.Err())
		}
		if s.keys.Load() == nil {
			return nil, NewError(ReasonKeysUnavailable, "signing keys of issuer not available", nil)
		}
		if k := s.key(kid); k != nil {
			return k, nil
		}
	}
	done, ok := s.unknownKidFetch()
	if ok {
		select {
		case <-done:
		case <-ctx.Done():
			return nil, NewError(ReasonKeysUnavailable, "waiting for issuer keys", ctx.Err())
		}
		if k := s.key(kid); k != nil {
			return k, nil
		}
	}
	// The token is blamed only when a fresh key set truly lacks its key:
	// while the issuer's JWKS cannot be fetched, a key rotated in meanwhile
	// is unavailable, not unknown, and the caller should keep its token.
	if s.lastFetchFailed.Load() {
		return nil, NewError(ReasonKeysUnavailable, "token signed with a key not yet fetched: the issuer's keys cannot be fetched", nil)
	}
	return nil, NewError(ReasonUnknownKey, "token signed with an unknown key", nil)
}

func (s *keySet) key(kid string) *publicKey {
	if m := s.keys.Load(); m != nil {
		return (*m)[kid]
	}
	return nil
}

// unknownKidFetch returns a channel closed when a refetch for an unknown kid
// has finished: one it starts now, or the one still running. It refuses
// (false) when the cooldown since the last one has not passed and none is
// running.
func (s *keySet) unknownKidFetch() (<-chan struct{}, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pending != nil {
		return s.pending, true
	}
	now := s.opts.now()
	// After a failed fetch the issuer is retried sooner (at most one
	// refetch in flight, once per retry interval), so that a key rotated in
	// during an outage is found as soon as the JWKS answers again.
	cooldown := s.opts.unknownKidCooldown
	if s.lastFetchFailed.Load() {
		cooldown = min(cooldown, s.opts.retryMin)
	}
	if !s.lastUnknownKid.IsZero() && now.Sub(s.lastUnknownKid) < cooldown {
		return nil, false
	}
	s.lastUnknownKid = now
	done := make(chan struct{})
	s.pending = done
	go func() {
		// A fetch of its own, not one already running: that one may have
		// started before the new key was published.
		if _, err := s.refresh(); err != nil && s.life.Err() == nil {
			s.opts.logger.Warn("jwks refetch for an unknown kid failed; its tokens are refused as keys unavailable",
				slog.String("issuer", s.cfg.Issuer), slog.Any("error", err))
		}
		s.mu.Lock()
		s.pending = nil
		s.mu.Unlock()
		close(done)
	}()
	return done, true
}

// run keeps the key set fresh until the verifier closes: on the JWKS's
// max-age (within bounds) after a success, with jittered exponential backoff
// after a failure.
func (s *keySet) run() {
	ctx := s.life
	var backoff time.Duration
	var succeeded int64
	for {
		ttl, err := s.refresh()
		wait := s.opts.refreshDefault
		if err != nil {
			// An outage's backoff starts afresh once any fetch (an
			// unknown kid's too) has succeeded since the last failure.
			if n := s.succeeded.Load(); n != succeeded {
				succeeded, backoff = n, 0
			}
			backoff = nextBackoff(backoff, s.opts.retryMin, s.opts.refreshDefault)
			msg := "jwks refresh failed; keeping known keys"
			if s.keys.Load() == nil {
				msg = "jwks fetch failed; no keys yet, tokens of this issuer cannot be verified"
			}
			if ctx.Err() == nil {
				s.opts.logger.Warn(msg, slog.String("issuer", s.cfg.Issuer), slog.Any("error", err), slog.Duration("retry_in", backoff))
			}
			wait = backoff
		} else {
			succeeded, backoff = s.succeeded.Load(), 0
			if ttl > 0 {
				wait = ttl
			}
			wait = min(max(wait, s.opts.refreshMin), s.opts.refreshMax)
		}
		// ±10% jitter so that many replicas do not refresh in step.
		wait += time.Duration((rand.Float64()*0.2 - 0.1) * float64(wait))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// nextBackoff doubles the wait after a failed fetch, from lo, never past
// hi: after a failure the keys are refetched no later than they would be
// after a success.
func nextBackoff(prev, lo, hi time.Duration) time.Duration {
	if prev < lo {
		return min(lo, hi)
	}
	return min(prev*2, hi)
}

// refresh fetches the JWKS once and installs it. It returns the max-age the
// server asked for, or 0.
func (s *keySet) refresh() (time.Duration, error) {
	s.fetches.Add(1)
	defer s.attempt.Do(func() { close(s.attempted) })
	ctx, cancel := context.WithTimeout(s.life, s.opts.fetchTimeout)
	defer cancel()
	ttl, err := s.fetchAndInstall(ctx)
	s.lastFetchFailed.Store(err != nil)
	if err != nil {
		s.failures.Add(1)
		return 0, err
	}
	s.succeeded.Add(1)
	s.fetchedAt.Store(s.opts.now().UnixNano())
	s.once.Do(func() { close(s.ready) })
	return ttl, nil
}

func (s *keySet) fetchAndInstall(ctx context.Context) (time.Duration, error) {
	url, err := s.jwksLocation(ctx)
	if err != nil {
		return 0, err
	}
	body, hdr, err := s.get(ctx, url)
	if err != nil {
		return 0, fmt.Errorf("fetch jwks %s: %w", url, err)
	}
	set, err := jwk.Parse(body)
	if err != nil {
		return 0, fmt.Errorf("parse jwks %s: %w", url, err)
	}
	next, err := s.buildKeys(set)
	if err != nil {
		return 0, fmt.Errorf("jwks %s: %w", url, err)
	}
	if old := s.keys.Load(); old != nil {
		for kid, k := range *old {
			if n, ok := next[kid]; ok && n.thumb == k.thumb && n.alg == k.alg {
				next[kid] = k // same key: keep its identity so cached tokens stay valid
				continue
			}
			k.revoked.Store(true) // gone or replaced: tokens it signed stop verifying
		}
	}
	s.keys.Store(&next)
	var ttl time.Duration
	if dir, err := httpcc.ParseResponse(hdr.Get("Cache-Control")); err == nil {
		if age, ok := dir.MaxAge(); ok {
			ttl = time.Duration(min(age, uint64(s.opts.refreshMax/time.Second))) * time.Second // never overflows
		}
	}
	return ttl, nil
}

func (s *keySet) buildKeys(set jwk.Set) (map[string]*publicKey, error) {
	next := make(map[string]*publicKey, set.Len())
	// Two keys under one kid: which one a token means would be the
	// attacker's choice. Neither is used, whatever else is wrong with them.
	listed := make(map[string]int, set.Len())
	for i := range set.Len() {
		k, _ := set.Key(i)
		listed[k.KeyID()]++
	}
	for kid, n := range listed {
		if n > 1 && kid != "" {
			s.refused(kid, "the JWKS lists this kid more than once")
		}
	}
	for i := range set.Len() {
		k, _ := set.Key(i)
		if k.KeyID() == "" || (k.KeyUsage() != "" && k.KeyUsage() != string(jwk.ForSignature)) {
			continue // a key that cannot be named or is not for signatures is never used
		}
		if k.KeyType() == "oct" {
			continue // symmetric keys have no business in a public JWKS
		}
		if listed[k.KeyID()] > 1 {
			continue
		}
		if err := CheckKeyStrength(k); err != nil {
			s.refused(k.KeyID(), err.Error())
			continue
		}
		pub, err := k.PublicKey()
		if err != nil {
			continue
		}
		var raw any
		if err := pub.Raw(&raw); err != nil {
			continue
		}
		thumb, err := pub.Thumbprint(crypto.SHA256)
		if err != nil {
			continue
		}
		var alg jwa.SignatureAlgorithm
		if a := k.Algorithm(); a != nil && a.String() != "" {
			alg = jwa.SignatureAlgorithm(a.String())
		}
		next[k.KeyID()] = &publicKey{kid: k.KeyID(), alg: alg, raw: raw, thumb: string(thumb), revocations: s.revocations}
	}
	if len(next) == 0 {
		return nil, errors.New("no usable signing keys")
	}
	return next, nil
}

// refused logs, once per key and reason, a key of the JWKS that is not
// used.
func (s *keySet) refused(kid, reason string) {
	s.mu.Lock()
	if s.loggedRefusals == nil {
		s.loggedRefusals = map[[2]string]bool{}
	}
	first := !s.loggedRefusals[[2]string{kid, reason}]
	s.loggedRefusals[[2]string{kid, reason}] = true
	s.mu.Unlock()
	if first {
		s.opts.logger.Warn("jwks key refused; tokens it signed are not accepted", slog.String("issuer", s.cfg.Issuer),
			slog.String("kid", kid), slog.String("reason", reason))
	}
}

// jwksLocation returns the JWKS URL, discovering it from the issuer's
// metadata the first time when none was configured.
func (s *keySet) jwksLocation(ctx context.Context) (string, error) {
	if u := s.jwksURL.Load(); u != nil {
		return *u, nil
	}
	m, err := discovery.Fetch(ctx, s.opts.httpClient, s.cfg.Issuer)
	if err != nil {
		return "", err
	}
	if m.JWKSURI == "" {
		return "", fmt.Errorf("discovery of %s: no jwks_uri", s.cfg.Issuer)
	}
	// Whoever controls the discovery document must not point the keys at a
	// host of their choosing: a JWKS elsewhere is configured by name.
	if !discovery.SameOrigin(s.cfg.Issuer, m.JWKSURI) {
		return "", fmt.Errorf("discovery of %s: jwks_uri %s is not on the issuer's origin; configure the JWKS URL explicitly to trust it", s.cfg.Issuer, m.JWKSURI)
	}
	s.jwksURL.Store(&m.JWKSURI)
	switch {
	case m.RevocationFeed == "":
	case discovery.SameOrigin(s.cfg.Issuer, m.RevocationFeed):
		// Followed from now on, before any key is installed: with a
		// staleness bound, no token passes before the feed has answered.
		s.feedURL.Store(&m.RevocationFeed)
		s.revocations.followed.Store(true)
	default:
		s.opts.logger.Error("revocation feed not on the issuer's origin; not followed (configure it by name to trust it)",
			slog.String("issuer", s.cfg.Issuer), slog.String("feed", m.RevocationFeed))
	}
	s.discoverOnce.Do(func() { close(s.discovered) })
	return m.JWKSURI, nil
}

func (s *keySet) get(ctx context.Context, url string) ([]byte, http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := s.opts.httpClient.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, s.opts.maxJWKSBytes+1))
	if err != nil {
		return nil, nil, fmt.Errorf("GET %s: %w", url, err)
	}
	if int64(len(body)) > s.opts.maxJWKSBytes {
		return nil, nil, fmt.Errorf("GET %s: body larger than %d bytes", url, s.opts.maxJWKSBytes)
	}
	return body, resp.Header, nil
}
