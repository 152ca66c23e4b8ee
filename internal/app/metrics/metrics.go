// Package metrics exposes what a Tollgate process does as Prometheus
// metrics on its admin listener: RPCs by method and code, auth decisions by
// outcome, reason and client, verification latency, the verified-token
// cache and JWKS freshness, the issuer's token requests and keys, and the
// caller credentials' token fetches.
//
// Every process has its own registry (no global state). Label values are
// bounded: a client ID becomes a label only once a token verified for it or
// the issuer found it registered; unknown IDs are never labels.
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/tollgate-rpc/tollgate/interceptors"
	"github.com/tollgate-rpc/tollgate/interceptors/callcreds"
	"github.com/tollgate-rpc/tollgate/interceptors/verify"
	"google.golang.org/grpc"
)

// Metrics is one process's registry and instruments.
type Metrics struct {
	Registry *prometheus.Registry
	rpc      *rpcMetrics

	decisions  *prometheus.CounterVec
	decided    resolved[decisionKey, prometheus.Counter]
	verifyTime prometheus.Histogram
	tokens     *prometheus.CounterVec
	tokenTime  prometheus.Histogram
	fetches    *prometheus.CounterVec
	fetchTime  *prometheus.HistogramVec
	reconciled *prometheus.CounterVec
	passes     prometheus.Counter
	backlog    prometheus.Gauge
	pending    prometheus.Gauge
}

// New returns a registry with Go runtime and process metrics, RPC metrics,
// and the auth, issuer and caller instruments (which stay at zero in a
// process that does not use them).
func New() *Metrics {
	r := prometheus.NewRegistry()
	m := &Metrics{
		Registry: r,
		rpc:      newRPCMetrics(),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tollgate_auth_decisions_total",
			Help: "Auth decisions by outcome (ok, public, refused), reason, and the verified token's issuer and client ID.",
		}, []string{"outcome", "reason", "issuer", "client_id"}),
		verifyTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "tollgate_auth_verify_seconds",
			Help:    "Time to verify a bearer token, cache hits included.",
			Buckets: []float64{1e-7, 2.5e-7, 5e-7, 1e-6, 1e-5, 5e-5, 1e-4, 2.5e-4, 1e-3, 1e-2, .1, 1},
		}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tollgate_issuer_token_requests_total",
			Help: "Token requests by registered client ID (\"\" for none) and outcome (issued, or the OAuth error code; slow_down when throttled).",
		}, []string{"client_id", "outcome"}),
		tokenTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "tollgate_issuer_token_request_seconds",
			Help:    "Time to answer a token request.",
			Buckets: prometheus.ExponentialBuckets(1e-5, 2.5, 12),
		}),
		fetches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tollgate_callcreds_token_fetches_total",
			Help: "Token requests made by this process's caller credentials, by client ID and result (ok, error).",
		}, []string{"client_id", "result"}),
		fetchTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tollgate_callcreds_token_fetch_seconds",
			Help:    "Latency of the caller credentials' token requests.",
			Buckets: prometheus.ExponentialBuckets(1e-4, 2.5, 12),
		}, []string{"client_id"}),
		reconciled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tollgate_orders_reconciled_total",
			Help: "Open orders the orders reconciler handled, by result (confirmed, restored, failed, abandoned).",
		}, []string{"result"}),
		passes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tollgate_orders_reconcile_passes_total",
			Help: "Reconciliation passes the orders reconciler completed (a stalled reconciler stops counting).",
		}),
		backlog: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tollgate_orders_reconcile_backlog",
			Help: "Reserved orders due for a check that the last reconciliation pass left for the next.",
		}),
		pending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tollgate_orders_pending",
			Help: "Pending orders (stock being reserved) the last reconciliation pass saw within their grace.",
		}),
	}
	r.MustRegister(m.rpc.collectors()...)
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.decisions, m.verifyTime, m.tokens, m.tokenTime, m.fetches, m.fetchTime, m.reconciled, m.passes, m.backlog, m.pending)
	return m
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry}))
	return mux
}

// ServerOptions install the RPC metrics interceptors; put them before auth
// so refused calls are counted too.
func (m *Metrics) ServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(m.rpc.unary()),
		grpc.ChainStreamInterceptor(m.rpc.stream()),
	}
}

// InitializeRPC pre-creates the RPC series of every method on srv, so they
// read zero before the first call.
func (m *Metrics) InitializeRPC(srv *grpc.Server) { m.rpc.initialize(srv) }

// AuthObserver counts auth decisions; pass it to interceptors.WithObserver.
func (m *Metrics) AuthObserver() func(interceptors.Decision) {
	return func(d interceptors.Decision) {
		// The reason label is the refusal's reason, or the outcome of a
		// call that was not refused (ok, public).
		reason := string(d.Reason)
		if d.Outcome != interceptors.OutcomeRefused {
			reason = string(d.Outcome)
		}
		k := decisionKey{string(d.Outcome), reason, d.Issuer, d.ClientID}
		m.decided.get(k, func() prometheus.Counter {
			return m.decisions.WithLabelValues(k.outcome, k.reason, k.issuer, k.clientID)
		}).Inc()
		if d.Verify > 0 {
			m.verifyTime.Observe(d.Verify.Seconds())
		}
	}
}

// decisionKey is the label values of an auth decision's series.
type decisionKey struct{ outcome, reason, issuer, clientID string }

// TokenRequest counts one token request by client and outcome, and times
// it; the issuer's Config.Observe calls it with its TokenEvent's fields.
func (m *Metrics) TokenRequest(clientID, outcome string, took time.Duration) {
	m.tokens.WithLabelValues(clientID, outcome).Inc()
	m.tokenTime.Observe(took.Seconds())
}

// CallerObserver counts one caller's token fetches; pass it to
// callcreds.WithFetchObserver.
func (m *Metrics) CallerObserver(clientID string) func(callcreds.FetchEvent) {
	return func(e callcreds.FetchEvent) {
		result := "ok"
		if e.Err != nil {
			result = "error"
		}
		m.fetches.WithLabelValues(clientID, result).Inc()
		m.fetchTime.WithLabelValues(clientID).Observe(e.Duration.Seconds())
	}
}

// WatchVerifier exports a verifier's cache and key-set state at scrape time.
func (m *Metrics) WatchVerifier(v *verify.Verifier) { m.Registry.MustRegister(verifierCollector{v}) }

// WatchKeySchedule exports the issuer's signing-key age and next rotation,
// read at scrape time from keyTimes (the issuer's Server.KeyTimes).
func (m *Metrics) WatchKeySchedule(keyTimes func() (newest, next time.Time)) {
	m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "tollgate_issuer_signing_key_age_seconds", Help: "Age of the newest signing key.",
	}, func() float64 { newest, _ := keyTimes(); return time.Since(newest).Seconds() }))
	m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "tollgate_issuer_next_key_rotation_seconds", Help: "Seconds until the next scheduled key rotation (negative: overdue; absent rotation reads 0).",
	}, func() float64 {
		_, next := keyTimes()
		if next.IsZero() {
			return 0
		}
		return time.Until(next).Seconds()
	}))
}

// WatchSource exports how long the caller's current token has left.
func (m *Metrics) WatchSource(clientID string, src *callcreds.Source) {
	m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "tollgate_callcreds_token_expiry_seconds", Help: "Seconds until the caller's current token expires (0: none).",
		ConstLabels: prometheus.Labels{"client_id": clientID},
	}, func() float64 {
		if e := src.Expiry(); !e.IsZero() {
			return time.Until(e).Seconds()
		}
		return 0
	}))
}

var (
	descCached   = prometheus.NewDesc("tollgate_verify_cache_tokens", "Tokens in the verified-token cache.", nil, nil)
	descHits     = prometheus.NewDesc("tollgate_verify_cache_hits_total", "Verifications answered from the cache.", nil, nil)
	descMisses   = prometheus.NewDesc("tollgate_verify_cache_misses_total", "Verifications that ran the full checks.", nil, nil)
	descFetches  = prometheus.NewDesc("tollgate_jwks_fetches_total", "JWKS fetch attempts by trusted issuer.", []string{"issuer"}, nil)
	descFailures = prometheus.NewDesc("tollgate_jwks_fetch_failures_total", "Failed JWKS fetches by trusted issuer.", []string{"issuer"}, nil)
	descAge      = prometheus.NewDesc("tollgate_jwks_age_seconds", "Seconds since the issuer's key set was last fetched successfully (-1: never).", []string{"issuer"}, nil)
	descKeys     = prometheus.NewDesc("tollgate_jwks_keys", "Keys in the issuer's current key set.", []string{"issuer"}, nil)
	descRevAge   = prometheus.NewDesc("tollgate_revocations_age_seconds",
		"Seconds since the issuer's revocation feed last answered (-1: never); only issuers with a feed.", []string{"issuer"}, nil)
	descRevoked = prometheus.NewDesc("tollgate_revocations", "Revocations (tokens and clients) in force from the issuer's feed.", []string{"issuer"}, nil)
)

type verifierCollector struct{ v *verify.Verifier }

func (c verifierCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descCached, descHits, descMisses, descFetches, descFailures, descAge, descKeys, descRevAge, descRevoked} {
		ch <- d
	}
}

func (c verifierCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.v.Stats()
	ch <- prometheus.MustNewConstMetric(descCached, prometheus.GaugeValue, float64(s.CachedTokens))
	ch <- prometheus.MustNewConstMetric(descHits, prometheus.CounterValue, float64(s.CacheHits))
	ch <- prometheus.MustNewConstMetric(descMisses, prometheus.CounterValue, float64(s.CacheMisses))
	for iss, is := range s.Issuers {
		ch <- prometheus.MustNewConstMetric(descFetches, prometheus.CounterValue, float64(is.JWKSFetches), iss)
		ch <- prometheus.MustNewConstMetric(descFailures, prometheus.CounterValue, float64(is.JWKSFailures), iss)
		age := -1.0
		if !is.Fetched.IsZero() {
			age = time.Since(is.Fetched).Seconds()
		}
		ch <- prometheus.MustNewConstMetric(descAge, prometheus.GaugeValue, age, iss)
		ch <- prometheus.MustNewConstMetric(descKeys, prometheus.GaugeValue, float64(is.Keys), iss)
		if is.RevocationFeed {
			age := -1.0
			if !is.RevocationsSynced.IsZero() {
				age = time.Since(is.RevocationsSynced).Seconds()
			}
			ch <- prometheus.MustNewConstMetric(descRevAge, prometheus.GaugeValue, age, iss)
			ch <- prometheus.MustNewConstMetric(descRevoked, prometheus.GaugeValue, float64(is.Revoked), iss)
		}
	}
}

// ReconcilePass records one pass of the orders reconciler: how many orders
// it confirmed, restored, failed and abandoned, and the pending orders and
// backlog it left.
func (m *Metrics) ReconcilePass(confirmed, restored, failed, abandoned, pending, backlog int) {
	for result, n := range map[string]int{"confirmed": confirmed, "restored": restored, "failed": failed, "abandoned": abandoned} {
		m.reconciled.WithLabelValues(result).Add(float64(n))
	}
	m.pending.Set(float64(pending))
	m.backlog.Set(float64(backlog))
	m.passes.Inc()
}
