package interceptors

import (
	"testing"

	"github.com/tollgate-rpc/tollgate/interceptors/errorinfo"
	"github.com/tollgate-rpc/tollgate/interceptors/verify"
)

// Every reason maps to the ErrorInfo reason a caller acts on: a new token
// for an invalid or expired one, the same token later when keys are
// unavailable, nothing when the caller lacks a scope or the method a policy.
func TestReasonErrorInfo(t *testing.T) {
	for r, want := range map[verify.Reason]string{
		verify.ReasonMalformed: errorinfo.InvalidToken, verify.ReasonTooLarge: errorinfo.InvalidToken, verify.ReasonHeader: errorinfo.InvalidToken,
		verify.ReasonType: errorinfo.InvalidToken, verify.ReasonAlgorithm: errorinfo.InvalidToken, verify.ReasonIssuer: errorinfo.InvalidToken,
		verify.ReasonUnknownKey: errorinfo.InvalidToken, verify.ReasonSignature: errorinfo.InvalidToken, verify.ReasonNotYetValid: errorinfo.InvalidToken,
		verify.ReasonAudience: errorinfo.InvalidToken, verify.ReasonClaims: errorinfo.InvalidToken, verify.ReasonRejected: errorinfo.InvalidToken,
		verify.ReasonExpired:         errorinfo.TokenExpired,
		verify.ReasonKeysUnavailable: errorinfo.KeysUnavailable,
		ReasonMissingToken:           errorinfo.MissingToken,
		ReasonInsufficientScope:      errorinfo.InsufficientScope,
		ReasonNoPolicy:               errorinfo.NoPolicy,
		"something new":              errorinfo.InvalidToken,
	} {
		if got := ErrorInfoReason(r); got != want {
			t.Errorf("ErrorInfoReason(%s) = %s, want %s", r, got, want)
		}
	}
}
