package interceptors

import (
	"context"
	"strings"
	"testing"

	"google.golang.org/grpc/metadata"
)

// FuzzBearerToken parses arbitrary authorization values: it never panics,
// and whatever it accepts is a Bearer token in token68 syntax.
func FuzzBearerToken(f *testing.F) {
	for _, s := range []string{"Bearer abc.def.ghi", "bearer x", "Basic dXNlcg==", "Bearer ", "Bearer a b", "Bearer abc==", "Bearer =", "BEARER\ttok"} {
		f.Add(s, "")
	}
	f.Add("Bearer a", "Bearer b")
	f.Fuzz(func(t *testing.T, v1, v2 string) {
		md := metadata.Pairs("authorization", v1)
		if v2 != "" {
			md.Append("authorization", v2)
		}
		tok, err := bearerToken(metadata.NewIncomingContext(context.Background(), md))
		if err == nil {
			err = checkToken68(tok) // the interceptor's check of a token it has not verified before
		}
		if err != nil {
			return
		}
		if v2 != "" {
			t.Fatalf("accepted two authorization values %q, %q", v1, v2)
		}
		scheme, rest, _ := strings.Cut(v1, " ")
		if !strings.EqualFold(scheme, "bearer") || rest != tok || !isToken68(tok) || strings.TrimRight(tok, "=") == "" {
			t.Fatalf("accepted %q as token %q", v1, tok)
		}
	})
}
