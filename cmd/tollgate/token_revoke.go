package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/tollgate-rpc/tollgate/services/issuer"
)

const tokenRevokeUsage = `usage: tollgate token revoke (--jti ID [--client ID] | --client ID [--issued-before TIME]) [store flags]

Revokes one token (its jti), or every token a client was issued before a
time (default: now), in the issuer's store. Services subscribed to the
issuer's revocation feed refuse them within about a second; the record is
dropped once every token it covers has expired.`

// runTokenRevoke is `tollgate token revoke`.
func runTokenRevoke(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newFlags("token revoke", stdout, stderr)
	f.Usage = func() { fmt.Fprintln(f.Output(), tokenRevokeUsage); f.PrintDefaults() }
	openStore := f.storeFlags("issuer data directory", false)
	jti := f.String("jti", "", "the jti of the token to revoke")
	client := f.String("client", "", "the client whose tokens to revoke (with --jti: the token's client, recorded for the audit)")
	var before time.Time
	f.Func("issued-before", "with --client and no --jti: revoke the tokens issued before this RFC 3339 time, not after now (default: now)", func(v string) error {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return fmt.Errorf("want an RFC 3339 time such as 2026-12-06T10:00:00Z: %w", err)
		}
		before = t
		return nil
	})
	if err := f.parse(args); err != nil {
		return err
	}
	now := time.Now()
	var r issuer.Revocation
	switch {
	case *jti == "" && *client == "":
		return fmt.Errorf("%w: give --jti or --client", errUsage)
	case *jti != "" && !before.IsZero():
		return fmt.Errorf("%w: --issued-before goes with --client, not --jti", errUsage)
	case before.After(now):
		return fmt.Errorf("%w: --issued-before %s is in the future; a revocation covers tokens already issued", errUsage, before.Format(time.RFC3339))
	case *jti != "":
		r = issuer.TokenRevocation(*client, *jti, now.Add(issuer.RevocationRetention))
	case before.IsZero():
		r = issuer.ClientRevocation(*client, now)
	default:
		r = issuer.ClientRevocation(*client, before)
		r.IssuedBefore = before.Unix()
	}
	store, err := openStore(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	if err := store.Revoke(ctx, []issuer.Revocation{r}, now); err != nil {
		return err
	}
	if r.JTI != "" {
		fmt.Fprintf(stdout, "revoked token %s\n", r.JTI)
	} else {
		fmt.Fprintf(stdout, "revoked the tokens of client %s issued before %s\n", r.ClientID, time.Unix(r.IssuedBefore, 0).UTC().Format(time.RFC3339))
	}
	return nil
}
