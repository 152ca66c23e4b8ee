package interceptors

import (
	"context"
	"log/slog"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// callRecord carries authorize's decision out to the access log, which sits
// outside the auth interceptors and so cannot see the context they build.
type callRecord struct {
	decision Decision
	decided  bool
}

type recordKey struct{}

func record(ctx context.Context) *callRecord {
	r, _ := ctx.Value(recordKey{}).(*callRecord)
	return r
}

// accessLog writes one line per call: method, client, subject, outcome,
// code, duration and peer. Never the token.
type accessLog struct {
	log         *slog.Logger
	failureOnly bool // skip calls that succeeded
}

func (l accessLog) write(ctx context.Context, method string, start time.Time, rec *callRecord, err error) {
	if err == nil && l.failureOnly {
		return
	}
	code := status.Code(err)
	level := slog.LevelInfo
	if code == codes.Internal || code == codes.Unknown || code == codes.DataLoss {
		level = slog.LevelError
	}
	if !l.log.Enabled(ctx, level) {
		return
	}
	attrs := []slog.Attr{
		slog.String("method", method),
		slog.String("code", code.String()),
		slog.Duration("duration", time.Since(start)),
	}
	d := rec.decision
	outcome := "ok"
	switch {
	case rec.decided && d.Outcome == "refused":
		outcome = "refused"
		attrs = append(attrs, slog.String("auth_reason", d.Reason))
	case err != nil:
		outcome = "error"
	}
	attrs = append(attrs, slog.String("outcome", outcome))
	if d.ClientID != "" {
		attrs = append(attrs, slog.String("client_id", d.ClientID), slog.String("subject", d.Subject))
	}
	if pr, ok := peer.FromContext(ctx); ok && pr.Addr != nil {
		attrs = append(attrs, slog.String("peer", pr.Addr.String()))
	}
	l.log.LogAttrs(ctx, level, "rpc", attrs...)
}

func (l accessLog) unary() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		start, rec := time.Now(), &callRecord{}
		resp, err := handler(context.WithValue(ctx, recordKey{}, rec), req)
		l.write(ctx, info.FullMethod, start, rec, err)
		return resp, err
	}
}

func (l accessLog) stream() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		start, rec := time.Now(), &callRecord{}
		err := handler(srv, &wrappedStream{ServerStream: ss, ctx: context.WithValue(ss.Context(), recordKey{}, rec)})
		l.write(ss.Context(), info.FullMethod, start, rec, err)
		return err
	}
}
