package issuer

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// failingStore fails every read of the clients while failing is set, as a
// database does whose backend is terminated mid-query.
type failingStore struct {
	Store
	failing atomic.Bool
}

var errInjected = errors.New("injected: terminating connection due to administrator command (SQLSTATE 57P01)")

func (f *failingStore) Clients(ctx context.Context) (map[string]*Client, error) {
	if f.failing.Load() {
		return nil, errInjected
	}
	return f.Store.Clients(ctx)
}

// A client disabled by another process while this replica's reload fails:
// the replica keeps its last state only for StaleAfter polls, then refuses
// token requests and fails readiness; once the store answers again it
// loads the change (the revision was not taken as seen) and refuses the
// disabled client.
func TestFailedReloadIsRetriedAndBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		store := &failingStore{Store: OpenDir(dir)}
		defer store.Close()
		s, err := New(Config{Issuer: "https://issuer.test", Store: store})
		if err != nil {
			t.Fatal(err)
		}
		secret, _ := NewSecret()
		c := basicClient("svc")
		c.SecretHashes, c.Created = []string{HashSecret(secret)}, time.Now()
		if err := s.Clients().Update(t.Context(), func(m map[string]*Client) error { m["svc"] = &c; return nil }); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		go s.Watch(ctx, WatchInterval)
		token := func() (int, string) {
			req := httptest.NewRequest(http.MethodPost, "/oauth/token", strings.NewReader("grant_type=client_credentials"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth("svc", secret)
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, req)
			return rec.Code, rec.Body.String()
		}
		poll := func() { time.Sleep(WatchInterval); synctest.Wait() }
		poll()
		if code, body := token(); code != http.StatusOK {
			t.Fatalf("before the fault: %d %s", code, body)
		}

		// Another process disables the client; this replica cannot read it.
		other := OpenDir(dir)
		defer other.Close()
		if _, err := other.UpdateClients(t.Context(), func(m map[string]*Client) error { m["svc"].Disabled = true; return nil }); err != nil {
			t.Fatal(err)
		}
		store.failing.Store(true)
		for i := range StaleAfter - 1 {
			poll()
			if code, body := token(); code != http.StatusOK {
				t.Fatalf("within the staleness bound (poll %d): %d %s, want the last good state", i+1, code, body)
			}
		}
		poll()
		poll()
		code, body := token()
		if code != http.StatusServiceUnavailable || !strings.Contains(body, `"temporarily_unavailable"`) {
			t.Errorf("%d polls after a failed reload: %d %s, want 503 temporarily_unavailable", StaleAfter+1, code, body)
		}
		if err := s.Ready(t.Context()); !errors.Is(err, ErrStale) {
			t.Errorf("Ready with stale clients = %v, want ErrStale", err)
		}

		store.failing.Store(false)
		poll()
		if code, body := token(); code != http.StatusBadRequest || !strings.Contains(body, "client is disabled") {
			t.Errorf("after the store answers again: %d %s, want the client refused as disabled", code, body)
		}
		if err := s.Ready(t.Context()); err != nil {
			t.Errorf("Ready after catching up = %v", err)
		}
	})
}
