package verify

import (
	"context"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/tollgate-rpc/tollgate/internal/jwtest"
)

// FuzzVerify feeds random bytes and mutations of a valid token to the
// verifier: it must never panic, and nothing but the valid token itself may
// ever verify.
func FuzzVerify(f *testing.F) {
	ti := jwtest.NewIssuer(f)
	kid := ti.AddKey(jwa.ES256)
	valid := ti.Sign(kid, nil, ti.Claims("inventory", nil))
	v, err := New([]Issuer{{Issuer: ti.URL, Audiences: []string{"inventory"}}}, WithUnknownKidCooldown(1<<62))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(v.Close)
	if _, err := v.Verify(context.Background(), valid); err != nil {
		f.Fatal(err)
	}
	f.Add(valid)
	f.Add(valid + "A")
	f.Add(valid[:len(valid)-1])
	f.Add("")
	f.Add("..")
	f.Add("e30.e30.")
	f.Fuzz(func(t *testing.T, token string) {
		// A bound, so that a token that makes Verify wait (on a key fetch)
		// shows up as a failure rather than a stalled fuzzer.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c, err := v.Verify(ctx, token)
		if ctx.Err() != nil {
			t.Fatalf("Verify(%q) waited until its context ended: %v", token, err)
		}
		if err == nil && token != valid {
			t.Fatalf("a token other than the valid one verified: %q → %+v", token, c)
		}
		if err != nil && ReasonOf(err) == "" {
			t.Fatalf("refusal without a reason: %v", err)
		}
	})
}
