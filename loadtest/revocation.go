package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	inventoryv1 "github.com/tollgate-rpc/tollgate/gen/go/tollgate/inventory/v1"
	"github.com/tollgate-rpc/tollgate/interceptors/callcreds"
	"github.com/tollgate-rpc/tollgate/internal/app/devsuite"
	"github.com/tollgate-rpc/tollgate/services/inventory"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
)

// revocationRun is what measureRevocation found.
type revocationRun struct {
	Took           []time.Duration // revoke answered → first refusal, sorted
	Calls, Failed  int64           // the load's calls with a live token, and how many failed
	LoadConcurrent int
	Elapsed        time.Duration
}

// measureRevocation runs `serve --mode auth` under GetItem load from
// callers whose token is never revoked, while the reader's tokens are
// revoked one at a time (RFC 7009 at the issuer): how long from the
// revoke's answer until inventory refuses the token, as a distribution.
func measureRevocation(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("revocation", flag.ContinueOnError)
	rounds := fs.Int("rounds", 50, "tokens revoked, one after another")
	workers := fs.Int("load", 8, "callers keeping inventory busy with a live token meanwhile")
	out := fs.String("out", "runs/latest", "directory for revocation.md")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *rounds < 1 || *workers < 0 {
		return fmt.Errorf("--rounds must be at least 1 and --load not negative")
	}
	p, err := startServe(ctx, "--mode", "auth")
	if err != nil {
		return err
	}
	defer p.stop()
	run, err := revocationRounds(ctx, p.info.Dev, p.info.Inventory, *rounds, *workers)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	report := revocationReport(run)
	fmt.Print(string(report))
	return os.WriteFile(filepath.Join(*out, "revocation.md"), report, 0o644)
}

func revocationRounds(ctx context.Context, dev *devsuite.Info, invAddr string, rounds, workers int) (*revocationRun, error) {
	reader, ok := dev.Client(devsuite.ReaderClient)
	if !ok {
		return nil, fmt.Errorf("no reader client")
	}
	conn, err := grpc.NewClient(invAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	inv := inventoryv1.NewInventoryServiceClient(conn)
	call := func(token string) error {
		ctx := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
		_, err := inv.GetItem(ctx, &inventoryv1.GetItemRequest{Sku: "widget-1"})
		return err
	}
	src, err := tokenSource(dev, inventory.Audience)
	if err != nil {
		return nil, err
	}
	live, err := src.Token(ctx)
	if err != nil {
		return nil, err
	}
	run := &revocationRun{LoadConcurrent: workers}
	var calls, failed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				calls.Add(1)
				if call(live.Value) != nil {
					failed.Add(1)
				}
			}
		})
	}
	start := time.Now()
	defer func() {
		close(stop)
		wg.Wait()
		run.Calls, run.Failed, run.Elapsed = calls.Load(), failed.Load(), time.Since(start)
	}()
	post := func(path string, form url.Values) (map[string]any, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, dev.Issuer+path, strings.NewReader(form.Encode()))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(reader.ClientID, reader.ClientSecret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("%s: %s %v", path, resp.Status, body)
		}
		return body, nil
	}
	for range rounds {
		tok, err := post("/oauth/token", url.Values{"grant_type": {"client_credentials"}, "audience": {inventory.Audience}})
		if err != nil {
			return nil, err
		}
		token, _ := tok["access_token"].(string)
		if err := call(token); err != nil {
			return nil, fmt.Errorf("a fresh token, before its revocation: %w", err)
		}
		if _, err := post("/oauth/revoke", url.Values{"token": {token}}); err != nil {
			return nil, err
		}
		answered := time.Now()
		for deadline := answered.Add(10 * time.Second); ; {
			err := call(token)
			if callcreds.TokenRevoked(err) {
				break
			}
			if time.Now().After(deadline) {
				return nil, fmt.Errorf("a revoked token still accepted after 10 s (last answer: %v)", err)
			}
		}
		run.Took = append(run.Took, time.Since(answered))
	}
	slices.Sort(run.Took)
	return run, nil
}

// quantile is the q-quantile of sorted (nearest rank).
func quantile(sorted []time.Duration, q float64) time.Duration {
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func revocationReport(r *revocationRun) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "# Revocation latency\n\n`go run -C loadtest . revocation`: `serve --mode auth` (tollgate dev in one process, embedded store), "+
		"%d callers calling GetItem with a live token throughout; the reader's tokens revoked one at a time at `/oauth/revoke`, "+
		"each timed from the revoke's answer to inventory's first `TOKEN_REVOKED`. CPU: %s.\n\n", r.LoadConcurrent, cpuModel())
	fmt.Fprintf(&b, "| revocations | min | p50 | p90 | p99 | max | load calls/s | load calls failed |\n|---|---|---|---|---|---|---|---|\n")
	fmt.Fprintf(&b, "| %d | %s | %s | %s | %s | %s | %.0f | %d |\n", len(r.Took), ms(r.Took[0]), ms(quantile(r.Took, .5)), ms(quantile(r.Took, .9)),
		ms(quantile(r.Took, .99)), ms(r.Took[len(r.Took)-1]), float64(r.Calls)/r.Elapsed.Seconds(), r.Failed)
	return []byte(b.String())
}
