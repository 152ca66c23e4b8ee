package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/tollgate-rpc/tollgate/internal/devtls"
)

// runCerts creates (or reuses) a local CA in a directory and issues one
// server certificate for the given hosts: what docker-compose uses to run
// the suite with TLS on its own network.
func runCerts(_ context.Context, args []string, stdout, stderr io.Writer) error {
	f := newFlags("certs", stdout, stderr)
	dir := f.String("dir", "certs", "directory for ca.pem, ca-key.pem, server.pem and server-key.pem")
	hosts := f.String("hosts", "localhost 127.0.0.1 ::1", "space-separated host names and IP addresses the certificate covers")
	if err := f.parse(args); err != nil {
		return err
	}
	names := strings.Fields(*hosts)
	if len(names) == 0 {
		return fmt.Errorf("%w: --hosts is empty", errUsage)
	}
	ca, err := devtls.LoadOrCreate(*dir)
	if err != nil {
		return err
	}
	cert, key := filepath.Join(*dir, "server.pem"), filepath.Join(*dir, "server-key.pem")
	if err := ca.WriteServerCert(cert, key, names...); err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "CA %s\nserver certificate %s (key %s) for %s\n", ca.CertFile, cert, key, strings.Join(names, ", "))
	return err
}
