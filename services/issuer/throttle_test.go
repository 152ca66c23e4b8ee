package issuer

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/tollgate-rpc/tollgate/internal/jwtest"
)

// Forty concurrent forged assertions whose check is slow (the client's
// jwks_uri answers only once all forty requests have reached the issuer;
// the issuer fetches it once for all of them), with the clock
// frozen: the pair budget of 10 is spent exactly once — 10 answers of 401
// and 30 of 429 with a whole-second Retry-After. Check-then-record let all
// forty through as 401.
func TestThrottleAccountingIsAtomic(t *testing.T) {
	const n = 40
	clock := jwtest.NewClock(time.Now())
	ts := newTestServer(t, func(c *Config) { c.Now = clock.Now; c.AllowPrivateClientJWKS = true })

	_, setJSON := clientKey(t)
	forger, _ := clientKey(t)

	var mu sync.Mutex
	arrived, all := 0, make(chan struct{})
	issuer := ts.handler.Load().(http.Handler)
	ts.handler.Store(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		if arrived++; arrived == n {
			close(all)
		}
		mu.Unlock()
		issuer.ServeHTTP(w, r)
	}))
	keys := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		select {
		case <-all:
		case <-time.After(10 * time.Second): // a guard, should fewer requests ever arrive
		}
		_, _ = w.Write(setJSON)
	}))
	t.Cleanup(keys.Close)
	c := basicClient("slow-keys")
	c.JWKSURI = keys.URL
	ts.addClient(t, c)

	forged := signAssertion(t, forger, map[string]any{"iss": "slow-keys", "sub": "slow-keys",
		"aud": ts.URL + "/oauth/token", "exp": clock.Now().Add(time.Minute).Unix(), "jti": "forged"})
	statuses := make([]response, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			statuses[i] = ts.postAssertion(t, forged, "client_id", "slow-keys")
		})
	}
	wg.Wait()
	counts := map[int]int{}
	for _, r := range statuses {
		counts[r.status]++
		if r.status == http.StatusTooManyRequests && r.header.Get("Retry-After") != "6" {
			t.Errorf("Retry-After %q, want 6 (one pair unit refills every 6 s)", r.header.Get("Retry-After"))
		}
	}
	if counts[http.StatusUnauthorized] != 10 || counts[http.StatusTooManyRequests] != n-10 {
		t.Errorf("answers %v, want exactly 10×401 and %d×429", counts, n-10)
	}
}

// Valid credentials never spend the failure budgets, whatever the clock
// does while they are checked: after 100 good requests (the clock moving
// on every reading, as a real one does), a wrong secret of the same client
// and one of another client from the same address are still answered 401,
// not 429. With x/time/rate's CancelAt, each success kept its unit.
func TestSuccessesDoNotSpendTheFailureBudget(t *testing.T) {
	clock := jwtest.NewClock(time.Now())
	ticking := func() time.Time { clock.Add(10 * time.Millisecond); return clock.Now() }
	ts := newTestServer(t, func(c *Config) { c.Now = ticking })
	secret := ts.addClient(t, basicClient("busy"))
	ts.addClient(t, basicClient("neighbour"))
	for i := range 100 {
		if r := ts.post(t, form("grant_type", "client_credentials"), basicAuth("busy", secret)); r.status != http.StatusOK {
			t.Fatalf("good request %d: %d %s", i, r.status, r.raw)
		}
	}
	for _, id := range []string{"busy", "neighbour"} {
		if r := ts.post(t, form("grant_type", "client_credentials"), basicAuth(id, "wrong")); r.status != http.StatusUnauthorized {
			t.Errorf("first wrong secret of %s after 100 good requests: %d %s, want 401", id, r.status, r.raw)
		}
	}
}
