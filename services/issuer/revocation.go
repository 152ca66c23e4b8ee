package issuer

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// A Revocation withdraws tokens before they expire: one token (JTI set),
// or every token issued to ClientID before IssuedBefore (a disabled client,
// a leaked secret's revoke-previous). Seq orders revocations across every
// replica and process: the store assigns it, one writer at a time, so a
// reader that has seen Seq n has seen every revocation before it.
type Revocation struct {
	Seq      int64  `json:"seq"`
	ClientID string `json:"client_id,omitempty"`
	JTI      string `json:"jti,omitempty"`
	// IssuedBefore, Unix seconds: a client revocation covers the tokens
	// whose iat is below it.
	IssuedBefore int64 `json:"issued_before,omitempty"`
	// Until, Unix seconds: no token the revocation covers is valid after
	// it; the record is dropped then.
	Until int64 `json:"until"`
}

// RevocationRetention is how long after the newest token it covers a
// revocation is kept: the longest token lifetime, plus margin for clock
// skew between the issuer and its verifiers.
const RevocationRetention = MaxTokenLifetime + 5*time.Minute

// ClientRevocation revokes every token client was issued until now. Its
// bound is the end of now's second: a token's iat is in whole seconds, so a
// token issued earlier in that second is covered, and the issuer stamps the
// tokens it issues the client afterwards no earlier ([Server] reads the
// revocations it has seen).
func ClientRevocation(client string, now time.Time) Revocation {
	before := ceilUnix(now)
	if before == now.Unix() {
		before++ // a token issued at exactly now has iat == now
	}
	return Revocation{ClientID: client, IssuedBefore: before, Until: before + int64(RevocationRetention/time.Second)}
}

// TokenRevocation revokes the token jti, valid at most until until.
func TokenRevocation(client, jti string, until time.Time) Revocation {
	return Revocation{ClientID: client, JTI: jti, Until: ceilUnix(until)}
}

// check says what is wrong with a revocation a caller asks to store.
func (r Revocation) check() error {
	switch {
	case r.JTI == "" && r.ClientID == "":
		return errors.New("revocation names neither a token (jti) nor a client")
	case r.JTI == "" && r.IssuedBefore <= 0:
		return fmt.Errorf("client revocation of %q has no issued-before time", r.ClientID)
	case r.JTI != "" && r.IssuedBefore != 0:
		return errors.New("a token revocation (jti) takes no issued-before time")
	case r.Until <= 0:
		return errors.New("revocation has no expiry")
	case len(r.JTI) > 256 || len(r.ClientID) > 256:
		return errors.New("revocation's jti or client ID is longer than 256 bytes")
	}
	return nil
}

// RevocationPollInterval is how often a running issuer reads the
// revocations other processes and replicas stored: the part of a
// revocation's path to the verifiers that is not a push.
const RevocationPollInterval = 200 * time.Millisecond

// revocationSet is what the issuer knows of the store's revocations: those
// in force, in Seq order. A change closes changed (and makes a new one), so
// that every waiting feed request wakes.
type revocationSet struct {
	mu      sync.Mutex
	log     string // the store's revocation log: Seqs compare only within it
	list    []Revocation
	cursor  int64 // the highest Seq read
	changed chan struct{}
	loaded  bool // read from the store at least once
	// index is the set by client and by jti, rebuilt at each change and
	// read without a lock by every token request.
	index atomic.Pointer[revocationIndex]
}

// revocationIndex is a revocation set by client (the newest issued-before
// bound) and by jti.
type revocationIndex struct {
	clients map[string]int64
	jtis    map[string]struct{}
}

// add appends revocations of log read after the cursor (from the start,
// when log is not the set's: the set is then replaced), drops those
// expired at now, and wakes the feed's waiters when anything changed.
func (rs *revocationSet) add(log string, read []Revocation, now int64) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	before := len(rs.list)
	if log != rs.log {
		rs.log, rs.list, rs.cursor, before = log, nil, 0, -1
	}
	rs.list = slices.DeleteFunc(rs.list, func(r Revocation) bool { return r.Until < now })
	for _, r := range read {
		if r.Seq > rs.cursor {
			rs.list = append(rs.list, r)
			rs.cursor = r.Seq
		}
	}
	rs.loaded = true
	if len(read) > 0 || len(rs.list) != before {
		ix := &revocationIndex{clients: map[string]int64{}, jtis: map[string]struct{}{}}
		for _, r := range rs.list {
			if r.JTI != "" {
				ix.jtis[r.JTI] = struct{}{}
			} else {
				ix.clients[r.ClientID] = max(ix.clients[r.ClientID], r.IssuedBefore)
			}
		}
		rs.index.Store(ix)
		close(rs.changed)
		rs.changed = make(chan struct{})
	}
}

// since returns the revocations after cursor, the set's log and cursor,
// and a channel closed at the next change.
func (rs *revocationSet) since(after int64) (list []Revocation, log string, cursor int64, changed <-chan struct{}) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	i, _ := slices.BinarySearchFunc(rs.list, after+1, func(r Revocation, seq int64) int { return cmpInt(r.Seq, seq) })
	return slices.Clone(rs.list[i:]), rs.log, rs.cursor, rs.changed
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// clientRevokedBefore returns the newest issued-before bound of client's
// revocations, 0 when it has none.
func (rs *revocationSet) clientRevokedBefore(client string) int64 {
	if ix := rs.index.Load(); ix != nil {
		return ix.clients[client]
	}
	return 0
}

// tokenRevoked reports whether the token jti is revoked by itself.
func (rs *revocationSet) tokenRevoked(jti string) bool {
	if ix := rs.index.Load(); ix != nil {
		_, ok := ix.jtis[jti]
		return ok
	}
	return false
}

// pollRevocations reads what was revoked since the set's cursor.
func (s *Server) pollRevocations(ctx context.Context) error {
	s.revoked.mu.Lock()
	after, known := s.revoked.cursor, s.revoked.log
	s.revoked.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, StoreTimeout)
	defer cancel()
	now := s.now()
	log, read, err := s.store.Revocations(ctx, after, now)
	if err == nil && log != known && after > 0 {
		// Another log (the store was replaced): read it whole.
		log, read, err = s.store.Revocations(ctx, 0, now)
	}
	if err != nil {
		return err
	}
	s.revoked.add(log, read, now.Unix())
	if slices.ContainsFunc(read, func(r Revocation) bool { return r.JTI == "" }) {
		// A client revocation is stored after the client's change (a
		// disable, a rotated secret): load that now rather than at the
		// next watch interval.
		s.Refresh(ctx)
	}
	return nil
}

// Feed request bounds: how long a request may wait for a change, and the
// longest it waits by default.
const (
	maxFeedWait     = 60 * time.Second
	defaultFeedWait = 30 * time.Second
)

// revocationFeed is the feed's answer: the revocation log, the revocations
// after the cursor the request gave (all of them when it named another
// log), and the cursor to give next.
type revocationFeed struct {
	Log         string       `json:"log"`
	Cursor      int64        `json:"cursor"`
	Revocations []Revocation `json:"revocations"`
}

// handleRevocations serves the revocation feed by long polling:
// GET /oauth/revocations?after=N&log=L&wait=30s answers at once with the
// revocations in force whose Seq is above N, or, when there are none,
// waits for one up to wait and answers an empty list with the same
// cursor. after=0 (or none) gets the whole set, and so does a log L that
// is not the store's (Seqs compare only within one log). Every replica
// answers the same log and Seqs, so a verifier may reconnect to any.
func (s *Server) handleRevocations(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var after int64
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request", "error_description": "after must be a cursor the feed returned"})
			return
		}
		after = n
	}
	wait := defaultFeedWait
	if v := q.Get("wait"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request", "error_description": "wait must be a duration such as 30s"})
			return
		}
		wait = min(d, maxFeedWait)
	}
	if !s.revocationsLoaded() {
		// A feed that never read the store would tell a verifier that
		// nothing is revoked.
		w.Header().Set("Retry-After", "1")
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "temporarily_unavailable", "error_description": "revocations not loaded yet"})
		return
	}
	list, log, cursor, changed := s.revoked.since(after)
	if known := q.Get("log"); known != "" && known != log {
		// The follower's cursor counts in another log: it gets this one
		// whole, at once.
		after = 0
		list, _, cursor, _ = s.revoked.since(0)
	} else if len(list) == 0 && wait > 0 {
		// A long poll outlives the server's write timeout, which guards
		// against slow readers: this response is due when the wait ends.
		_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(wait + 10*time.Second))
		timer := time.NewTimer(wait)
		defer timer.Stop()
		select {
		case <-changed:
			list, log, cursor, _ = s.revoked.since(after)
		case <-timer.C:
		case <-s.draining:
			// Shutting down: answer now, so that the server's graceful
			// stop does not wait out the poll; the follower asks again,
			// of another replica or of this one restarted.
		case <-r.Context().Done():
			return
		}
	}
	if len(list) == 0 {
		cursor = max(after, cursor)
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, revocationFeed{Log: log, Cursor: cursor, Revocations: list})
}

func (s *Server) revocationsLoaded() bool {
	s.revoked.mu.Lock()
	defer s.revoked.mu.Unlock()
	return s.revoked.loaded
}

// Drain answers every waiting feed request at once and every later one
// without waiting: call it when the server starts shutting down
// (http.Server.RegisterOnShutdown), or a graceful stop waits out the long
// polls.
func (s *Server) Drain() { s.drainOnce.Do(func() { close(s.draining) }) }

// RevocationsEndpoint returns the URL of the revocation feed.
func (s *Server) RevocationsEndpoint() string { return s.cfg.Issuer + "/oauth/revocations" }
