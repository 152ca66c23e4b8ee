package main

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-rpc/tollgate/services/issuer"
)

// What the commands revoke, read back from the store: disable and
// revoke-previous revoke the client's tokens, enable nothing; token revoke
// one jti, or a client's tokens before a time.
func TestCommandsStoreRevocations(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "issuer")
	must := func(args ...string) string {
		t.Helper()
		stdout, stderr, code := runIn(t, append(args, "--data-dir", dir)...)
		if code != 0 {
			t.Fatalf("tollgate %s: exit %d: %s", strings.Join(args, " "), code, stderr)
		}
		return stdout
	}
	must("client", "add", "--id", "svc", "--audiences", "inventory", "--secret-file", filepath.Join(t.TempDir(), "s"))
	must("client", "add", "--id", "rs", "--audiences", "inventory", "--secret-file", filepath.Join(t.TempDir(), "s"), "--introspect")
	if out := must("client", "show", "--id", "rs"); !strings.Contains(out, `"introspect": true`) {
		t.Errorf("client add --introspect: %s", out)
	}
	if out := must("client", "show", "--id", "svc"); strings.Contains(out, "introspect") {
		t.Errorf("a client added without --introspect may introspect: %s", out)
	}
	read := func() []issuer.Revocation {
		t.Helper()
		store := issuer.OpenDir(dir)
		defer store.Close()
		_, rs, err := store.Revocations(context.Background(), 0, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return rs
	}
	if rs := read(); len(rs) != 0 {
		t.Fatalf("after add: %+v", rs)
	}
	before := time.Now().Unix()
	must("client", "disable", "--id", "svc")
	must("client", "enable", "--id", "svc")
	rs := read()
	if len(rs) != 1 || rs[0].ClientID != "svc" || rs[0].JTI != "" || rs[0].IssuedBefore <= before {
		t.Fatalf("after disable and enable: %+v, want one revocation of svc's tokens issued until now", rs)
	}
	must("client", "revoke-previous", "--id", "svc")
	if out := must("token", "revoke", "--jti", "leaked-1"); !strings.Contains(out, "revoked token leaked-1") {
		t.Errorf("token revoke --jti said %q", out)
	}
	minuteAgo := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	must("token", "revoke", "--client", "svc", "--issued-before", minuteAgo.Format(time.RFC3339))
	// Issued before a time past every token's lifetime: covers nothing, so
	// it is not in force.
	must("token", "revoke", "--client", "svc", "--issued-before", "2020-01-01T00:00:00Z")
	rs = read()
	if len(rs) != 4 || rs[2].JTI != "leaked-1" || rs[2].Until <= time.Now().Unix() ||
		rs[3].ClientID != "svc" || rs[3].IssuedBefore != minuteAgo.Unix() {
		t.Errorf("after revoke-previous and two token revokes: %+v", rs)
	}
	if !slices.IsSortedFunc(rs, func(a, b issuer.Revocation) int { return int(a.Seq - b.Seq) }) {
		t.Errorf("out of Seq order: %+v", rs)
	}
}
