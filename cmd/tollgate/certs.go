package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/tollgate-rpc/tollgate/internal/devtls"
	"github.com/tollgate-rpc/tollgate/internal/securefile"
)

// runCerts creates (or reuses) a local CA and issues a server certificate
// for the given hosts: what docker-compose uses to run the suite with TLS on
// its own network. With --ca-dir and --out apart, the CA's key stays in
// --ca-dir and --out receives only what one service needs: its certificate,
// its key and the CA certificate.
func runCerts(_ context.Context, args []string, stdout, stderr io.Writer) error {
	f := newFlags("certs", stdout, stderr)
	dir := f.String("dir", "certs", "directory for the CA and the certificate, when --ca-dir and --out are not given")
	caDir := f.String("ca-dir", "", "directory of the CA (ca.pem, ca-key.pem); default --dir")
	out := f.String("out", "", "directory for server.pem, server-key.pem and a copy of ca.pem; default --dir")
	hosts := f.String("hosts", "localhost 127.0.0.1 ::1", "space-separated host names and IP addresses the certificate covers")
	caOnly := f.Bool("ca-only", false, "copy only ca.pem to --out, for a caller that trusts the CA and serves nothing")
	if err := f.parse(args); err != nil {
		return err
	}
	names := strings.Fields(*hosts)
	if len(names) == 0 {
		return fmt.Errorf("%w: --hosts is empty", errUsage)
	}
	if *caDir == "" {
		*caDir = *dir
	}
	if *out == "" {
		*out = *dir
	}
	ca, err := devtls.LoadOrCreate(*caDir)
	if err != nil {
		return err
	}
	if filepath.Clean(*out) != filepath.Clean(*caDir) {
		certPEM, err := os.ReadFile(ca.CertFile)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(*out, 0o755); err != nil {
			return err
		}
		if err := securefile.CheckDir(*out); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(*out, devtls.CAFile), certPEM, 0o644); err != nil {
			return err
		}
	}
	if *caOnly {
		_, err := fmt.Fprintf(stdout, "CA certificate copied to %s\n", *out)
		return err
	}
	cert, key := filepath.Join(*out, "server.pem"), filepath.Join(*out, "server-key.pem")
	if err := ca.WriteServerCert(cert, key, names...); err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "CA %s\nserver certificate %s (key %s) for %s\n", ca.CertFile, cert, key, strings.Join(names, ", "))
	return err
}
