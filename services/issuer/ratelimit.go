package issuer

import (
	"net"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Failed client authentication is limited three ways. Secrets are 256-bit
// random values, so guessing one is hopeless anyway; the limits exist to
// shape abuse without ever letting an attacker lock a legitimate client out:
//
//   - per (source address, client ID): over budget, requests are refused with
//     429 before the credentials are even looked at;
//   - per source address and per client ID: over budget, failures are
//     answered 429 instead of 401, but valid credentials still get a token,
//     so a flood against a client ID from elsewhere does not stop the real
//     client, and another client on the attacker's host keeps working.
//
// Successful requests never consume budget.
type failureLimiter struct {
	pairRate, wideRate   rate.Limit
	pairBurst, wideBurst int
	maxKeys              int

	mu   sync.Mutex
	keys map[string]*rate.Limiter
}

func newFailureLimiter() *failureLimiter {
	return &failureLimiter{
		pairRate: rate.Every(6 * time.Second), pairBurst: 10, // ~10 per minute per pair
		wideRate: rate.Every(time.Second), wideBurst: 60, // ~60 per minute per address or client
		maxKeys: 100_000,
		keys:    map[string]*rate.Limiter{},
	}
}

func (l *failureLimiter) limiter(key string, r rate.Limit, burst int) *rate.Limiter {
	lim, ok := l.keys[key]
	if !ok {
		if len(l.keys) >= l.maxKeys {
			l.sweep()
		}
		lim = rate.NewLimiter(r, burst)
		l.keys[key] = lim
	}
	return lim
}

// sweep drops limiters that have refilled completely (they hold no state
// worth keeping); l.mu must be held.
func (l *failureLimiter) sweep() {
	now := time.Now()
	for k, lim := range l.keys {
		if lim.TokensAt(now) >= float64(lim.Burst()) {
			delete(l.keys, k)
		}
	}
	if len(l.keys) >= l.maxKeys { // under a flood of distinct keys, start over
		clear(l.keys)
	}
}

// blocked reports whether this (address, client) pair is over its budget.
func (l *failureLimiter) blocked(addr, clientID string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim, ok := l.keys["p\x00"+addr+"\x00"+clientID]
	return ok && lim.TokensAt(time.Now()) < 1
}

// failed records a failed authentication and reports whether the address or
// the client is now over its budget.
func (l *failureLimiter) failed(addr, clientID string) (throttled bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	l.limiter("p\x00"+addr+"\x00"+clientID, l.pairRate, l.pairBurst).AllowN(now, 1)
	okAddr := l.limiter("a\x00"+addr, l.wideRate, l.wideBurst).AllowN(now, 1)
	okClient := true
	if clientID != "" {
		okClient = l.limiter("c\x00"+clientID, l.wideRate, l.wideBurst).AllowN(now, 1)
	}
	return !okAddr || !okClient
}

func errSlowDown() *oauthError {
	return &oauthError{status: http.StatusTooManyRequests, Code: "slow_down",
		Desc: "too many failed client authentications; retry later"}
}

// sourceAddr is the request's peer IP, without the port.
func sourceAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
