package issuer

import (
	"net"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Failed client authentication is limited per (source address, client
// ID), per source address and per client ID. Credentials are always checked
// first, as Fosite and Hydra do: a valid credential gets its token whatever
// the budgets say, so no flood of failures — from an attacker, or from
// another client behind the same proxy, ingress or host — locks a client
// out. Secrets are 256-bit random values, so guessing is hopeless anyway;
// the budgets shape load and log floods: failures beyond them are answered
// 429 slow_down with Retry-After instead of 401.
//
// The accounting is atomic: each request reserves one unit of every budget
// before its credentials are checked (a check may be slow, such as a client
// JWKS fetch), keeps them if it fails and gives them back if it succeeds. So
// N concurrent failures against a budget of B get exactly B answers of 401
// and N−B of 429, however long their checks take.
//
// The budgets are per replica, by design: N replicas behind one URL allow N
// times the failures in all, which changes nothing for guessing a 256-bit
// secret, and each replica still sheds its own flood. Sharing them through
// the store would put a database write on every failed request, turning a
// flood of bad credentials into a flood of writes on the one component every
// replica needs. Aggregate shaping, if wanted, belongs to the load balancer
// or ingress in front.
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

func (l *failureLimiter) limiter(key string, r rate.Limit, burst int, now time.Time) *rate.Limiter {
	lim, ok := l.keys[key]
	if !ok {
		if len(l.keys) >= l.maxKeys {
			l.sweep(now)
		}
		lim = rate.NewLimiter(r, burst)
		l.keys[key] = lim
	}
	return lim
}

// sweep drops limiters that have refilled completely (they hold no state
// worth keeping); l.mu must be held.
func (l *failureLimiter) sweep(now time.Time) {
	for k, lim := range l.keys {
		if lim.TokensAt(now) >= float64(lim.Burst()) {
			delete(l.keys, k)
		}
	}
	if len(l.keys) >= l.maxKeys { // under a flood of distinct keys, start over
		clear(l.keys)
	}
}

// attempt is one authentication's hold on the failure budgets.
type attempt struct {
	l     *failureLimiter
	held  []*rate.Reservation
	retry time.Duration // > 0: a budget was exhausted; a failure answers 429
}

// begin reserves one unit of each budget this request could spend.
func (l *failureLimiter) begin(addr, clientID string, now time.Time) *attempt {
	l.mu.Lock()
	defer l.mu.Unlock()
	a := &attempt{l: l}
	take := func(lim *rate.Limiter) {
		r := lim.ReserveN(now, 1)
		if d := r.DelayFrom(now); d > 0 || !r.OK() {
			r.CancelAt(now)
			a.retry = max(a.retry, d, time.Second)
			return
		}
		a.held = append(a.held, r)
	}
	take(l.limiter("p\x00"+addr+"\x00"+clientID, l.pairRate, l.pairBurst, now))
	take(l.limiter("a\x00"+addr, l.wideRate, l.wideBurst, now))
	if clientID != "" {
		take(l.limiter("c\x00"+clientID, l.wideRate, l.wideBurst, now))
	}
	return a
}

// succeeded gives the reserved units back: valid credentials cost nothing.
func (a *attempt) succeeded(now time.Time) {
	a.l.mu.Lock()
	defer a.l.mu.Unlock()
	for _, r := range a.held {
		r.CancelAt(now)
	}
}

// failed keeps the reserved units and returns the error to answer: the
// authentication failure itself, or slow_down when a budget was exhausted.
func (a *attempt) failed(oerr *oauthError) *oauthError {
	if a.retry <= 0 {
		return oerr
	}
	return &oauthError{status: http.StatusTooManyRequests, Code: "slow_down",
		Desc: "too many failed client authentications; retry later", retryAfter: a.retry}
}

// sourceAddr is the request's peer IP, without the port.
func sourceAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
