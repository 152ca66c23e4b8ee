package callcreds

import (
	"context"
	"errors"
	"io"

	"github.com/tollgate-rpc/tollgate/interceptors/errorinfo"
	"google.golang.org/grpc"
)

// TokenExpired reports whether err ended a stream because the token it was
// opened with expired while it was open: Tollgate servers end such streams
// Unauthenticated with ErrorInfo reason TOKEN_EXPIRED.
func TokenExpired(err error) bool { return unauthenticatedReason(err) == errorinfo.TokenExpired }

// TokenRevoked reports whether err refused a token, or ended a stream,
// because the issuer revoked the token (ErrorInfo reason TOKEN_REVOKED).
func TokenRevoked(err error) bool { return unauthenticatedReason(err) == errorinfo.TokenRevoked }

// Resume keeps a server stream going across token expiry. It opens the
// stream with open (a call on a connection that uses c) and hands every
// message to handle; when the server ends the stream because its token
// expired or was revoked, Resume drops that token and opens the stream
// again, with a fresh token, and goes on (a disabled client's token request
// then fails, and so does Resume). onReopen, when not nil, is told before each reopening.
// It returns nil when the stream ends normally, and otherwise the error that
// ended it: ctx's, handle's, or the server's. A stream that expires again
// before delivering a single message is not reopened a second time.
//
// Use it for streams that can start over, such as a watch that sends the
// current state first.
func Resume[T any](ctx context.Context, c *Credentials, open func(context.Context) (grpc.ServerStreamingClient[T], error),
	handle func(*T) error, onReopen func()) error {
	delivered := true
	for {
		before := c.src.current()
		stream, err := open(ctx)
		if err != nil {
			return err
		}
		got := false
		for {
			m, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				if !TokenExpired(err) && !TokenRevoked(err) || (!got && !delivered) {
					return err
				}
				break
			}
			got = true
			if err := handle(m); err != nil {
				return err
			}
		}
		delivered = got
		c.staleAfterRejection(before)
		if onReopen != nil {
			onReopen()
		}
	}
}
