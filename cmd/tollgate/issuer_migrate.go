package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/tollgate-rpc/tollgate/services/issuer"
)

// runIssuerMigrate copies an embedded store (a data directory) into
// PostgreSQL: every client and signing key. Replay records are not copied:
// they expire within minutes, so stop the old issuer, migrate, start the new.
func runIssuerMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newFlags("issuer migrate", stdout, stderr)
	from := f.String("from-data-dir", "", "data directory to copy from (required)")
	open := f.storeFlags("unused: the destination is --database-url", true)
	if err := f.parse(args); err != nil {
		return err
	}
	if *from == "" || !(f.given("database-url") || f.given("database-url-file")) {
		return fmt.Errorf("%w: tollgate issuer migrate --from-data-dir DIR --database-url postgres://… --key-encryption-key-file F (or TOLLGATE_KEY_ENCRYPTION_KEY)", errUsage)
	}
	src := issuer.OpenDir(*from)
	defer src.Close()
	// The source first: nothing is created in the database for a
	// directory that holds no issuer.
	if keys, err := src.Keys(ctx); err != nil {
		return fmt.Errorf("--from-data-dir %s: %w", *from, err)
	} else if len(keys) == 0 {
		return fmt.Errorf("--from-data-dir %s holds no signing keys (keys.json): not an issuer's data directory, nothing migrated", *from)
	}
	dst, err := open(ctx)
	if err != nil {
		return err
	}
	defer dst.Close()
	clients, keys, revoked, err := issuer.Copy(ctx, src, dst, time.Now())
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "copied %d clients, %d signing keys and %d revocations\n", clients, keys, revoked)
	return err
}
