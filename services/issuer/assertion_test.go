package issuer

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-rpc/tollgate/internal/jwtest"
)

// An assertion is accepted until exp plus the allowed skew, so its jti is
// remembered that long: replays at exp+2s and exp+20s were accepted before.
// An empty jti cannot be remembered and is refused.
func TestAssertionReplayRememberedUntilItCannotValidate(t *testing.T) {
	start := time.Now().Truncate(time.Second)
	clock := jwtest.NewClock(start)
	ts := newTestServer(t, func(c *Config) { c.Now = clock.Now })
	priv, setJSON := clientKey(t)
	c := basicClient("keyed")
	c.JWKS = setJSON
	ts.addClient(t, c)
	sign := func(jti string, exp time.Time) string {
		return signAssertion(t, priv, map[string]any{"iss": "keyed", "sub": "keyed", "aud": ts.URL + "/oauth/token",
			"exp": exp.Unix(), "iat": start.Unix(), "jti": jti})
	}
	send := func(a string) response { return ts.postAssertion(t, a) }
	exp := start.Add(time.Minute)
	a := sign("once", exp)
	if r := send(a); r.status != http.StatusOK {
		t.Fatalf("first use: %d %s", r.status, r.raw)
	}
	for _, after := range []time.Duration{2 * time.Second, 20 * time.Second, 29 * time.Second} {
		clock.Set(exp.Add(after))
		if r := send(a); r.status != http.StatusUnauthorized || !strings.Contains(r.raw, "already used") {
			t.Errorf("replay at exp+%s: %d %s, want 401 already used", after, r.status, r.raw)
		}
	}
	clock.Set(start)
	if r := send(sign("", exp)); r.status != http.StatusUnauthorized || !strings.Contains(r.raw, "empty jti") {
		t.Errorf("empty jti: %d %s, want 401 naming the empty jti", r.status, r.raw)
	}
}
