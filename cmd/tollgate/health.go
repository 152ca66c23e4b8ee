package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/tollgate-rpc/tollgate/internal/app/transport"
	"github.com/tollgate-rpc/tollgate/internal/devtls"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// runHealth checks one endpoint, for container health checks: an http(s) URL
// must answer 200, a host:port must report SERVING through gRPC health.
func runHealth(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newFlags("health", stdout, stderr)
	timeout := f.Duration("timeout", 3*time.Second, "give up after this long")
	caFile := f.String("ca-file", "", "check over TLS, trusting this CA bundle (gRPC); for https URLs, trust it instead of the system roots")
	const healthUsage = "tollgate health [--timeout d] [--ca-file ca.pem] <http(s)-url | host:port>"
	f.Usage = func() {
		fmt.Fprintln(f.Output(), "usage: "+healthUsage)
		f.PrintDefaults()
	}
	// Flags before the target, as Go's flag users expect; after it too, as
	// earlier releases took them.
	operands, err := f.parseOperands(args)
	switch {
	case err != nil:
		return err
	case len(operands) == 0:
		return fmt.Errorf("%w: no URL or host:port to check (%s)", errUsage, healthUsage)
	case len(operands) > 1:
		return fmt.Errorf("%w: one URL or host:port to check, got %q (%s)", errUsage, operands, healthUsage)
	}
	target := operands[0]
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	tr := transport.Transport{Plaintext: *caFile == ""}
	if *caFile != "" {
		pool, err := devtls.LoadPool(*caFile)
		if err != nil {
			return fmt.Errorf("--ca-file: %w", err)
		}
		tr.RootCAs = pool
	}
	if strings.HasPrefix(target, "http://") || strings.HasPrefix(target, "https://") {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
		if err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		resp, err := tr.HTTPClient().Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s: %s", target, resp.Status)
		}
		_, err = fmt.Fprintln(stdout, "ok")
		return err
	}
	conn, err := grpc.NewClient(target, grpc.WithTransportCredentials(tr.DialCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		return fmt.Errorf("%s: %w%s", target, err, transportHint(err, *caFile != ""))
	}
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		return fmt.Errorf("%s: %s", target, resp.GetStatus())
	}
	_, err = fmt.Fprintln(stdout, "ok")
	return err
}

// transportHint explains the usual cause of a connection that fails before
// gRPC speaks: TLS on one side only.
func transportHint(err error, tls bool) string {
	if status.Code(err) != codes.Unavailable {
		return ""
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "http2: frame too large"):
		return " (an HTTP/1 server answered, such as an admin listener: check http://<host:port>/readyz instead)"
	case !tls && (strings.Contains(msg, "error reading server preface") || strings.Contains(msg, "connection reset")):
		return " (the server may serve TLS: give --ca-file)"
	case tls && (strings.Contains(msg, "first record does not look like a TLS handshake") || strings.Contains(msg, "tls:")):
		return " (the server may serve plaintext, or a certificate the CA does not vouch for: check --ca-file)"
	}
	return ""
}
