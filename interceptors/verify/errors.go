package verify

import (
	"errors"
	"fmt"
)

// Reason classifies why a token was refused. It never contains token
// material. A custom token verifier names its own refusals with
// [NewError]. Whoever serves the verifier's answers (package interceptors,
// for gRPC) adds the reasons of its own and maps them all to its protocol.
type Reason string

// Reasons a token can be refused.
const (
	ReasonMalformed       Reason = "malformed"        // not a compact JWS with JSON header and claims
	ReasonTooLarge        Reason = "too_large"        // longer than the size limit
	ReasonHeader          Reason = "bad_header"       // crit or b64 present, kid missing
	ReasonType            Reason = "wrong_type"       // typ is not at+jwt (or JWT where allowed)
	ReasonAlgorithm       Reason = "bad_algorithm"    // alg not allowed, or not the key's
	ReasonIssuer          Reason = "unknown_issuer"   // iss is not a trusted issuer
	ReasonUnknownKey      Reason = "unknown_key"      // kid not in the issuer's JWKS
	ReasonKeysUnavailable Reason = "keys_unavailable" // the issuer's JWKS could not be fetched yet
	ReasonSignature       Reason = "bad_signature"    // signature does not verify
	ReasonExpired         Reason = "expired"          // exp is in the past
	ReasonNotYetValid     Reason = "not_yet_valid"    // nbf or iat is in the future
	ReasonAudience        Reason = "wrong_audience"   // no accepted audience in aud
	ReasonClaims          Reason = "bad_claims"       // a required claim is missing or mistyped
	ReasonRejected        Reason = "rejected"         // a custom check refused the token
	ReasonRevoked         Reason = "revoked"          // the issuer revoked it (its jti, or its client's tokens)
	// ReasonRevocationsUnavailable: the issuer's revocation feed has not
	// answered within WithRevocationMaxStaleness; the token is not at fault.
	ReasonRevocationsUnavailable Reason = "revocations_unavailable"
)

// Error is returned for every refused token. Its message says what was wrong
// without quoting the token.
type Error struct {
	Reason Reason
	msg    string
	err    error
}

func (e *Error) Error() string {
	if e.err != nil {
		return fmt.Sprintf("%s: %v", e.msg, e.err)
	}
	return e.msg
}

func (e *Error) Unwrap() error { return e.err }

// Description is the refusal in a few words, for the caller: what was
// wrong, never the parser's internals (those stay in Error, for logs). A
// custom check's own message is kept.
func (e *Error) Description() string {
	if e.Reason == ReasonRejected && e.err != nil {
		return e.Error()
	}
	return e.msg
}

// NewError returns a refusal for reason r: description is what the caller
// is told, cause (which may be nil) what the logs add. A custom
// TokenVerifier returns it so that its refusals carry their reason to the
// ErrorInfo, the access log and the metrics. r should say what is wrong
// with the token (ReasonMalformed through ReasonRejected): missing_token,
// insufficient_scope and no_policy are the interceptors' own decisions.
func NewError(r Reason, description string, cause error) *Error {
	return &Error{Reason: r, msg: description, err: cause}
}

// ReasonOf returns the Reason of a verification error, or "" when err is not
// one.
func ReasonOf(err error) Reason {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}
