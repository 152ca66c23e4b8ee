package interceptors

import (
	"errors"
	"strings"

	"github.com/tollgate-rpc/tollgate/interceptors/errorinfo"
	"github.com/tollgate-rpc/tollgate/interceptors/verify"
	"github.com/tollgate-rpc/tollgate/internal/rpcerr"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
)

// Reasons the interceptors refuse a call for, before or after verifying,
// beside the verifier's (verify.Reason*): one vocabulary, from which the
// ErrorInfo reason (ErrorInfoReason), the access log's auth_reason and the
// auth metrics' reason label are all derived.
const (
	ReasonMissingToken      verify.Reason = "missing_token"      // no usable authorization metadata
	ReasonInsufficientScope verify.Reason = "insufficient_scope" // a valid token without a required scope
	ReasonNoPolicy          verify.Reason = "no_policy"          // the method has no access policy
)

// ErrorInfoReason is the google.rpc.ErrorInfo reason a refusal for r
// carries: the few a caller acts on (package errorinfo), with every token
// fault but expiry and revocation folded into INVALID_TOKEN. An unknown reason reads as an
// invalid token.
func ErrorInfoReason(r verify.Reason) string {
	switch r {
	case ReasonMissingToken:
		return errorinfo.MissingToken
	case verify.ReasonExpired:
		return errorinfo.TokenExpired
	case verify.ReasonRevoked:
		return errorinfo.TokenRevoked
	case verify.ReasonKeysUnavailable, verify.ReasonRevocationsUnavailable:
		// Either way the service cannot tell whether the token is good:
		// the caller retries later with the same token.
		return errorinfo.KeysUnavailable
	case ReasonInsufficientScope:
		return errorinfo.InsufficientScope
	case ReasonNoPolicy:
		return errorinfo.NoPolicy
	}
	return errorinfo.InvalidToken
}

// authError is a refusal for reason r: the status code, the caller's
// message, and a google.rpc.ErrorInfo in errorinfo.Domain whose reason is
// ErrorInfoReason(r), with meta.
func authError(code codes.Code, msg string, r verify.Reason, meta map[string]string) error {
	return rpcerr.WithDetail(code, msg, &errdetails.ErrorInfo{Reason: ErrorInfoReason(r), Domain: errorinfo.Domain, Metadata: meta})
}

// causeOf is the ErrorInfo metadata naming the verifier's finer reason.
func causeOf(r verify.Reason) map[string]string { return map[string]string{"cause": string(r)} }

// Fixed refusals, built once.
var (
	errMissingToken = authError(codes.Unauthenticated, "missing bearer token in authorization metadata", ReasonMissingToken, nil)
	errManyTokens   = authError(codes.Unauthenticated, "more than one authorization metadata value", ReasonMissingToken, nil)
	errNotBearer    = authError(codes.Unauthenticated, "authorization metadata is not a Bearer token", ReasonMissingToken, nil)
	// errStreamTokenExpired ends a stream whose token expired while it was
	// open: the caller reopens it with a fresh token.
	errStreamTokenExpired = authError(codes.Unauthenticated, "access token expired during the stream; reopen it with a fresh token",
		verify.ReasonExpired, causeOf(verify.ReasonExpired))
	// errStreamTokenRevoked ends a stream whose token (or client) the
	// issuer revoked while it was open.
	errStreamTokenRevoked = authError(codes.Unauthenticated, "access token revoked during the stream",
		verify.ReasonRevoked, causeOf(verify.ReasonRevoked))
	// errReflectionNeedsToken says why grpcurl and friends see no services:
	// their error otherwise reads as a missing descriptor.
	errReflectionNeedsToken = authError(codes.Unauthenticated,
		"server reflection requires a bearer token (send authorization metadata, or start the server with --public-reflection)",
		ReasonMissingToken, nil)
	errMalformedBearer = authError(codes.Unauthenticated, "bearer token has invalid characters", verify.ReasonMalformed, causeOf(verify.ReasonMalformed))
)

// verifyError turns a verification failure for reason r into a status
// carrying it and the verifier's short description: never the token, never
// a parser's internals. A custom verifier's own error is not shown.
func verifyError(err error, r verify.Reason) error {
	switch r {
	case verify.ReasonKeysUnavailable:
		return authError(codes.Unavailable, "issuer keys unavailable; retry later with the same token", r, causeOf(r))
	case verify.ReasonRevocationsUnavailable:
		return authError(codes.Unavailable, "issuer revocations unavailable; retry later with the same token", r, causeOf(r))
	case verify.ReasonExpired:
		return authError(codes.Unauthenticated, "access token expired", r, causeOf(r))
	case verify.ReasonRevoked:
		return authError(codes.Unauthenticated, "access token revoked", r, causeOf(r))
	}
	var e *verify.Error
	if !errors.As(err, &e) {
		return authError(codes.Unauthenticated, "access token invalid", r, nil)
	}
	return authError(codes.Unauthenticated, "access token invalid: "+e.Description(), r, causeOf(r))
}

func scopeError(method string, required, missing []string) error {
	return authError(codes.PermissionDenied,
		"access token lacks scope "+strings.Join(missing, " ")+" required by "+method,
		ReasonInsufficientScope,
		map[string]string{"required_scopes": strings.Join(required, " "), "missing_scopes": strings.Join(missing, " ")})
}
