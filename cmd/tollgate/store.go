package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/tollgate-rpc/tollgate/internal/securefile"
	"github.com/tollgate-rpc/tollgate/services/issuer"
)

// databaseFlags are --database-url, or --database-url-file (the URL kept
// out of the process list and the environment, read with the same trust
// rules as secret files), and --database-schema.
type databaseFlags struct {
	url, file, schema *string
}

func (f flags) databaseFlags(what string) databaseFlags {
	return databaseFlags{
		url:    f.String("database-url", "", "PostgreSQL URL (postgres://…) to keep "+what+" in, shared by replicas (default: the data directory); prefer --database-url-file, which keeps the password out of the process list"),
		file:   f.String("database-url-file", "", "file holding the PostgreSQL URL (instead of --database-url)"),
		schema: f.String("database-schema", "tollgate", "PostgreSQL schema of "+what+"'s tables"),
	}
}

// URL is the database URL, "" when none was given.
func (d databaseFlags) URL() (string, error) {
	if *d.file == "" {
		return *d.url, nil
	}
	if *d.url != "" {
		return "", fmt.Errorf("%w: --database-url and --database-url-file together; give one", errUsage)
	}
	b, err := securefile.Read(*d.file)
	if err != nil {
		return "", fmt.Errorf("--database-url-file: %w", err)
	}
	u := strings.TrimSpace(string(b))
	if u == "" {
		return "", fmt.Errorf("%w: --database-url-file %s is empty", errUsage, *d.file)
	}
	return u, nil
}

// storeFlags adds the flags that choose the issuer's store: the data
// directory (default), or PostgreSQL with --database-url; the returned
// function opens it. A command that uses signing keys requires the
// key-encryption key with --database-url; one that manages clients or
// revocations only (keys false) takes it when given and runs without.
func (f flags) storeFlags(dataDirUsage string, keys bool) func(ctx context.Context) (issuer.Store, error) {
	dataDir := f.String("data-dir", defaultDataDir, dataDirUsage)
	db := f.databaseFlags("the issuer's clients and keys")
	kekFile := f.String("key-encryption-key-file", "", "file of the secrets that encrypt signing keys in the database, first one used, one per line (or TOLLGATE_KEY_ENCRYPTION_KEY)")
	return func(ctx context.Context) (issuer.Store, error) {
		dbURL, err := db.URL()
		if err != nil {
			return nil, err
		}
		if dbURL == "" {
			if f.given("database-schema") || f.given("key-encryption-key-file") {
				return nil, fmt.Errorf("%w: --database-schema and --key-encryption-key-file go with --database-url", errUsage)
			}
			return issuer.OpenDir(*dataDir), nil
		}
		var kek issuer.KeyEncryptionKeys
		if keys || *kekFile != "" || os.Getenv("TOLLGATE_KEY_ENCRYPTION_KEY") != "" {
			if kek, err = keyEncryptionKeys(*kekFile); err != nil {
				return nil, err
			}
		}
		return issuer.OpenPG(ctx, dbURL, *db.schema, kek)
	}
}

// keyEncryptionKeys reads the key-encryption keys from file, or else from
// TOLLGATE_KEY_ENCRYPTION_KEY.
func keyEncryptionKeys(file string) (issuer.KeyEncryptionKeys, error) {
	text := os.Getenv("TOLLGATE_KEY_ENCRYPTION_KEY")
	if file != "" {
		b, err := securefile.Read(file)
		if err != nil {
			return nil, fmt.Errorf("--key-encryption-key-file: %w", err)
		}
		text = string(b)
	}
	if strings.TrimSpace(text) == "" {
		return nil, fmt.Errorf("%w: with --database-url, signing keys are encrypted: give --key-encryption-key-file (or TOLLGATE_KEY_ENCRYPTION_KEY)", errUsage)
	}
	kek, err := issuer.ParseKeyEncryptionKeys(text)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	return kek, nil
}
