package callcreds

import "time"

// Option customises a Source.
type Option func(*options)

type options struct {
	refreshShare    float64
	expiryMargin    time.Duration
	defaultLifetime time.Duration
	requestTimeout  time.Duration
	backoffMin      time.Duration
	backoffMax      time.Duration
	observers       []func(FetchEvent)
	now             func() time.Time
}

func defaultOptions() options {
	return options{
		refreshShare:    0.75,
		expiryMargin:    10 * time.Second,
		defaultLifetime: 5 * time.Minute,
		requestTimeout:  10 * time.Second,
		backoffMin:      200 * time.Millisecond,
		backoffMax:      30 * time.Second,
		now:             time.Now,
	}
}

func (o *options) observe(e FetchEvent) {
	for _, f := range o.observers {
		f(e)
	}
}

// WithRefreshShare sets the share of a token's lifetime after which a
// background refresh starts (default 0.75, jittered by ±0.05).
func WithRefreshShare(share float64) Option { return func(o *options) { o.refreshShare = share } }

// WithDefaultLifetime sets the lifetime assumed for a token whose response
// has no expires_in (default 5 minutes).
func WithDefaultLifetime(d time.Duration) Option {
	return func(o *options) { o.defaultLifetime = d }
}

// WithRequestTimeout bounds each token request (default 10s).
func WithRequestTimeout(d time.Duration) Option { return func(o *options) { o.requestTimeout = d } }

// WithBackoff sets the first and the longest wait after failed requests
// (default 200ms and 30s, doubling, with jitter).
func WithBackoff(first, longest time.Duration) Option {
	return func(o *options) { o.backoffMin, o.backoffMax = first, longest }
}

// WithFetchObserver calls f after every token request, for metrics.
func WithFetchObserver(f func(FetchEvent)) Option {
	return func(o *options) { o.observers = append(o.observers, f) }
}
