// Package rpcerr builds the gRPC errors that Tollgate returns: a status with
// one typed detail (the interceptors' google.rpc.ErrorInfo), InvalidArgument
// with google.rpc.BadRequest field violations, and FailedPrecondition with
// google.rpc.PreconditionFailure violations. Messages are written for the
// caller; internal error text never goes into them.
package rpcerr

import (
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"
)

// Fields collects field violations of one request.
type Fields []*errdetails.BadRequest_FieldViolation

// Add records that field is wrong, and why.
func (f *Fields) Add(field, why string) {
	*f = append(*f, &errdetails.BadRequest_FieldViolation{Field: field, Description: why})
}

// Err returns an InvalidArgument status listing the violations, or nil when
// there are none.
func (f Fields) Err() error {
	if len(f) == 0 {
		return nil
	}
	msg := "invalid " + f[0].Field + ": " + f[0].Description
	if len(f) > 1 {
		msg += " (and more)"
	}
	return WithDetail(codes.InvalidArgument, msg, &errdetails.BadRequest{FieldViolations: f})
}

// Precondition returns a FailedPrecondition status with one violation.
func Precondition(kind, subject, msg string) error {
	return WithDetail(codes.FailedPrecondition, msg, &errdetails.PreconditionFailure{
		Violations: []*errdetails.PreconditionFailure_Violation{{Type: kind, Subject: subject, Description: msg}},
	})
}

// WithDetail returns a status error with code, msg and one detail; should
// the detail not marshal, the status alone.
func WithDetail(code codes.Code, msg string, detail protoadapt.MessageV1) error {
	st, err := status.New(code, msg).WithDetails(detail)
	if err != nil {
		return status.Error(code, msg)
	}
	return st.Err()
}
