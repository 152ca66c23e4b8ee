package callcreds

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	inventoryv1 "github.com/tollgate-rpc/tollgate/gen/go/tollgate/inventory/v1"
	"github.com/tollgate-rpc/tollgate/internal/jwtest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

func plaintextClient(t *testing.T, src *Source, addr string) inventoryv1.InventoryServiceClient {
	t.Helper()
	conn, err := New(src, AllowPlaintext()).NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return inventoryv1.NewInventoryServiceClient(conn)
}

// handlerTransport serves HTTP requests with a handler in memory, so that a
// Source can run inside a synctest bubble: the token endpoint's real handler,
// without sockets, which synctest cannot wait on.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

// bubbleSource is a Source on ts's handler, for use inside a synctest bubble.
func (ts *tokenServer) bubbleSource(t *testing.T, opts ...Option) *Source {
	t.Helper()
	src, err := NewSource(Config{TokenURL: ts.URL, ClientID: testClientID, ClientSecret: testSecret,
		Audience: "inventory", Scopes: []string{"inventory.read"},
		HTTPClient: &http.Client{Transport: handlerTransport{http.HandlerFunc(ts.serve)}}}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// 200 goroutines ask for tokens for three token lifetimes (3 s tokens), in
// synctest's bubble time: refreshes happen in the background, one at a
// time, and nobody waits after the first token. (This ran on the wall clock
// and failed under load.)
func TestConcurrentCallersShareProactiveRefreshes(t *testing.T) {
	const lifetime = 3 * time.Second
	ts := newTokenServer(t, lifetime)
	synctest.Test(t, func(t *testing.T) {
		src := ts.bubbleSource(t)
		if _, err := src.Token(context.Background()); err != nil {
			t.Fatal(err)
		}
		waitsAfterFirst := src.Stats().Waits
		stop := time.Now().Add(3 * lifetime)
		var wg sync.WaitGroup
		for range 200 {
			wg.Go(func() {
				for time.Now().Before(stop) {
					tok, err := src.Token(context.Background())
					if err != nil || !time.Now().Before(tok.Expiry) {
						t.Errorf("Token at %s: %v, %v", time.Now(), tok, err)
						return
					}
					time.Sleep(10 * time.Millisecond)
				}
			})
		}
		wg.Wait()
		// One request per refresh interval, never one per caller: the first
		// token, then a refresh each time a token has used its share
		// (0.70-0.80) of its life: 1 + floor(9/2.1) = 5 at most. Refreshing
		// only at expiry would make 4, but then callers would wait.
		st := src.Stats()
		if st.Fetches > 5 || st.Fetches < 4 {
			t.Errorf("%d token requests over 3 lifetimes, want 4 or 5 (refreshed ahead of expiry, never per caller)", st.Fetches)
		}
		if w := st.Waits - waitsAfterFirst; w != 0 {
			t.Errorf("%d calls waited for a token after the first one was fetched", w)
		}
	})
}

// While the endpoint is down the valid token keeps being handed out and the
// refresh is retried with backoff; once it is back a new token arrives.
func TestEndpointDownDuringRefresh(t *testing.T) {
	const lifetime = 2 * time.Second
	ts := newTokenServer(t, lifetime)
	synctest.Test(t, func(t *testing.T) {
		src := ts.bubbleSource(t, WithBackoff(50*time.Millisecond, 400*time.Millisecond))
		first, err := src.Token(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		ts.mode.Store(modeDown)
		for time.Until(first.Expiry) > 300*time.Millisecond {
			tok, err := src.Token(context.Background())
			if err != nil || tok != first {
				t.Fatalf("with a still-valid token and the endpoint down: %v, %v", tok, err)
			}
			time.Sleep(5 * time.Millisecond)
			synctest.Wait() // let a background refresh finish
		}
		st := src.Stats()
		// The refresh starts at 70-80% of the 2 s life, 0.1-0.3 s before
		// now; retries follow after 50, 100, 200 ms: 2 to 4 attempts (6
		// allowed), where no backoff would make dozens.
		if st.Failures < 2 || st.Failures > 6 {
			t.Errorf("%d failed refreshes while the endpoint was down, want 2 to 6 (retried, with backoff)", st.Failures)
		}
		ts.mode.Store(modeOK)
		time.Sleep(400 * time.Millisecond) // the longest backoff
		if _, err := src.Token(context.Background()); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		tok, err := src.Token(context.Background())
		if err != nil || tok == first {
			t.Errorf("after the endpoint returned: %v, %v; want a new token", tok, err)
		}
	})
}

func TestEndpointHangingTimesOut(t *testing.T) {
	ts := newTokenServer(t, time.Minute)
	ts.mode.Store(modeHang)
	src := ts.source(t, WithRequestTimeout(200*time.Millisecond))
	// The caller's context has no deadline: the request's own timeout ends it.
	_, err := src.Token(context.Background())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Token with a hanging endpoint: %v, want a deadline error", err)
	}
	// A caller with a shorter deadline is released by its own context.
	src2 := ts.source(t, WithRequestTimeout(time.Hour))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := src2.Token(ctx); !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "waiting for access token") {
		t.Errorf("Token with a short caller deadline: %v", err)
	}
}

func TestBadResponsesNameEndpointAndCode(t *testing.T) {
	for _, tc := range []struct {
		name string
		mode int32
		want string
	}{
		{"garbage", modeGarbage, "token endpoint"},
		{"oauth error", modeOAuthError, "invalid_client"},
		{"down", modeDown, "503"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTokenServer(t, time.Minute)
			ts.mode.Store(tc.mode)
			_, err := ts.source(t).Token(context.Background())
			if err == nil {
				t.Fatal("Token succeeded")
			}
			if !strings.Contains(err.Error(), ts.URL) {
				t.Errorf("error %q does not name the endpoint", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), testSecret) {
				t.Errorf("error leaks the client secret: %q", err)
			}
		})
	}
}

func TestWrongSecretIsAClearError(t *testing.T) {
	ts := newTokenServer(t, time.Minute)
	src, err := NewSource(Config{TokenURL: ts.URL, ClientID: testClientID, ClientSecret: "wrong"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = src.Token(context.Background())
	if err == nil || !strings.Contains(err.Error(), "invalid_client") || strings.Contains(err.Error(), "wrong") {
		t.Errorf("Token with a wrong secret: %v", err)
	}
	// Right after a failure the source does not hammer the endpoint.
	before := ts.requests.Load()
	if _, err := src.Token(context.Background()); err == nil || !strings.Contains(err.Error(), "next attempt in") {
		t.Errorf("second Token during backoff: %v", err)
	}
	if ts.requests.Load() != before {
		t.Error("a call during backoff reached the endpoint")
	}
}

func TestMissingExpiresInGetsDefaultLifetime(t *testing.T) {
	ts := newTokenServer(t, time.Hour)
	ts.mode.Store(modeNoExpiry)
	src := ts.source(t, WithDefaultLifetime(90*time.Second))
	start := time.Now()
	tok, err := src.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if life := tok.Expiry.Sub(start); life < 89*time.Second || life > 91*time.Second {
		t.Errorf("token without expires_in lives %s, want the 90s default", life)
	}
}

func TestConfigErrors(t *testing.T) {
	for name, cfg := range map[string]Config{
		"no URL":         {ClientID: "a", ClientSecret: "b"},
		"no client":      {TokenURL: "http://127.0.0.1:1/t", ClientSecret: "b"},
		"no credentials": {TokenURL: "http://127.0.0.1:1/t", ClientID: "a"},
	} {
		if _, err := NewSource(cfg); err == nil {
			t.Errorf("NewSource(%s) succeeded", name)
		}
	}
	if _, err := NewSource(Config{TokenURL: "http://127.0.0.1:1/t", ClientID: "a", ClientSecret: "b"}, WithRefreshShare(1.5)); err == nil {
		t.Error("NewSource with refresh share 1.5 succeeded")
	}
}

// With Issuer instead of TokenURL the token endpoint is found by discovery
// at the first token request, not before: while the issuer is down a
// request fails naming the issuer, and once it answers the next request
// discovers the endpoint and gets a token; later requests do not discover
// again.
func TestTokenEndpointDiscoveredWhenNeeded(t *testing.T) {
	ts := newTokenServer(t, time.Minute)
	ts.discoveryDown.Store(true)
	src, err := NewSource(Config{Issuer: ts.Issuer, ClientID: testClientID, ClientSecret: testSecret, Audience: "inventory"},
		WithBackoff(time.Millisecond, 5*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if n := ts.discoveries.Load(); n != 0 {
		t.Errorf("NewSource made %d discovery requests, want none", n)
	}
	_, err = src.Token(t.Context())
	if err == nil || !strings.Contains(err.Error(), "the token endpoint of "+ts.Issuer) || !strings.Contains(err.Error(), "find the token endpoint") {
		t.Fatalf("with the issuer down: %v", err)
	}
	ts.discoveryDown.Store(false)
	var tok *Token
	jwtest.Eventually(t, "a token once the issuer answers", func() bool {
		tok, err = src.Token(t.Context())
		return err == nil
	})
	src.Invalidate(tok)
	if _, err := src.Token(t.Context()); err != nil {
		t.Fatal(err)
	}
	if d, r := ts.discoveries.Load(), ts.requests.Load(); r != 2 || d < 2 {
		t.Errorf("%d discovery and %d token requests; want the failed discoveries, one that worked, and two token requests", d, r)
	}
	// The same rules as for a TokenURL: an http issuer off loopback is
	// refused at once.
	if _, err := NewSource(Config{Issuer: "http://issuer.example", ClientID: testClientID, ClientSecret: testSecret}); err == nil {
		t.Error("an http issuer off loopback was accepted")
	}
}
