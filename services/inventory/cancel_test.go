package inventory

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

// A cancelled RPC stops its store call instead of queueing behind another
// writer for the busy timeout (10 s): here a second store on the same file
// holds the write lock, and the call gives up when its context ends.
func TestStoreHonoursCancellation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "inventory.db")
	s, err := OpenSQLite(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	other, err := OpenSQLite(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })

	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.Adjust(cancelled, "a", "Apple", 1); !errors.Is(err, context.Canceled) {
		t.Errorf("Adjust with a cancelled context = %v, want context.Canceled", err)
	}

	// Hold the write lock in the other store until the test ends.
	held := make(chan struct{})
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	go func() {
		_ = other.DB.InTx(t.Context(), func(*sql.Tx) error {
			close(held)
			<-release
			return nil
		})
	}()
	<-held
	ctx, stop := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer stop()
	if _, err := s.Adjust(ctx, "b", "Bean", 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Adjust behind another writer = %v, want the caller's context.DeadlineExceeded", err)
	}
	if _, err := s.Get(t.Context(), "b"); !errors.Is(err, ErrNotFound) {
		t.Errorf("the abandoned Adjust stored something: Get = %v", err)
	}
}
