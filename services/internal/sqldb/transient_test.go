package sqldb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

func TestTransient(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{&pgconn.PgError{Code: "57P01"}, true}, // terminated by an administrator
		{&pgconn.PgError{Code: "08006"}, true}, // connection failure
		{&pgconn.PgError{Code: "53300"}, true}, // too many connections
		{&pgconn.PgError{Code: "40001"}, true}, // serialization failure
		{fmt.Errorf("read items: %w", io.ErrUnexpectedEOF), true},
		{fmt.Errorf("dial: %w", syscall.ECONNREFUSED), true},
		{context.DeadlineExceeded, true},
		{fmt.Errorf("commit: %w", pgconn.ErrConnClosed), true},
		{errors.New("SQL logic error: database is locked (5) (SQLITE_BUSY)"), true},
		{&pgconn.PgError{Code: "23505"}, false}, // unique violation: a bug or bad data
		{&pgconn.PgError{Code: "42P01"}, false}, // undefined table: a bug
		{errors.New("scan: converting NULL to int64"), false},
		{context.Canceled, false},
		{nil, false},
	} {
		if got := Transient(tc.err); got != tc.want {
			t.Errorf("Transient(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
