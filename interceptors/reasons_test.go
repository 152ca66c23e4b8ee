package interceptors

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/tollgate-rpc/tollgate/interceptors/errorinfo"
	"github.com/tollgate-rpc/tollgate/interceptors/verify"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

type verifierFunc func(ctx context.Context, token string) (*verify.Claims, error)

func (f verifierFunc) Verify(ctx context.Context, token string) (*verify.Claims, error) {
	return f(ctx, token)
}

// A custom TokenVerifier's refusals carry one reason to the decision (and
// so the metrics), the access log and the ErrorInfo: its own when it names
// one with verify.NewError, rejected for a plain error, whose text stays
// out of the caller's message.
func TestCustomVerifierRefusals(t *testing.T) {
	for _, tc := range []struct {
		name       string
		err        error
		code       codes.Code
		reason     verify.Reason
		errorInfo  string
		notInReply string
	}{
		{"plain error", errors.New("backend says no"), codes.Unauthenticated, verify.ReasonRejected, errorinfo.InvalidToken, "backend"},
		{"named reason", verify.NewError(verify.ReasonAudience, "token is for billing", nil), codes.Unauthenticated,
			verify.ReasonAudience, errorinfo.InvalidToken, ""},
		{"expired", verify.NewError(verify.ReasonExpired, "token expired", nil), codes.Unauthenticated, verify.ReasonExpired, errorinfo.TokenExpired, ""},
		{"keys unavailable", verify.NewError(verify.ReasonKeysUnavailable, "no keys", nil), codes.Unavailable,
			verify.ReasonKeysUnavailable, errorinfo.KeysUnavailable, ""},
		{"revoked", verify.NewError(verify.ReasonRevoked, "token revoked", nil), codes.Unauthenticated,
			verify.ReasonRevoked, errorinfo.TokenRevoked, ""},
		{"revocations unavailable", verify.NewError(verify.ReasonRevocationsUnavailable, "feed down", nil), codes.Unavailable,
			verify.ReasonRevocationsUnavailable, errorinfo.KeysUnavailable, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var decisions []Decision
			var log bytes.Buffer
			auth := New(verifierFunc(func(context.Context, string) (*verify.Claims, error) { return nil, tc.err }),
				WithObserver(func(d Decision) { decisions = append(decisions, d) }),
				WithAccessLog(slog.New(slog.NewTextHandler(&log, nil))))
			ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer abc.def.ghi"))
			info := &grpc.UnaryServerInfo{FullMethod: "/tollgate.inventory.v1.InventoryService/GetItem"}
			_, err := auth.UnaryServerInterceptor()(ctx, nil, info, func(context.Context, any) (any, error) {
				t.Fatal("the handler ran for a refused call")
				return nil, nil
			})
			if status.Code(err) != tc.code {
				t.Fatalf("code %v, want %v: %v", status.Code(err), tc.code, err)
			}
			ei := errorInfo(err)
			if ei.GetReason() != tc.errorInfo || ei.GetDomain() != errorinfo.Domain {
				t.Errorf("ErrorInfo %v, want reason %s", ei, tc.errorInfo)
			}
			if tc.notInReply != "" && strings.Contains(status.Convert(err).Message(), tc.notInReply) {
				t.Errorf("the caller is told the verifier's own error: %q", status.Convert(err).Message())
			}
			if len(decisions) != 1 || decisions[0].Outcome != OutcomeRefused || decisions[0].Reason != tc.reason {
				t.Errorf("decisions %+v, want one refused for %s", decisions, tc.reason)
			}
			if want := "auth_reason=" + string(tc.reason); !strings.Contains(log.String(), want) {
				t.Errorf("access log lacks %s:\n%s", want, log.String())
			}
		})
	}
}
