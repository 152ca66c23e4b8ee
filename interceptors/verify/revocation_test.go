package verify

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/tollgate-rpc/tollgate/internal/jwtest"
)

// A verifier follows its issuer's revocation feed: a token revoked by its
// jti, and a client's tokens issued before a revocation, are refused
// (ReasonRevoked) on the cached path too, while other tokens and the
// client's later tokens pass; each answer of the feed is asked for with the
// cursor of the one before.
func TestRevokedTokensAreRefused(t *testing.T) {
	ti := jwtest.NewIssuer(t)
	kid := ti.AddKey(jwa.ES256)
	answers := make(chan string)
	cursors := make(chan string, 8)
	feed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cursors <- r.URL.Query().Get("after")
		select {
		case body := <-answers:
			_, _ = w.Write([]byte(body))
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(feed.Close)
	v, err := New([]Issuer{{Issuer: ti.ID(), JWKSURL: ti.URL + "/jwks", Audiences: []string{"inv"}, RevocationFeedURL: feed.URL}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	ctx := t.Context()
	now := time.Now()
	a := ti.Sign(kid, nil, ti.Claims("inv", map[string]any{"jti": "a"}))
	b := ti.Sign(kid, nil, ti.Claims("inv", map[string]any{"jti": "b", "client_id": "other", "sub": "other"}))
	later := ti.Sign(kid, nil, ti.Claims("inv", map[string]any{"jti": "c", "client_id": "other", "sub": "other", "iat": now.Unix() + 1}))
	answer := func(body string) {
		t.Helper()
		changed := v.RevocationsChanged()
		answers <- body
		<-changed
	}
	refused := func(token string) bool {
		t.Helper()
		_, err := v.Verify(ctx, token)
		var e *Error
		if err != nil && (!errors.As(err, &e) || e.Reason != ReasonRevoked) {
			t.Fatalf("refused for another reason: %v", err)
		}
		return err != nil
	}

	if got := <-cursors; got != "0" {
		t.Errorf("first request after=%s, want 0", got)
	}
	answer(`{"cursor":0,"revocations":[]}`)
	if refused(a) || refused(b) || refused(later) {
		t.Fatal("refused before anything was revoked")
	}
	if got := <-cursors; got != "0" {
		t.Errorf("second request after=%s, want 0", got)
	}
	until := now.Add(time.Hour).Unix()
	answer(fmt.Sprintf(`{"cursor":7,"revocations":[{"seq":7,"jti":"a","until":%d}]}`, until))
	if !refused(a) || refused(b) {
		t.Error("after revoking jti a: want a refused, b accepted")
	}
	if _, ok := v.Cached(a); ok {
		t.Error("Cached returned a revoked token's claims")
	}
	if got := <-cursors; got != "7" {
		t.Errorf("request after an answer with cursor 7: after=%s", got)
	}
	answer(fmt.Sprintf(`{"cursor":8,"revocations":[{"seq":8,"client_id":"other","issued_before":%d,"until":%d}]}`, now.Unix()+1, until))
	if !refused(b) || refused(later) {
		t.Error("after revoking client other's tokens: want b (issued before) refused, c (issued at the bound) accepted")
	}
}

// A set drops what expired, keeps the newest bound per client, and covers
// nothing when empty.
func TestRevokedSet(t *testing.T) {
	var none *revokedSet
	c := &Claims{TokenID: "j", ClientID: "svc", IssuedAt: time.Unix(100, 0)}
	if none.covers(c) {
		t.Error("an empty set covers a token")
	}
	s := none.with([]feedRevocation{{JTI: "j", Until: 50}, {ClientID: "svc", IssuedBefore: 90, Until: 200}, {ClientID: "svc", IssuedBefore: 101, Until: 150}}, 60)
	if _, ok := s.jtis["j"]; ok {
		t.Error("a jti past its until was kept")
	}
	if !s.covers(c) || s.clients["svc"] != 101 {
		t.Errorf("client bound %d, covers %v; want 101 and true", s.clients["svc"], s.covers(c))
	}
	if s.with(nil, 201).covers(c) {
		t.Error("a client revocation past its until still covers")
	}
}
