package issuer

import (
	"net"
	"net/http"
	"sync"
	"time"
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
//
// The buckets are Tollgate's own, not golang.org/x/time/rate's: a unit
// given back must be restored whenever the check ends, and rate.Limiter's
// CancelAt restores nothing once its clock has moved past the reservation
// (so every success used to spend the failure budget).
type failureLimiter struct {
	pairRate, wideRate   float64 // units per second
	pairBurst, wideBurst float64
	maxKeys              int

	mu   sync.Mutex
	keys map[string]*bucket
}

// bucket is a token bucket: tokens available at last, refilled at rate up
// to burst.
type bucket struct {
	rate, burst, tokens float64
	last                time.Time
}

// refill brings the bucket to now; a time before the last one (a clock
// stepping back) refills nothing.
func (b *bucket) refill(now time.Time) {
	if dt := now.Sub(b.last).Seconds(); dt > 0 {
		b.tokens = min(b.burst, b.tokens+dt*b.rate)
		b.last = now
	}
}

func newFailureLimiter() *failureLimiter {
	return &failureLimiter{
		pairRate: 1.0 / 6, pairBurst: 10, // ~10 per minute per pair
		wideRate: 1, wideBurst: 60, // ~60 per minute per address or client
		maxKeys: 100_000,
		keys:    map[string]*bucket{},
	}
}

func (l *failureLimiter) bucket(key string, rate, burst float64, now time.Time) *bucket {
	b, ok := l.keys[key]
	if !ok {
		if len(l.keys) >= l.maxKeys {
			l.sweep(now)
		}
		b = &bucket{rate: rate, burst: burst, tokens: burst, last: now}
		l.keys[key] = b
	}
	return b
}

// sweep drops buckets that have refilled completely (they hold no state
// worth keeping); l.mu must be held.
func (l *failureLimiter) sweep(now time.Time) {
	for k, b := range l.keys {
		if b.refill(now); b.tokens >= b.burst {
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
	held  []*bucket
	retry time.Duration // > 0: a budget was exhausted; a failure answers 429
}

// begin takes one unit of each budget this request could spend.
func (l *failureLimiter) begin(addr, clientID string, now time.Time) *attempt {
	l.mu.Lock()
	defer l.mu.Unlock()
	a := &attempt{l: l}
	take := func(b *bucket) {
		b.refill(now)
		if b.tokens < 1 {
			wait := time.Duration((1 - b.tokens) / b.rate * float64(time.Second))
			a.retry = max(a.retry, wait, time.Second)
			return
		}
		b.tokens--
		a.held = append(a.held, b)
	}
	take(l.bucket("p\x00"+addr+"\x00"+clientID, l.pairRate, l.pairBurst, now))
	take(l.bucket("a\x00"+addr, l.wideRate, l.wideBurst, now))
	if clientID != "" {
		take(l.bucket("c\x00"+clientID, l.wideRate, l.wideBurst, now))
	}
	return a
}

// succeeded gives the units taken back, whenever the check ended: valid
// credentials cost nothing.
func (a *attempt) succeeded(now time.Time) {
	a.l.mu.Lock()
	defer a.l.mu.Unlock()
	for _, b := range a.held {
		b.refill(now)
		b.tokens = min(b.burst, b.tokens+1)
	}
}

// failed keeps the reserved units and returns the error to answer: the
// authentication failure itself, or slow_down when a budget was exhausted.
func (a *attempt) failed(oerr *oauthError) *oauthError {
	if a.retry <= 0 {
		return oerr
	}
	return errSlowDown.withDesc("too many failed client authentications; retry later").withRetryAfter(a.retry)
}

// sourceAddr is the request's peer IP, without the port.
func sourceAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
