package issuer

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// postTo sends a form to one of the issuer's endpoints as client id.
func (ts *testServer) postTo(t *testing.T, path, id string, form url.Values) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, ts.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(id, ts.secrets[id])
	return do(t, req)
}

func (ts *testServer) tokenFor(t *testing.T, id string) string {
	t.Helper()
	r := ts.post(t, form("grant_type", "client_credentials"), basicAuth(id, ts.secrets[id]))
	if r.status != http.StatusOK {
		t.Fatalf("token for %s: %d %s", id, r.status, r.raw)
	}
	return r.body["access_token"].(string)
}

// RFC 7009 and RFC 7662 together: a client revokes its own token, which
// introspection then calls inactive and the feed carries; another client
// cannot revoke it; unknown tokens are answered 200 and change nothing;
// only clients the registry allows may introspect.
func TestRevokeAndIntrospect(t *testing.T) {
	ts := newTestServer(t)
	ts.addClient(t, basicClient("svc"))
	ts.addClient(t, basicClient("other"))
	rs := basicClient("rs")
	rs.Introspect = true
	ts.addClient(t, rs)
	token, kept := ts.tokenFor(t, "svc"), ts.tokenFor(t, "svc")

	introspect := func(tok string) map[string]any {
		t.Helper()
		r := ts.postTo(t, "/oauth/introspect", "rs", url.Values{"token": {tok}})
		if r.status != http.StatusOK {
			t.Fatalf("introspect: %d %s", r.status, r.raw)
		}
		return r.body
	}
	if got := introspect(token); got["active"] != true || got["client_id"] != "svc" || got["iss"] != ts.URL || got["token_type"] != "Bearer" {
		t.Errorf("an active token: %v", got)
	}
	if r := ts.postTo(t, "/oauth/introspect", "other", url.Values{"token": {token}}); r.status != http.StatusForbidden || r.body["error"] != "unauthorized_client" {
		t.Errorf("introspection by a client not allowed to: %d %s", r.status, r.raw)
	}
	if r := ts.postTo(t, "/oauth/revoke", "other", url.Values{"token": {token}}); r.status != http.StatusBadRequest || r.body["error"] != "unauthorized_client" {
		t.Errorf("revoking another client's token: %d %s", r.status, r.raw)
	}
	for _, bogus := range []string{"not-a-token", kept[:len(kept)-4] + "AAAA"} {
		if r := ts.postTo(t, "/oauth/revoke", "svc", url.Values{"token": {bogus}}); r.status != http.StatusOK {
			t.Errorf("revoking an unknown token: %d %s, want 200", r.status, r.raw)
		}
		if got := introspect(bogus); len(got) != 1 || got["active"] != false {
			t.Errorf("introspecting an unknown token: %v, want only active false", got)
		}
	}
	if _, got, _ := ts.store.Revocations(t.Context(), 0, time.Now()); len(got) != 0 {
		t.Fatalf("unknown tokens stored revocations: %+v", got)
	}

	if r := ts.postTo(t, "/oauth/revoke", "svc", url.Values{"token": {token}, "token_type_hint": {"access_token"}}); r.status != http.StatusOK {
		t.Fatalf("revoking its own token: %d %s", r.status, r.raw)
	}
	if got := introspect(token); got["active"] != false {
		t.Errorf("a revoked token: %v", got)
	}
	if got := introspect(kept); got["active"] != true {
		t.Errorf("the client's other token: %v, want still active", got)
	}
	feed, _ := getFeed(t, ts.URL, 0, "0s")
	if len(feed.Revocations) != 1 || feed.Revocations[0].ClientID != "svc" || feed.Revocations[0].JTI == "" {
		t.Errorf("the feed after a revocation: %+v", feed)
	}

	for _, tc := range []struct {
		path, id string
		form     url.Values
		status   int
		code     string
	}{
		{"/oauth/revoke", "svc", url.Values{}, http.StatusBadRequest, "invalid_request"},
		{"/oauth/introspect", "rs", url.Values{}, http.StatusBadRequest, "invalid_request"},
		{"/oauth/revoke", "nobody", url.Values{"token": {kept}}, http.StatusUnauthorized, "invalid_client"},
		{"/oauth/introspect", "nobody", url.Values{"token": {kept}}, http.StatusUnauthorized, "invalid_client"},
	} {
		if r := ts.postTo(t, tc.path, tc.id, tc.form); r.status != tc.status || r.body["error"] != tc.code {
			t.Errorf("%s as %s with %v: %d %s, want %d %s", tc.path, tc.id, tc.form, r.status, r.raw, tc.status, tc.code)
		}
	}
	if r := do(t, mustGet(t, ts.URL+"/oauth/revoke")); r.status != http.StatusMethodNotAllowed {
		t.Errorf("GET /oauth/revoke: %d", r.status)
	}
}

func mustGet(t *testing.T, u string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// A disabled client's tokens are inactive at introspection even before any
// revocation is read.
func TestIntrospectDisabledClient(t *testing.T) {
	ts := newTestServer(t)
	ts.addClient(t, basicClient("svc"))
	rs := basicClient("rs")
	rs.Introspect = true
	ts.addClient(t, rs)
	token := ts.tokenFor(t, "svc")
	if err := ts.Clients().Update(t.Context(), func(m map[string]*Client) error { m["svc"].Disabled = true; return nil }); err != nil {
		t.Fatal(err)
	}
	if r := ts.postTo(t, "/oauth/introspect", "rs", url.Values{"token": {token}}); r.body["active"] != false {
		t.Errorf("a disabled client's token: %s", r.raw)
	}
}
