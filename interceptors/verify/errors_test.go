package verify

import (
	"testing"

	"github.com/tollgate-rpc/tollgate/interceptors/errorinfo"
)

// Every reason maps to the ErrorInfo reason a caller acts on: a new token
// for an invalid or expired one, the same token later when keys are
// unavailable, nothing when the caller lacks a scope or the method a policy.
func TestReasonErrorInfo(t *testing.T) {
	for r, want := range map[Reason]string{
		ReasonMalformed: errorinfo.InvalidToken, ReasonTooLarge: errorinfo.InvalidToken, ReasonHeader: errorinfo.InvalidToken,
		ReasonType: errorinfo.InvalidToken, ReasonAlgorithm: errorinfo.InvalidToken, ReasonIssuer: errorinfo.InvalidToken,
		ReasonUnknownKey: errorinfo.InvalidToken, ReasonSignature: errorinfo.InvalidToken, ReasonNotYetValid: errorinfo.InvalidToken,
		ReasonAudience: errorinfo.InvalidToken, ReasonClaims: errorinfo.InvalidToken, ReasonRejected: errorinfo.InvalidToken,
		ReasonExpired:           errorinfo.TokenExpired,
		ReasonKeysUnavailable:   errorinfo.KeysUnavailable,
		ReasonMissingToken:      errorinfo.MissingToken,
		ReasonInsufficientScope: errorinfo.InsufficientScope,
		ReasonNoPolicy:          errorinfo.NoPolicy,
		"something new":         errorinfo.InvalidToken,
	} {
		if got := r.ErrorInfo(); got != want {
			t.Errorf("%s.ErrorInfo() = %s, want %s", r, got, want)
		}
	}
}
