package issuer

import (
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-rpc/tollgate/interceptors/verify"
	"github.com/tollgate-rpc/tollgate/internal/jwtest"
)

func (ts *testServer) token(t *testing.T, id string) string {
	t.Helper()
	r := ts.post(t, form("grant_type", "client_credentials"), basicAuth(id, ts.secrets[id]))
	if r.status != http.StatusOK {
		t.Fatalf("token for %s: %d %s", id, r.status, r.raw)
	}
	return r.body["access_token"].(string)
}

func kidOf(t *testing.T, token string) string {
	t.Helper()
	seg, _, _ := strings.Cut(token, ".")
	var h struct{ Kid string }
	if err := decodeSegment(seg, &h); err != nil {
		t.Fatal(err)
	}
	return h.Kid
}

func TestKeyRotationAcrossRestart(t *testing.T) {
	clock := time.Now()
	now := func() time.Time { return clock }
	ts := newTestServer(t, func(c *Config) { c.Now = now })
	ts.addClient(t, basicClient("svc"))
	before := ts.token(t, "svc")
	oldKid := kidOf(t, before)

	newKid, err := ts.RotateKeys()
	if err != nil {
		t.Fatal(err)
	}
	// Published at once, but not signing until the publish-ahead has passed.
	if !strings.Contains(string(ts.Keys().JWKS()), newKid) {
		t.Fatal("new key not in the JWKS")
	}
	if kid := kidOf(t, ts.token(t, "svc")); kid != oldKid {
		t.Errorf("signed with %s right after rotation, want the old key until publish-ahead passes", kid)
	}

	// Restart midway: a new Server on the same data directory.
	restarted, err := New(Config{Issuer: ts.URL, DataDir: ts.dataDir, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	ts.Server = restarted
	clock = clock.Add(Config{JWKSMaxAge: DefaultJWKSMaxAge}.PublishAhead() + time.Second)
	after, err := restarted.sign(mustClient(t, restarted, "svc"), nil, []string{"inventory"}, clock, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if kidOf(t, after) != newKid {
		t.Errorf("after publish-ahead the new key should sign; got %s", kidOf(t, after))
	}
	v := verifierFor(t, restarted)
	if _, err := v.verifier.Verify(context.Background(), before); err != nil {
		t.Errorf("token signed before rotation and restart: %v", err)
	}
	v.Close()

	// Once every token of the retired key has expired, it leaves the JWKS.
	clock = clock.Add(KeyRetention + time.Minute)
	if err := restarted.keys.Prune(t.Context(), clock, KeyRetention); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(restarted.Keys().JWKS()), oldKid) {
		t.Error("retired-and-expired key still published")
	}
	v2 := verifierFor(t, restarted)
	defer v2.Close()
	if _, err := v2.verifier.Verify(context.Background(), before); verify.ReasonOf(err) != verify.ReasonUnknownKey {
		t.Errorf("token of a dropped key: %v, want %s", err, verify.ReasonUnknownKey)
	}
}

type servedVerifier struct {
	verifier *verify.Verifier
	close    func()
}

func (s servedVerifier) Close() { s.close() }

// verifierFor serves srv's JWKS on its own test listener and returns a
// verifier trusting it (clock-free, so it checks keys, not lifetimes).
func verifierFor(t *testing.T, srv *Server) servedVerifier {
	t.Helper()
	v, err := verify.New([]verify.Issuer{{Issuer: srv.cfg.Issuer, JWKSURL: jwksServer(t, srv), Audiences: []string{"inventory"}}},
		verify.WithClock(srv.now)) // the issuer's clock, which the test moves
	if err != nil {
		t.Fatal(err)
	}
	return servedVerifier{verifier: v, close: v.Close}
}

func mustClient(t testing.TB, s *Server, id string) *Client {
	t.Helper()
	c, ok := s.Clients().Lookup(id)
	if !ok {
		t.Fatalf("no client %s", id)
	}
	return c
}

// A rotated secret stays valid for its grace and not a moment longer; a
// leaked one is revoked at once.
func TestRotatedSecretGrace(t *testing.T) {
	start := time.Now().Truncate(time.Second)
	clock := jwtest.NewClock(start)
	ts := newTestServer(t, func(c *Config) { c.Now = clock.Now })
	first := ts.addClient(t, basicClient("svc"))
	rotate := func(grace time.Duration) string {
		t.Helper()
		secret, _ := NewSecret()
		if err := ts.Clients().Update(t.Context(), func(m map[string]*Client) error {
			return m["svc"].RotateSecret(secret, clock.Now(), grace)
		}); err != nil {
			t.Fatal(err)
		}
		return secret
	}
	expect := func(when string, want map[string]string) {
		t.Helper()
		for secret, name := range want {
			r := ts.post(t, form("grant_type", "client_credentials"), basicAuth("svc", secret))
			if got := r.status == http.StatusOK; got != strings.HasPrefix(name, "valid") {
				t.Errorf("%s: %s secret answered %d", when, name, r.status)
			}
		}
	}
	second := rotate(DefaultSecretGrace)
	expect("just after rotation", map[string]string{first: "valid previous", second: "valid current"})
	clock.Add(DefaultSecretGrace - time.Second)
	expect("a second before the grace ends", map[string]string{first: "valid previous", second: "valid current"})
	clock.Add(time.Second)
	expect("when the grace ends", map[string]string{first: "expired previous", second: "valid current"})

	third := rotate(time.Hour)
	expect("after a second rotation", map[string]string{first: "expired first", second: "valid previous", third: "valid current"})
	if err := ts.Clients().Update(t.Context(), func(m map[string]*Client) error {
		m["svc"].RevokePreviousSecret()
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	expect("after revoke-previous", map[string]string{second: "revoked previous", third: "valid current"})
	fourth := rotate(0)
	expect("after a rotation without grace", map[string]string{third: "revoked previous", fourth: "valid current"})

	if err := ts.Clients().Update(t.Context(), func(m map[string]*Client) error {
		return m["svc"].RotateSecret("x", clock.Now(), MaxSecretGrace+time.Second)
	}); err == nil {
		t.Error("a grace beyond the maximum was accepted")
	}
	if err := ts.Clients().Update(t.Context(), func(m map[string]*Client) error {
		m["svc"].SecretHashes = append(m["svc"].SecretHashes, HashSecret("a"), HashSecret("b"))
		return nil
	}); err == nil {
		t.Error("a third active secret was accepted")
	}
}

func TestRegistryReloadWithoutRestart(t *testing.T) {
	ts := newTestServer(t)
	// Another process (the CLI) adds a client to the same directory, and
	// rotates the keys.
	other := OpenDir(ts.dataDir)
	defer other.Close()
	reg, err := NewRegistry(t.Context(), other)
	if err != nil {
		t.Fatal(err)
	}
	secret, _ := NewSecret()
	c := basicClient("late")
	c.SecretHashes = []string{HashSecret(secret)}
	c.Created = time.Now()
	if err := reg.Update(t.Context(), func(m map[string]*Client) error { m["late"] = &c; return nil }); err != nil {
		t.Fatal(err)
	}
	keys, err := OpenKeyStore(t.Context(), other, "ES256", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	kid, err := keys.Rotate(t.Context(), time.Now(), time.Minute, KeyRetention)
	if err != nil {
		t.Fatal(err)
	}
	if r := ts.post(t, form("grant_type", "client_credentials"), basicAuth("late", secret)); r.status != http.StatusUnauthorized {
		t.Fatalf("before the refresh, the new client got %d; the test shows nothing", r.status)
	}
	ts.Refresh(t.Context())
	if r := ts.post(t, form("grant_type", "client_credentials"), basicAuth("late", secret)); r.status != http.StatusOK {
		t.Errorf("client added by another process, after a refresh: %d %s", r.status, r.raw)
	}
	if !strings.Contains(string(ts.Keys().JWKS()), kid) {
		t.Errorf("key %s rotated in by another process is not served after a refresh", kid)
	}
	// A broken file is refused and the last good state kept.
	if err := os.WriteFile(filepath.Join(ts.dataDir, "clients.json"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	ts.Refresh(t.Context())
	if r := ts.post(t, form("grant_type", "client_credentials"), basicAuth("late", secret)); r.status != http.StatusOK {
		t.Errorf("after a broken registry file: %d %s, want the last good registry", r.status, r.raw)
	}
}

func TestFailedAuthenticationIsThrottled(t *testing.T) {
	ts := newTestServer(t)
	secret := ts.addClient(t, basicClient("victim"))
	otherSecret := ts.addClient(t, basicClient("bystander"))
	var throttled int
	for range 100 {
		r := ts.post(t, form("grant_type", "client_credentials"), basicAuth("victim", "guess"))
		switch {
		case r.status == http.StatusTooManyRequests && r.body["error"] == "slow_down":
			throttled++
			if r.header.Get("Retry-After") == "" {
				t.Fatal("429 without Retry-After")
			}
		case r.status != http.StatusUnauthorized:
			t.Fatalf("guess answered %d %s", r.status, r.raw)
		}
	}
	if throttled < 80 {
		t.Errorf("%d of 100 guesses throttled, want the budget (10) to run out", throttled)
	}
	// Another client on the attacking host keeps getting tokens.
	if r := ts.post(t, form("grant_type", "client_credentials"), basicAuth("bystander", otherSecret)); r.status != http.StatusOK {
		t.Errorf("bystander during the attack: %d %s", r.status, r.raw)
	}
	// The attacked client, from its own address, keeps getting tokens: the
	// attacker cannot lock it out.
	fromElsewhere := &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{
		LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}).DialContext}}
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/oauth/token", strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("victim", secret)
	resp, err := fromElsewhere.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("victim from its own address during the attack: %s", resp.Status)
	}
	// Behind a proxy or on one host every client shares the attacker's
	// address: the real client there still gets its token, because
	// credentials are checked before any budget.
	if r := ts.post(t, form("grant_type", "client_credentials"), basicAuth("victim", secret)); r.status != http.StatusOK {
		t.Errorf("victim with its secret from the attacking address: %d %s, want 200", r.status, r.raw)
	}
	// …and its success gave nothing back to the attacker.
	if r := ts.post(t, form("grant_type", "client_credentials"), basicAuth("victim", "guess")); r.status != http.StatusTooManyRequests {
		t.Errorf("guess after the victim's success: %d, want 429", r.status)
	}
}
