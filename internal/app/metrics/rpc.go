package metrics

import (
	"context"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// rpcMetrics are the server RPC metrics, under the names and labels of
// go-grpc-middleware's Prometheus provider (grpc_server_started_total,
// grpc_server_handled_total, grpc_server_msg_received_total,
// grpc_server_msg_sent_total, grpc_server_handling_seconds), so its
// dashboards work. Unlike the provider, which hashes label values on every
// call, each method's series are resolved once: a call costs one map read
// and its counter increments.
type rpcMetrics struct {
	started, handled, received, sent *prometheus.CounterVec
	handling                         *prometheus.HistogramVec

	methods resolved[string, *methodSeries] // by full method name
}

// methodSeries are one method's resolved series.
type methodSeries struct {
	started, received, sent prometheus.Counter
	handled                 [codes.Unauthenticated + 1]prometheus.Counter // by code
	handling                prometheus.Observer
	labels                  []string // type, service, method: for codes outside the array
}

var rpcLabels = []string{"grpc_type", "grpc_service", "grpc_method"}

func newRPCMetrics() *rpcMetrics {
	m := &rpcMetrics{
		started: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "grpc_server_started_total", Help: "Total number of RPCs started on the server.",
		}, rpcLabels),
		handled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "grpc_server_handled_total", Help: "Total number of RPCs completed on the server, regardless of success or failure.",
		}, append(rpcLabels, "grpc_code")),
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "grpc_server_msg_received_total", Help: "Total number of RPC stream messages received on the server.",
		}, rpcLabels),
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "grpc_server_msg_sent_total", Help: "Total number of gRPC stream messages sent by the server.",
		}, rpcLabels),
		handling: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "grpc_server_handling_seconds",
			Help:    "Histogram of response latency (seconds) of gRPC that had been application-level handled by the server.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, rpcLabels),
	}
	return m
}

func (m *rpcMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.started, m.handled, m.received, m.sent, m.handling}
}

// rpcType is the grpc_type label of a method.
func rpcType(clientStream, serverStream bool) string {
	switch {
	case clientStream && serverStream:
		return "bidi_stream"
	case clientStream:
		return "client_stream"
	case serverStream:
		return "server_stream"
	}
	return "unary"
}

// series returns the series of fullMethod ("/pkg.Service/Method"),
// resolving them on first use.
func (m *rpcMetrics) series(fullMethod, typ string) *methodSeries {
	return m.methods.get(fullMethod, func() *methodSeries {
		service, method, _ := strings.Cut(strings.TrimPrefix(fullMethod, "/"), "/")
		labels := []string{typ, service, method}
		s := &methodSeries{
			started:  m.started.WithLabelValues(labels...),
			received: m.received.WithLabelValues(labels...),
			sent:     m.sent.WithLabelValues(labels...),
			handling: m.handling.WithLabelValues(labels...),
			labels:   labels,
		}
		for c := range s.handled {
			s.handled[c] = m.handled.WithLabelValues(typ, service, method, codes.Code(c).String())
		}
		return s
	})
}

func (s *methodSeries) done(m *rpcMetrics, start time.Time, err error) {
	code := status.Code(err)
	if int(code) < len(s.handled) {
		s.handled[code].Inc()
	} else {
		m.handled.WithLabelValues(append(s.labels, code.String())...).Inc()
	}
	s.handling.Observe(time.Since(start).Seconds())
}

func (m *rpcMetrics) unary() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		start := time.Now()
		s := m.series(info.FullMethod, "unary")
		s.started.Inc()
		s.received.Inc()
		resp, err := handler(ctx, req)
		if err == nil {
			s.sent.Inc()
		}
		s.done(m, start, err)
		return resp, err
	}
}

func (m *rpcMetrics) stream() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		start := time.Now()
		s := m.series(info.FullMethod, rpcType(info.IsClientStream, info.IsServerStream))
		s.started.Inc()
		err := handler(srv, &countingStream{ServerStream: ss, s: s})
		s.done(m, start, err)
		return err
	}
}

// countingStream counts the messages a stream receives and sends.
type countingStream struct {
	grpc.ServerStream
	s *methodSeries
}

func (c *countingStream) SendMsg(msg any) error {
	err := c.ServerStream.SendMsg(msg)
	if err == nil {
		c.s.sent.Inc()
	}
	return err
}

func (c *countingStream) RecvMsg(msg any) error {
	err := c.ServerStream.RecvMsg(msg)
	if err == nil {
		c.s.received.Inc()
	}
	return err
}

// initialize resolves the series of every method srv serves, so they read
// zero before the first call.
func (m *rpcMetrics) initialize(srv *grpc.Server) {
	for service, info := range srv.GetServiceInfo() {
		for _, mi := range info.Methods {
			m.series("/"+service+"/"+mi.Name, rpcType(mi.IsClientStream, mi.IsServerStream))
		}
	}
}
