package interceptors

import (
	"errors"
	"strings"

	"github.com/tollgate-rpc/tollgate/interceptors/verify"
	"github.com/tollgate-rpc/tollgate/internal/rpcerr"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
)

// ErrorDomain is the google.rpc.ErrorInfo domain of every auth refusal.
const ErrorDomain = "auth.tollgate-rpc.dev"

// ErrorInfo reasons of auth refusals.
const (
	ReasonMissingToken      = "MISSING_TOKEN"      // no usable authorization metadata
	ReasonInvalidToken      = "INVALID_TOKEN"      // the token did not verify
	ReasonTokenExpired      = "TOKEN_EXPIRED"      // the token verified but has expired
	ReasonInsufficientScope = "INSUFFICIENT_SCOPE" // a valid token without a required scope
	ReasonNoPolicy          = "NO_POLICY"          // the method has no access policy
	// ReasonKeysUnavailable comes with codes.Unavailable: the service could
	// not fetch its issuer's keys, so it cannot tell whether the token is
	// good. The token is not at fault: retry later with the same token.
	ReasonKeysUnavailable = "KEYS_UNAVAILABLE"
)

func authError(code codes.Code, msg, reason string, meta map[string]string) error {
	return rpcerr.WithDetail(code, msg, &errdetails.ErrorInfo{Reason: reason, Domain: ErrorDomain, Metadata: meta})
}

// Fixed refusals, built once.
var (
	errMissingToken = authError(codes.Unauthenticated, "missing bearer token in authorization metadata", ReasonMissingToken, nil)
	errManyTokens   = authError(codes.Unauthenticated, "more than one authorization metadata value", ReasonMissingToken, nil)
	errNotBearer    = authError(codes.Unauthenticated, "authorization metadata is not a Bearer token", ReasonMissingToken, nil)
	// errStreamTokenExpired ends a stream whose token expired while it was
	// open: the caller reopens it with a fresh token.
	errStreamTokenExpired = authError(codes.Unauthenticated, "access token expired during the stream; reopen it with a fresh token",
		ReasonTokenExpired, map[string]string{"cause": string(verify.ReasonExpired)})
	// errReflectionNeedsToken says why grpcurl and friends see no services:
	// their error otherwise reads as a missing descriptor.
	errReflectionNeedsToken = authError(codes.Unauthenticated,
		"server reflection requires a bearer token (send authorization metadata, or start the server with --public-reflection)",
		ReasonMissingToken, nil)
	errMalformedBearer = authError(codes.Unauthenticated, "bearer token has invalid characters", ReasonInvalidToken, map[string]string{"cause": string(verify.ReasonMalformed)})
)

// verifyError turns a verification failure into a status carrying the
// reason and the verifier's short description: never the token, never a
// parser's internals.
func verifyError(err error) error {
	r := verify.ReasonOf(err)
	if r == verify.ReasonKeysUnavailable {
		return authError(codes.Unavailable, "issuer keys unavailable; retry later with the same token", ReasonKeysUnavailable, map[string]string{"cause": string(r)})
	}
	if r == verify.ReasonExpired {
		return authError(codes.Unauthenticated, "access token expired", ReasonTokenExpired, map[string]string{"cause": string(r)})
	}
	var e *verify.Error
	if !errors.As(err, &e) {
		return authError(codes.Unauthenticated, "access token invalid", ReasonInvalidToken, nil)
	}
	return authError(codes.Unauthenticated, "access token invalid: "+e.Description(), ReasonInvalidToken, map[string]string{"cause": string(r)})
}

func scopeError(method string, required, missing []string) error {
	return authError(codes.PermissionDenied,
		"access token lacks scope "+strings.Join(missing, " ")+" required by "+method,
		ReasonInsufficientScope,
		map[string]string{"required_scopes": strings.Join(required, " "), "missing_scopes": strings.Join(missing, " ")})
}
