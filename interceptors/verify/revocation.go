package verify

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"
)

// revokedSet is one issuer's revocations as last read from its feed:
// immutable once published, so that every call reads it without a lock.
type revokedSet struct {
	jtis    map[string]int64 // jti → until (Unix seconds)
	clients map[string]int64 // client → tokens issued before this (Unix seconds) are revoked
	until   map[string]int64 // client → when its revocation may be dropped
}

// covers reports whether c is revoked.
func (s *revokedSet) covers(c *Claims) bool {
	if s == nil {
		return false
	}
	if _, ok := s.jtis[c.TokenID]; ok && c.TokenID != "" {
		return true
	}
	before, ok := s.clients[c.ClientID]
	return ok && c.ClientID != "" && c.IssuedAt.Unix() < before
}

// feedRevocation is one revocation as the feed sends it.
type feedRevocation struct {
	Seq          int64  `json:"seq"`
	ClientID     string `json:"client_id"`
	JTI          string `json:"jti"`
	IssuedBefore int64  `json:"issued_before"`
	Until        int64  `json:"until"`
}

// with returns a new set: s, plus rs, less what expired at now.
func (s *revokedSet) with(rs []feedRevocation, now int64) *revokedSet {
	next := &revokedSet{jtis: map[string]int64{}, clients: map[string]int64{}, until: map[string]int64{}}
	if s != nil {
		next.jtis, next.clients, next.until = maps.Clone(s.jtis), maps.Clone(s.clients), maps.Clone(s.until)
	}
	for _, r := range rs {
		switch {
		case r.JTI != "":
			next.jtis[r.JTI] = max(next.jtis[r.JTI], r.Until)
		case r.ClientID != "":
			next.clients[r.ClientID] = max(next.clients[r.ClientID], r.IssuedBefore)
			next.until[r.ClientID] = max(next.until[r.ClientID], r.Until)
		}
	}
	maps.DeleteFunc(next.jtis, func(_ string, until int64) bool { return until < now })
	for client, until := range next.until {
		if until < now {
			delete(next.clients, client)
			delete(next.until, client)
		}
	}
	return next
}

// revocations follows one issuer's revocation feed: the whole set first,
// then each change as the issuer reads it (a long poll that the issuer
// answers as soon as something is revoked).
type revocations struct {
	set      atomic.Pointer[revokedSet]
	changed  *atomic.Pointer[chan struct{}] // the verifier's: closed and replaced at each change
	synced   atomic.Int64                   // Unix nanoseconds of the last answer from the feed
	followed atomic.Bool                    // the issuer has a feed, and it is followed
	log      string                         // the feed's log, in which cursor counts; the loop's own
	cursor   int64                          // the feed's cursor; the loop's own
}

// stale reports whether a followed feed has not answered within bound at
// now (or never has).
func (r *revocations) stale(now time.Time, bound time.Duration) bool {
	return r.followed.Load() && now.Sub(time.Unix(0, r.synced.Load())) > bound
}

// apply publishes the set with rs (rs alone when replace) and wakes
// whoever waits for a change.
func (r *revocations) apply(rs []feedRevocation, replace bool, now time.Time) {
	base := r.set.Load()
	if replace {
		base = nil
	}
	r.set.Store(base.with(rs, now.Unix()))
	if r.changed != nil {
		next := make(chan struct{})
		close(*r.changed.Swap(&next))
	}
}

// feedWait is how long one feed request waits for a change: well inside
// the HTTP client's own timeout.
func feedWait(c *http.Client) time.Duration {
	wait := 25 * time.Second
	if c.Timeout > 0 {
		wait = min(wait, c.Timeout/2)
	}
	return wait
}

// followRevocations polls the issuer's revocation feed until ctx ends. The
// feed's address is configured, or named by the discovery metadata that
// gave the JWKS URL; an issuer whose keys are configured by name, or whose
// metadata names no feed, has none, and its tokens are refused only when
// they expire.
func (s *keySet) followRevocations(ctx context.Context) {
	feed := s.cfg.RevocationFeedURL
	if feed == "" {
		if s.cfg.JWKSURL != "" {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-s.discovered:
		}
		u := s.feedURL.Load()
		if u == nil {
			return // not a Tollgate issuer, or a feed not on its origin
		}
		feed = *u
	}
	var backoff time.Duration
	for ctx.Err() == nil {
		err := s.pollRevocations(ctx, feed)
		if err == nil {
			backoff = 0
			continue
		}
		backoff = nextBackoff(backoff, s.opts.retryMin, maxFeedBackoff)
		if ctx.Err() == nil {
			s.opts.logger.Warn("revocation feed failed; keeping the last set", slog.String("issuer", s.cfg.Issuer),
				slog.Any("error", err), slog.Duration("retry_in", backoff))
		}
		if !sleep(ctx, backoff) {
			return
		}
	}
}

// maxFeedBackoff caps the wait between attempts to reach a feed that is
// down: once it is back, revocations made meanwhile arrive within it.
const maxFeedBackoff = 5 * time.Second

// sleep waits d (±10 %) or until ctx ends, and reports whether ctx is live.
func sleep(ctx context.Context, d time.Duration) bool {
	d += time.Duration((rand.Float64()*0.2 - 0.1) * float64(d))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// maxFeedBytes bounds one answer of the feed (about 100,000 revocations).
const maxFeedBytes = 16 << 20

// pollRevocations asks the feed once for what came after the cursor.
func (s *keySet) pollRevocations(ctx context.Context, feed string) error {
	r := s.revocations
	u, err := url.Parse(feed)
	if err != nil {
		return err
	}
	q := u.Query()
	q.Set("after", strconv.FormatInt(r.cursor, 10))
	if r.log != "" {
		q.Set("log", r.log)
	}
	q.Set("wait", feedWait(s.opts.httpClient).String())
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	resp, err := s.opts.httpClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("revocation feed %s: HTTP %d", feed, resp.StatusCode)
	}
	var answer struct {
		Log         string           `json:"log"`
		Cursor      int64            `json:"cursor"`
		Revocations []feedRevocation `json:"revocations"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxFeedBytes)).Decode(&answer); err != nil {
		return fmt.Errorf("revocation feed %s: %w", feed, err)
	}
	now := s.opts.now()
	r.synced.Store(now.UnixNano())
	// Another log (the issuer's store was replaced) answers with all of
	// its revocations, which replace the set; its cursor starts afresh.
	newLog := answer.Log != r.log
	if newLog || len(answer.Revocations) > 0 || r.set.Load() == nil {
		r.apply(answer.Revocations, newLog, now)
	}
	if newLog {
		r.log, r.cursor = answer.Log, answer.Cursor
	}
	r.cursor = max(r.cursor, answer.Cursor)
	return nil
}
