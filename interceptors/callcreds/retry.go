package callcreds

import (
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"

	"github.com/tollgate-rpc/tollgate/interceptors/errorinfo"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

const maxReplayedMessages = 16

// tokenRejected reports whether err says the server refused the token (as
// opposed to the caller's permissions), so a new token may succeed: after a
// revoked secret's rotation the caller's next token is good; a disabled
// client's token request fails, saying so.
func tokenRejected(err error) bool {
	r := unauthenticatedReason(err)
	return r == errorinfo.InvalidToken || r == errorinfo.TokenExpired || r == errorinfo.TokenRevoked
}

// unauthenticatedReason is the Tollgate ErrorInfo reason of an
// Unauthenticated status, or "".
func unauthenticatedReason(err error) string {
	st, ok := status.FromError(err)
	if !ok || st.Code() != codes.Unauthenticated {
		return ""
	}
	for _, d := range st.Details() {
		if ei, ok := d.(*errdetails.ErrorInfo); ok && ei.GetDomain() == errorinfo.Domain {
			return ei.GetReason()
		}
	}
	return ""
}

// staleAfterRejection drops the token a rejected call used: the one that was
// current when the call began (or, for a first call, the one fetched for it).
// A token refreshed meanwhile is newer than the rejected one and stays.
func (c *Credentials) staleAfterRejection(callStart *Token) {
	if t := c.src.current(); t != nil && (callStart == nil || t == callStart) {
		c.src.Invalidate(t)
	}
}

// UnaryClientInterceptor retries a call once, with a freshly fetched token,
// when the server rejected the token. The server refuses before the handler
// runs, so the retry cannot duplicate work. PermissionDenied is never retried.
func (c *Credentials) UnaryClientInterceptor() grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		before := c.src.current()
		err := invoker(ctx, method, req, reply, cc, opts...)
		if !tokenRejected(err) {
			return err
		}
		c.staleAfterRejection(before)
		return invoker(ctx, method, req, reply, cc, opts...)
	}
}

// StreamClientInterceptor retries a stream once with a fresh token when the
// server rejected the token before answering. Messages sent before the
// rejection are replayed on the new stream (up to 16; past that the stream is
// not retried). SendMsg and RecvMsg may run on different goroutines, as gRPC
// allows.
func (c *Credentials) StreamClientInterceptor() grpc.StreamClientInterceptor {
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		before := c.src.current()
		open := func() (grpc.ClientStream, error) { return streamer(ctx, desc, cc, method, opts...) }
		cs, err := open()
		if tokenRejected(err) {
			c.staleAfterRejection(before)
			cs, err = open()
		}
		if err != nil {
			return nil, err
		}
		s := &retryStream{creds: c, before: before, open: open}
		s.cs.Store(&clientStream{cs})
		return s, nil
	}
}

// retryStream is a client stream that may be replaced once, by RecvMsg, when
// the server rejects its token. Until the stream settles (a message or a
// final status arrived, or too much was sent to replay), mu orders every send
// against the replacement: a message is either recorded before it and
// replayed, or sent after it on the new stream. Once settled, the stream never
// changes and sends take one atomic load.
type retryStream struct {
	creds  *Credentials
	before *Token
	open   func() (grpc.ClientStream, error)

	cs      atomic.Pointer[clientStream] // replaced at most once, before settled is set
	settled atomic.Bool

	mu     sync.Mutex // held by sends and CloseSend until settled, and by the replacement
	sent   []any      // messages sent so far, for the replay
	closed bool       // CloseSend was called
}

// clientStream boxes the interface for atomic.Pointer.
type clientStream struct{ grpc.ClientStream }

func (s *retryStream) stream() grpc.ClientStream { return s.cs.Load().ClientStream }

func (s *retryStream) Header() (metadata.MD, error) { return s.stream().Header() }
func (s *retryStream) Trailer() metadata.MD         { return s.stream().Trailer() }
func (s *retryStream) Context() context.Context     { return s.stream().Context() }

func (s *retryStream) SendMsg(m any) error {
	if s.settled.Load() {
		return s.stream().SendMsg(m)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.settled.Load() {
		return s.stream().SendMsg(m)
	}
	if len(s.sent) == maxReplayedMessages {
		// Too much to replay: this stream can no longer be retried.
		s.sent = nil
		s.settled.Store(true)
		return s.stream().SendMsg(m)
	}
	s.sent = append(s.sent, m)
	err := s.stream().SendMsg(m)
	if errors.Is(err, io.EOF) {
		// The stream ended, perhaps because the token was refused: the
		// message is recorded for a replay, and RecvMsg reports the status
		// if there is none.
		return nil
	}
	return err
}

func (s *retryStream) CloseSend() error {
	if s.settled.Load() {
		return s.stream().CloseSend()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return s.stream().CloseSend()
}

func (s *retryStream) RecvMsg(m any) error {
	err := s.stream().RecvMsg(m)
	if s.settled.Load() {
		return err
	}
	if err == nil || !tokenRejected(err) {
		s.settled.Store(true) // the recorded messages are dropped with the stream
		return err
	}
	return s.retry(m)
}

// retry replaces the rejected stream with one opened with a fresh token,
// replays what was sent, and receives m from it. Only RecvMsg calls it, and
// gRPC never runs two RecvMsg at once, so the stream is replaced at most once.
func (s *retryStream) retry(m any) error {
	cs, err := s.replace()
	if err != nil {
		return err
	}
	return cs.RecvMsg(m) // outside the lock: the server may wait for the next send
}

func (s *retryStream) replace() (grpc.ClientStream, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.settled.Store(true)
	s.creds.staleAfterRejection(s.before)
	cs, err := s.open()
	if err != nil {
		return nil, err
	}
	for _, msg := range s.sent {
		if cs.SendMsg(msg) != nil {
			break // the status arrives through RecvMsg
		}
	}
	s.sent = nil
	if s.closed {
		if err := cs.CloseSend(); err != nil {
			return nil, err
		}
	}
	s.cs.Store(&clientStream{cs})
	return cs, nil
}
