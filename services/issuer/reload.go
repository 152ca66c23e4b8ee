package issuer

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Watch reloads the clients and the signing keys whenever another process
// (the `tollgate client` and `tollgate issuer keys` commands, an operator's
// editor, another replica) changes them in the store, checking every
// interval until ctx ends.
func (s *Server) Watch(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.Refresh(ctx)
	}
}

// revision is the store's revision as last loaded.
type revision struct {
	mu            sync.Mutex
	clients, keys string
}

// Refresh reloads whatever changed in the store since it was last loaded.
// What fails to load is logged once and the last good state kept.
func (s *Server) Refresh(ctx context.Context) {
	clients, keys, err := s.store.Revision(ctx)
	if err != nil {
		s.log.Error("cannot read the store's revision; keeping the current state", slog.Any("error", err))
		return
	}
	seen := &s.loaded
	seen.mu.Lock()
	defer seen.mu.Unlock()
	if clients != seen.clients {
		seen.clients = clients
		s.reload(ctx, "clients", s.clients.Reload)
	}
	if keys != seen.keys {
		seen.keys = keys
		s.reload(ctx, "signing keys", s.keys.Reload)
	}
}

func (s *Server) reload(ctx context.Context, what string, load func(context.Context) error) {
	if err := load(ctx); err != nil {
		s.log.Error("reload failed; keeping the previous state", slog.String("what", what), slog.Any("error", err))
		return
	}
	s.log.Info("reloaded", slog.String("what", what))
}
