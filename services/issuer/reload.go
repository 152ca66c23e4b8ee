package issuer

import (
	"context"
	"log/slog"
	"os"
	"time"
)

// WatchFiles reloads the client registry and the key file whenever another
// process (the `tollgate client` and `tollgate issuer keys` commands, or an
// operator's editor) changes them, until ctx ends. A file that fails to load
// is logged and the last good state kept.
func (s *Server) WatchFiles(ctx context.Context, every time.Duration) {
	files := []struct {
		path   string
		reload func() error
		mod    time.Time
	}{
		{path: s.clients.path, reload: s.clients.Reload},
		{path: s.keys.path, reload: s.keys.Reload},
	}
	for i := range files {
		files[i].mod = modTime(files[i].path)
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for i := range files {
			f := &files[i]
			m := modTime(f.path)
			if m.Equal(f.mod) {
				continue
			}
			f.mod = m
			if err := f.reload(); err != nil {
				s.log.Error("reload failed; keeping the previous state", slog.String("file", f.path), slog.Any("error", err))
				continue
			}
			s.log.Info("reloaded", slog.String("file", f.path))
		}
	}
}

func modTime(path string) time.Time {
	fi, err := os.Stat(path)
	if err != nil {
		return time.Time{}
	}
	return fi.ModTime()
}
