// Package rpcerr builds the gRPC errors that Tollgate's services return:
// InvalidArgument with google.rpc.BadRequest field violations, and
// FailedPrecondition with google.rpc.PreconditionFailure violations. Messages
// are written for the caller; internal error text never goes into them.
package rpcerr

import (
	"regexp"

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
	return with(codes.InvalidArgument, msg, &errdetails.BadRequest{FieldViolations: f})
}

// Precondition returns a FailedPrecondition status with one violation.
func Precondition(kind, subject, msg string) error {
	return with(codes.FailedPrecondition, msg, &errdetails.PreconditionFailure{
		Violations: []*errdetails.PreconditionFailure_Violation{{Type: kind, Subject: subject, Description: msg}},
	})
}

func with(code codes.Code, msg string, detail protoadapt.MessageV1) error {
	st, err := status.New(code, msg).WithDetails(detail)
	if err != nil {
		return status.Error(code, msg)
	}
	return st.Err()
}

var sku = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// ValidSKU reports whether s is a well-formed SKU.
func ValidSKU(s string) bool { return sku.MatchString(s) }
