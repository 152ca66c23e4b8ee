package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/tollgate-rpc/tollgate/services/issuer"
)

// runIssuerKeys handles `tollgate issuer keys rotate`: it rolls a new key
// into the key file; a running issuer picks it up within seconds.
func runIssuerKeys(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const keysUsage = "usage: tollgate issuer keys rotate [--data-dir d | --database-url u] [--algorithm a] [--jwks-max-age d]"
	if len(args) > 0 && (helpAsked(args[:1]) || args[0] == "help") {
		_, err := fmt.Fprintln(stdout, keysUsage)
		return err
	}
	if len(args) == 0 || args[0] != "rotate" {
		return fmt.Errorf("%w: %s", errUsage, keysUsage)
	}
	f := newFlags("issuer keys rotate", stdout, stderr)
	openStore := f.storeFlags("issuer data directory", true)
	alg := f.String("algorithm", "ES256", "algorithm of the new key")
	maxAge := f.Duration("jwks-max-age", issuer.DefaultJWKSMaxAge, "the issuer's JWKS max-age; the key signs after twice this")
	if err := f.parse(args[1:]); err != nil {
		return err
	}
	now := time.Now()
	store, err := openStore(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	ks, err := issuer.OpenKeyStore(ctx, store, jwa.SignatureAlgorithm(*alg), now)
	if err != nil {
		return err
	}
	ahead := issuer.Config{JWKSMaxAge: *maxAge}.PublishAhead()
	kid, err := ks.Rotate(ctx, now, ahead, issuer.KeyRetention)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "new key %s published; it signs from %s\n", kid, now.Add(ahead).UTC().Format(time.RFC3339))
	return err
}
