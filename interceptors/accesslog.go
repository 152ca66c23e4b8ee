package interceptors

import (
	"context"
	"log/slog"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// accessLog writes one line per call: method, client, subject, outcome,
// code, duration and peer. Never the token. The auth interceptors write it
// themselves, so it is there in any chain they are part of.
type accessLog struct {
	log          *slog.Logger // nil: no access log
	failuresOnly bool         // skip calls that succeeded
}

// start is when a call began, read only when a line may be written.
func (l accessLog) start() time.Time {
	if l.log == nil {
		return time.Time{}
	}
	return time.Now()
}

func (l accessLog) write(ctx context.Context, start time.Time, d *Decision, err error) {
	if l.log == nil || err == nil && l.failuresOnly {
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
	var buf [9]slog.Attr
	attrs := append(buf[:0],
		slog.String("method", d.Method),
		slog.String("code", code.String()),
		slog.Duration("duration", time.Since(start)),
	)
	outcome := "ok"
	switch {
	case d.Outcome == OutcomeRefused:
		outcome = string(OutcomeRefused)
		attrs = append(attrs, slog.String("auth_reason", string(d.Reason)))
	case err != nil:
		outcome = "error"
	}
	attrs = append(attrs, slog.String("outcome", outcome))
	if d.ClientID != "" {
		attrs = append(attrs, slog.String("issuer", d.Issuer), slog.String("client_id", d.ClientID), slog.String("subject", d.Subject))
	}
	if pr, ok := peer.FromContext(ctx); ok && pr.Addr != nil {
		attrs = append(attrs, slog.String("peer", pr.Addr.String()))
	}
	l.log.LogAttrs(ctx, level, "rpc", attrs...)
}
