package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// runHealth checks one endpoint, for container health checks: an http(s) URL
// must answer 200, a host:port must report SERVING through gRPC health.
func runHealth(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newFlags("health", stderr)
	timeout := f.Duration("timeout", 3*time.Second, "give up after this long")
	if len(args) == 0 {
		return fmt.Errorf("%w: tollgate health <http-url | host:port> [--timeout d]", errUsage)
	}
	target := args[0]
	if err := f.parse(args[1:]); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	if strings.HasPrefix(target, "http://") || strings.HasPrefix(target, "https://") {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
		if err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		resp, err := http.DefaultClient.Do(req)
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
	conn, err := grpc.NewClient(target, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		return fmt.Errorf("%s: %w", target, err)
	}
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		return fmt.Errorf("%s: %s", target, resp.GetStatus())
	}
	_, err = fmt.Fprintln(stdout, "ok")
	return err
}
