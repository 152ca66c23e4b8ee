// Package tracing sets up OpenTelemetry tracing for one Tollgate process
// through otelgrpc. It is off by default; "stdout" writes spans as JSON and
// "otlp" exports them over OTLP/gRPC to the collector that the standard
// OTEL_EXPORTER_OTLP_* environment variables name. Each authenticated call's
// server span carries the caller's client ID.
package tracing

import (
	"context"
	"fmt"
	"io"

	"github.com/tollgate-rpc/tollgate/interceptors"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
)

// Exporters that New accepts.
const (
	Off    = "none"
	Stdout = "stdout"
	OTLP   = "otlp"
)

// ClientIDKey is the span attribute naming the verified caller.
const ClientIDKey = attribute.Key("tollgate.client_id")

// Tracing is a process's tracer provider; the zero value (and nil) is off.
type Tracing struct {
	tp *sdktrace.TracerProvider
}

// New starts tracing for service with exporter (none, stdout or otlp);
// stdout spans go to w.
func New(ctx context.Context, exporter, service string, w io.Writer) (*Tracing, error) {
	var exp sdktrace.SpanExporter
	var err error
	switch exporter {
	case "", Off:
		return &Tracing{}, nil
	case Stdout:
		exp, err = stdouttrace.New(stdouttrace.WithWriter(w))
	case OTLP:
		exp, err = otlptracegrpc.New(ctx)
	default:
		return nil, fmt.Errorf("trace exporter %q: want none, stdout or otlp", exporter)
	}
	if err != nil {
		return nil, fmt.Errorf("trace exporter %s: %w", exporter, err)
	}
	res := resource.NewSchemaless(semconv.ServiceName(service))
	opt := sdktrace.WithBatcher(exp)
	if exporter == Stdout {
		opt = sdktrace.WithSyncer(exp) // a span is written when it ends
	}
	return &Tracing{tp: sdktrace.NewTracerProvider(opt, sdktrace.WithResource(res))}, nil
}

func (t *Tracing) on() bool { return t != nil && t.tp != nil }

func (t *Tracing) handlerOptions() []otelgrpc.Option {
	return []otelgrpc.Option{
		otelgrpc.WithTracerProvider(t.tp),
		otelgrpc.WithPropagators(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})),
	}
}

// ServerOptions trace every call the server handles.
func (t *Tracing) ServerOptions() []grpc.ServerOption {
	if !t.on() {
		return nil
	}
	return []grpc.ServerOption{grpc.StatsHandler(otelgrpc.NewServerHandler(t.handlerOptions()...))}
}

// DialOptions trace outgoing calls and propagate the trace to the callee.
func (t *Tracing) DialOptions() []grpc.DialOption {
	if !t.on() {
		return nil
	}
	return []grpc.DialOption{grpc.WithStatsHandler(otelgrpc.NewClientHandler(t.handlerOptions()...))}
}

// AuthOptions put the verified client ID on the server span.
func (t *Tracing) AuthOptions() []interceptors.Option {
	if !t.on() {
		return nil
	}
	return []interceptors.Option{interceptors.WithCheck(func(ctx context.Context, _ string, p *interceptors.Principal) error {
		trace.SpanFromContext(ctx).SetAttributes(ClientIDKey.String(p.ClientID))
		return nil
	})}
}

// Shutdown flushes and stops the exporter.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if !t.on() {
		return nil
	}
	return t.tp.Shutdown(ctx)
}
