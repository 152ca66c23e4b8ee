// Package errorinfo names the google.rpc.ErrorInfo that Tollgate's
// interceptors attach to every auth refusal: its domain and its reasons.
// Servers derive them from the refusal's reason (interceptors.ErrorInfoReason); callers, such
// as package callcreds, read them to tell a token the server refused (fetch
// another) from a caller that lacks a permission (do not). It has no
// dependencies, so a caller-only program builds nothing of the server side.
package errorinfo

// Domain is the ErrorInfo domain of every auth refusal.
const Domain = "auth.tollgate-rpc.dev"

// ErrorInfo reasons of auth refusals.
const (
	MissingToken      = "MISSING_TOKEN"      // no usable authorization metadata
	InvalidToken      = "INVALID_TOKEN"      // the token did not verify
	TokenExpired      = "TOKEN_EXPIRED"      // the token verified but has expired
	TokenRevoked      = "TOKEN_REVOKED"      // the issuer revoked the token (or its client's tokens)
	InsufficientScope = "INSUFFICIENT_SCOPE" // a valid token without a required scope
	NoPolicy          = "NO_POLICY"          // the method has no access policy
	// KeysUnavailable comes with codes.Unavailable: the service could not
	// fetch its issuer's keys, so it cannot tell whether the token is good.
	// The token is not at fault: retry later with the same token.
	KeysUnavailable = "KEYS_UNAVAILABLE"
)
