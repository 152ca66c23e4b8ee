package issuer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// StaleAfter is how many watch intervals a replica may go without
// confirming that its clients and keys are the store's latest before it
// stops issuing tokens and fails readiness ([Server.Watch]).
const StaleAfter = 3

// ErrStale is returned by [Server.Ready] while the issuer's clients or keys
// may be older than the store's: it has not confirmed them within
// StaleAfter watch intervals.
var ErrStale = errors.New("clients and keys not confirmed current with the store")

// Watch reloads the clients and the signing keys whenever another process
// (the `tollgate client` and `tollgate issuer keys` commands, an operator's
// editor, another replica) changes them in the store, checking every
// interval until ctx ends, and reads new revocations every
// RevocationPollInterval for the revocation feed.
//
// While it watches, the issuer states how old its state may be: when it
// has not confirmed its clients and keys as the store's latest for
// StaleAfter intervals (a reload that keeps failing, a store it cannot
// reach), it refuses token requests with 503 temporarily_unavailable and
// fails [Server.Ready] until it catches up, rather than issue tokens to a
// client that may have been disabled meanwhile.
func (s *Server) Watch(ctx context.Context, every time.Duration) {
	s.loaded.maxAge.Store(int64(StaleAfter * every))
	defer s.loaded.maxAge.Store(0)
	go s.watchRevocations(ctx)
	everyTick(ctx, every, func() { s.Refresh(ctx) })
}

// revocationWatcher is a store that reports writes to its revocations as
// they happen (the embedded store, through inotify).
type revocationWatcher interface {
	WatchRevocations(ctx context.Context) (<-chan struct{}, error)
}

// watchRevocations reads new revocations every RevocationPollInterval, and
// at once when the store reports a write, until ctx ends.
func (s *Server) watchRevocations(ctx context.Context) {
	var writes <-chan struct{}
	if w, ok := s.store.(revocationWatcher); ok {
		var err error
		if writes, err = w.WatchRevocations(ctx); err != nil {
			s.log.Warn("cannot watch the store's revocations; reading them every poll interval", slog.Any("error", err))
		}
	}
	t := time.NewTicker(RevocationPollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-writes:
		}
		if err := s.pollRevocations(ctx); err != nil {
			s.log.Error("cannot read revocations; the feed keeps the last set", slog.Any("error", err))
		}
	}
}

// everyTick runs fn every interval until ctx ends.
func everyTick(ctx context.Context, every time.Duration, fn func()) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		fn()
	}
}

// revision is the store's revision as last loaded.
type revision struct {
	mu            sync.Mutex // serialises Refresh; guards clients and keys
	clients, keys string
	// confirmed is when (UnixNano) the store's revision was last read and
	// found loaded; maxAge, while Watch runs, how old that may get.
	confirmed, maxAge atomic.Int64
}

// Refresh reloads whatever changed in the store since it was last loaded.
// A revision counts as loaded only once its state is: a load that fails is
// logged, the last good state kept, and tried again by the next Refresh.
func (s *Server) Refresh(ctx context.Context) {
	seen := &s.loaded
	seen.mu.Lock()
	defer seen.mu.Unlock()
	// The revision is read before loading, so that a change made while
	// loading is loaded again by the next Refresh.
	read := s.now()
	clients, keys, err := s.store.Revision(ctx)
	if err != nil {
		s.log.Error("cannot read the store's revision; keeping the current state", slog.Any("error", err))
		return
	}
	current := true
	if clients != seen.clients {
		if s.reload(ctx, "clients", s.clients.Reload) {
			seen.clients = clients
		} else {
			current = false
		}
	}
	if keys != seen.keys {
		if s.reload(ctx, "signing keys", s.keys.Reload) {
			seen.keys = keys
		} else {
			current = false
		}
	}
	if current {
		seen.confirmed.Store(read.UnixNano())
	}
}

func (s *Server) reload(ctx context.Context, what string, load func(context.Context) error) bool {
	if err := load(ctx); err != nil {
		s.log.Error("reload failed; keeping the previous state and trying again at the next poll",
			slog.String("what", what), slog.Any("error", err))
		return false
	}
	s.log.Info("reloaded", slog.String("what", what))
	return true
}

// stale reports how long past its bound the state is unconfirmed at now,
// or 0 when it is within it (or nobody watches the store).
func (s *Server) stale(now time.Time) time.Duration {
	maxAge := time.Duration(s.loaded.maxAge.Load())
	if maxAge <= 0 {
		return 0
	}
	age := now.Sub(time.Unix(0, s.loaded.confirmed.Load()))
	if age <= maxAge {
		return 0
	}
	return age
}

// checkFresh is [ErrStale], with the state's age, when the state is stale.
func (s *Server) checkFresh() error {
	if age := s.stale(s.now()); age > 0 {
		return fmt.Errorf("%w for %s", ErrStale, age.Round(time.Millisecond))
	}
	return nil
}
