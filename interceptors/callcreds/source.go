package callcreds

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
)

// Token is one access token as the source holds it.
type Token struct {
	// Value is the bare access token.
	Value string
	// Expiry is when the token stops being valid.
	Expiry time.Time

	header    string    // "Bearer " + Value, built once
	refreshAt time.Time // when a background refresh should start
	usableTil time.Time // after this the token is too close to expiry to send
}

// FetchEvent describes one token request, for the caller's metrics.
type FetchEvent struct {
	Duration time.Duration
	Err      error
	Expiry   time.Time // of the new token, when Err is nil
}

// Source gets, caches and refreshes the access tokens of one client for one
// audience and set of scopes. It is safe for concurrent use.
type Source struct {
	fetch    fetcher
	endpoint string // "token endpoint URL", for errors
	opts     options

	cur    atomic.Pointer[Token]
	flight singleflight.Group

	mu      sync.Mutex
	streak  int       // consecutive failures
	nextTry time.Time // no new request before this after a failure
	lastErr error

	fetches  atomic.Int64
	failures atomic.Int64
	waits    atomic.Int64
}

// NewSource returns a Source for cfg. It makes no request until the first
// token is needed.
func NewSource(cfg Config, opts ...Option) (*Source, error) {
	f, err := cfg.fetcher()
	if err != nil {
		return nil, err
	}
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	if o.refreshShare <= 0 || o.refreshShare >= 1 {
		return nil, fmt.Errorf("callcreds: refresh share %v not between 0 and 1", o.refreshShare)
	}
	endpoint := "token endpoint " + cfg.TokenURL
	if cfg.TokenURL == "" {
		endpoint = "the token endpoint of " + cfg.Issuer
	}
	return &Source{fetch: f, endpoint: endpoint, opts: o}, nil
}

// Token returns a valid token. It returns at once while the cached token is
// valid, starting a background refresh once the token has used its refresh
// share; it waits (at most until ctx ends) only when no valid token exists.
func (s *Source) Token(ctx context.Context) (*Token, error) {
	now := s.opts.now()
	if t := s.cur.Load(); t != nil && now.Before(t.usableTil) {
		if !now.Before(t.refreshAt) {
			s.refreshInBackground(now, t)
		}
		return t, nil
	}
	return s.wait(ctx, now)
}

// refreshInBackground starts one refresh of old unless one is running, a
// recent failure asks to wait, or old has already been replaced (a caller
// that loaded it just before a refresh finished must not start another).
// refresh stores new tokens under s.mu, and DoChan only starts (or joins) a
// goroutine, so holding s.mu across the check and the start is exact.
func (s *Source) refreshInBackground(now time.Time, old *Token) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if now.Before(s.nextTry) || s.cur.Load() != old {
		return
	}
	s.flight.DoChan("token", s.refresh) // runs in its own goroutine; result unused
}

// wait gets a token for a caller that has none to use.
func (s *Source) wait(ctx context.Context, now time.Time) (*Token, error) {
	s.waits.Add(1)
	s.mu.Lock()
	if t := s.cur.Load(); t != nil && now.Before(t.usableTil) {
		s.mu.Unlock() // a refresh finished since the caller looked
		return t, nil
	}
	if now.Before(s.nextTry) && s.lastErr != nil {
		err := s.lastErr
		retry := s.nextTry.Sub(now).Round(time.Millisecond)
		s.mu.Unlock()
		return nil, fmt.Errorf("no valid access token (next attempt in %s): %w", retry, err)
	}
	ch := s.flight.DoChan("token", s.refresh) // under s.mu: joins a running refresh or starts one
	s.mu.Unlock()
	select {
	case res := <-ch:
		if res.Err != nil {
			return nil, res.Err
		}
		return res.Val.(*Token), nil
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for access token from %s: %w", s.endpoint, ctx.Err())
	}
}

// refresh makes one token request with its own timeout, independent of the
// context of whichever call triggered it.
func (s *Source) refresh() (any, error) {
	start := s.opts.now()
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.requestTimeout)
	defer cancel()
	s.fetches.Add(1)
	ot, err := s.fetch(ctx)
	if err == nil && ot.AccessToken == "" {
		err = errors.New("response has no access_token")
	}
	end := s.opts.now()
	if err != nil {
		err = describe(s.endpoint, err)
		s.failures.Add(1)
		s.mu.Lock()
		s.streak++
		backoff := s.opts.backoffMin << min(s.streak-1, 16)
		backoff = min(backoff, s.opts.backoffMax)
		backoff = time.Duration(float64(backoff) * (0.5 + rand.Float64()/2)) // "equal jitter"
		s.nextTry = end.Add(backoff)
		s.lastErr = err
		s.mu.Unlock()
		s.opts.observe(FetchEvent{Duration: end.Sub(start), Err: err})
		return nil, err
	}
	t := s.newToken(ot.AccessToken, ot.Expiry, start)
	s.mu.Lock()
	s.streak, s.nextTry, s.lastErr = 0, time.Time{}, nil
	s.cur.Store(t)
	s.mu.Unlock()
	s.opts.observe(FetchEvent{Duration: end.Sub(start), Expiry: t.Expiry})
	return t, nil
}

func (s *Source) newToken(value string, expiry, fetched time.Time) *Token {
	if expiry.IsZero() {
		// No expires_in: x/oauth2 would keep such a token for ever; assume a
		// short life instead.
		expiry = fetched.Add(s.opts.defaultLifetime)
	}
	life := max(expiry.Sub(fetched), 0)
	// Jitter the refresh point by ±5% of the lifetime so that replicas that
	// started together do not refresh together.
	share := s.opts.refreshShare + (rand.Float64()-0.5)*0.1
	share = min(max(share, 0.05), 0.95)
	margin := min(s.opts.expiryMargin, life/10)
	return &Token{
		Value:     value,
		Expiry:    expiry,
		header:    "Bearer " + value,
		refreshAt: fetched.Add(time.Duration(float64(life) * share)),
		usableTil: expiry.Add(-margin),
	}
}

// Invalidate drops t if it is still the current token, so that the next
// call fetches a new one. Use it when a server rejected t.
func (s *Source) Invalidate(t *Token) {
	if t != nil {
		s.cur.CompareAndSwap(t, nil)
	}
}

// current returns the cached token, valid or not.
func (s *Source) current() *Token { return s.cur.Load() }

// Expiry returns when the cached token expires (zero when there is none).
func (s *Source) Expiry() time.Time {
	if t := s.cur.Load(); t != nil {
		return t.Expiry
	}
	return time.Time{}
}

// Stats counts what a Source has done, for metrics and tests.
type Stats struct {
	Fetches  int64 // token requests made
	Failures int64 // token requests that failed
	Waits    int64 // calls that found no valid token and had to wait
}

// Stats returns the counters so far.
func (s *Source) Stats() Stats {
	return Stats{Fetches: s.fetches.Load(), Failures: s.failures.Load(), Waits: s.waits.Load()}
}
