package callcreds

import (
	"context"
	"errors"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// The google.rpc.ErrorInfo that Tollgate servers attach when they reject the
// token itself (package interceptors declares the same values).
const (
	errorDomain         = "auth.tollgate-rpc.dev"
	reasonInvalidToken  = "INVALID_TOKEN"
	reasonTokenExpired  = "TOKEN_EXPIRED"
	maxReplayedMessages = 16
)

// tokenRejected reports whether err says the server refused the token (as
// opposed to the caller's permissions), so a new token may succeed.
func tokenRejected(err error) bool {
	st, ok := status.FromError(err)
	if !ok || st.Code() != codes.Unauthenticated {
		return false
	}
	for _, d := range st.Details() {
		if ei, ok := d.(*errdetails.ErrorInfo); ok && ei.GetDomain() == errorDomain {
			return ei.GetReason() == reasonInvalidToken || ei.GetReason() == reasonTokenExpired
		}
	}
	return false
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
// server rejected the token before sending anything. Messages sent before the
// rejection are replayed (up to 16; past that the stream is not retried).
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
		return &retryStream{ClientStream: cs, creds: c, before: before, open: open}, nil
	}
}

type retryStream struct {
	grpc.ClientStream
	creds  *Credentials
	before *Token
	open   func() (grpc.ClientStream, error)

	sent    []any
	closed  bool
	settled bool // a message arrived, or a retry happened, or too much was sent
}

func (s *retryStream) SendMsg(m any) error {
	if !s.settled {
		if len(s.sent) == maxReplayedMessages {
			s.settled, s.sent = true, nil
		} else {
			s.sent = append(s.sent, m)
		}
	}
	return s.ClientStream.SendMsg(m)
}

func (s *retryStream) CloseSend() error {
	s.closed = true
	return s.ClientStream.CloseSend()
}

func (s *retryStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	if s.settled {
		return err
	}
	if err == nil || !tokenRejected(err) {
		s.settled, s.sent = true, nil
		return err
	}
	s.settled = true
	s.creds.staleAfterRejection(s.before)
	cs, openErr := s.open()
	if openErr != nil {
		return openErr
	}
	for _, msg := range s.sent {
		if sendErr := cs.SendMsg(msg); sendErr != nil {
			break // the status arrives through RecvMsg
		}
	}
	s.sent = nil
	if s.closed {
		if cerr := cs.CloseSend(); cerr != nil && !errors.Is(cerr, context.Canceled) {
			return cerr
		}
	}
	s.ClientStream = cs
	return cs.RecvMsg(m)
}
