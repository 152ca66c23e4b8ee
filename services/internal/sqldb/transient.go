package sqldb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Transient reports whether err is the database being unreachable, slow
// or briefly unable to serve (connection refused, reset or closed, EOF, a
// timeout, an administrator shutdown, a serialization failure, a locked
// SQLite file), as opposed to a bug or bad data: the caller's RPC then
// fails Unavailable, which gRPC clients retry, instead of Internal, which
// they do not.
func Transient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case strings.HasPrefix(pgErr.Code, "08"), // connection exception
			strings.HasPrefix(pgErr.Code, "57P"),         // operator intervention: shutdown, cannot connect now
			strings.HasPrefix(pgErr.Code, "53"),          // insufficient resources: too many connections, disk full
			pgErr.Code == "40001", pgErr.Code == "40P01", // serialization failure, deadlock: retry
			pgErr.Code == "57014": // query cancelled by statement_timeout
			return true
		}
		return false
	}
	var netErr net.Error
	var connectErr *pgconn.ConnectError
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, driver.ErrBadConn), errors.Is(err, sql.ErrConnDone),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.As(err, &netErr), errors.As(err, &connectErr), pgconn.Timeout(err),
		errors.Is(err, pgconn.ErrConnClosed), pgconn.SafeToRetry(err): // a connection pgx found closed

		return true
	}
	// SQLite: another process holds the lock (SQLITE_BUSY, SQLITE_LOCKED),
	// or the disk is full (SQLITE_FULL).
	msg := err.Error()
	return strings.Contains(msg, "SQLITE_BUSY") || strings.Contains(msg, "SQLITE_LOCKED") ||
		strings.Contains(msg, "database is locked") || strings.Contains(msg, "SQLITE_FULL")
}

// Status is the gRPC status of a store failure that is no domain error:
// the caller's own cancellation or deadline as such, Unavailable when the
// database is [Transient]ly unreachable (logged as a warning: retry), and
// Internal, a bug, otherwise (logged as an error). The error's text, which
// may name hosts and tables, never reaches the caller.
func Status(ctx context.Context, log *slog.Logger, what string, err error) error {
	switch {
	case ctx.Err() != nil:
		return status.FromContextError(ctx.Err()).Err()
	case Transient(err):
		log.Warn(what+" unavailable", slog.Any("error", err))
		return status.Error(codes.Unavailable, "database unavailable; retry")
	default:
		log.Error(what, slog.Any("error", err))
		return status.Error(codes.Internal, "internal error")
	}
}
