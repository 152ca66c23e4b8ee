package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/bojand/ghz/printer"
	"github.com/bojand/ghz/runner"
	"github.com/tollgate-rpc/tollgate/interceptors/callcreds"
	"github.com/tollgate-rpc/tollgate/internal/app/devsuite"
	"google.golang.org/grpc/metadata"
)

// scenario is a ghz config file (the same file works with `ghz --config`
// from the repository root, which its paths are relative to).
type scenario struct {
	file        string
	Name        string         `json:"name"`
	Proto       string         `json:"proto"`
	ImportPaths []string       `json:"import-paths"`
	Call        string         `json:"call"`
	Data        map[string]any `json:"data"`
	Total       uint           `json:"total"`
	Concurrency uint           `json:"concurrency"`
	Connections uint           `json:"connections"`
}

func (s scenario) service() string {
	if strings.HasPrefix(s.Call, "tollgate.orders.") {
		return "orders"
	}
	return "inventory"
}

// result is one ghz run.
type result struct {
	Scenario string
	Variant  string // "auth", "observability" or "baseline"
	Round    int
	Report   *runner.Report
}

// proc is a serve process started by the harness.
type proc struct {
	cmd  *exec.Cmd
	info served
}

func startServe(ctx context.Context, args ...string) (*proc, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	argv := append([]string{exe, "serve"}, args...)
	if serverCPUs != "" {
		// Keep the servers off the load generator's CPUs, so that ghz and
		// the server under test do not steal cycles from each other.
		argv = append([]string{"taskset", "-c", serverCPUs}, argv...)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stderr = os.Stderr
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(out).ReadBytes('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		return nil, fmt.Errorf("serve %v: %w", args, err)
	}
	p := &proc{cmd: cmd}
	return p, json.Unmarshal(line, &p.info)
}

// serverCPUs, when set (--server-cpus), pins serve processes with taskset.
var serverCPUs string

// stop ends the process gracefully (so a CPU profile is written).
func (p *proc) stop() error {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	return p.cmd.Wait()
}

func (p *proc) addr(service string) string {
	if service == "orders" {
		return p.info.Orders
	}
	return p.info.Inventory
}

func runComparison(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	out := fs.String("out", "runs/latest", "directory for the report, plot, HTML reports and profile (runs/ is not tracked; give --out results to update the committed report)")
	rounds := fs.Int("rounds", 5, "rounds per scenario (each runs auth, observability, baseline in turn)")
	scale := fs.Float64("scale", 1, "multiply every scenario's request count (0.05 for a quick smoke run)")
	issuerSeconds := fs.Duration("issuer-duration", 5*time.Second, "length of each issuer load run")
	fs.StringVar(&serverCPUs, "server-cpus", "", "pin the server processes to these CPUs with taskset (run the harness itself under taskset on the others)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	scenarios, err := loadScenarios("scenarios")
	if err != nil {
		return err
	}
	auth, err := startServe(ctx, "--mode", "auth")
	if err != nil {
		return err
	}
	defer auth.stop()
	base, err := startServe(ctx, "--mode", "baseline")
	if err != nil {
		return err
	}
	defer base.stop()
	obs, err := startServe(ctx, "--mode", "observability")
	if err != nil {
		return err
	}
	defer obs.stop()
	var results []result
	for _, sc := range scenarios {
		authMD, err := bearer(ctx, auth.info.Dev, sc.service())
		if err != nil {
			return err
		}
		total := max(uint(float64(sc.Total)**scale), 50)
		// Warm up both servers (connections, caches, the verified token).
		for _, p := range []*proc{auth, obs, base} {
			if _, err := ghz(sc, p.addr(sc.service()), 200, authMD); err != nil {
				return fmt.Errorf("%s warm-up: %w", sc.Name, err)
			}
		}
		for round := 1; round <= *rounds; round++ {
			for _, v := range []struct {
				name string
				p    *proc
			}{{"auth", auth}, {"observability", obs}, {"baseline", base}} {
				var opts []runner.Option
				if v.name == "auth" {
					opts = append(opts, authMD)
				}
				rep, err := ghz(sc, v.p.addr(sc.service()), total, opts...)
				if err != nil {
					return fmt.Errorf("%s %s: %w", sc.Name, v.name, err)
				}
				results = append(results, result{Scenario: sc.Name, Variant: v.name, Round: round, Report: rep})
				if err := writeHTML(filepath.Join(*out, fmt.Sprintf("%s-%s-%d.html", strings.TrimSuffix(sc.file, ".json"), v.name, round)), rep); err != nil {
					return err
				}
				fmt.Fprintf(os.Stderr, "%-34s %-8s round %d: %8.0f rps, p99 %s\n", sc.Name, v.name, round, rep.Rps, percentile(rep, 99))
			}
		}
	}

	cli, err := ghzCLI(ctx, scenarios[0], auth, base, max(uint(float64(scenarios[0].Total)**scale), 50), *rounds)
	if err != nil {
		return err
	}
	prof, err := profileAuth(ctx, scenarios[0], *scale, *out)
	if err != nil {
		return err
	}
	issuerRuns, err := issuerLoad(ctx, *issuerSeconds, *rounds)
	if err != nil {
		return err
	}
	return writeReport(*out, results, cli, prof, issuerRuns)
}

func loadScenarios(dir string) ([]scenario, error) {
	var out []scenario
	for _, f := range []string{"getitem.json", "listitems.json", "placeorder.json"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			return nil, err
		}
		sc := scenario{file: f}
		if err := json.Unmarshal(b, &sc); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		// The harness runs in loadtest/, one level below the root.
		sc.Proto = filepath.Join("..", sc.Proto)
		for i, p := range sc.ImportPaths {
			sc.ImportPaths[i] = filepath.Join("..", p)
		}
		out = append(out, sc)
	}
	return out, nil
}

// tokenSource gets the admin dev client's tokens for one service (a token
// is valid at one service) with caller credentials, so runs longer than a
// token's lifetime keep working.
func tokenSource(dev *devsuite.Info, audience string) (*callcreds.Source, error) {
	admin, ok := dev.Client(devsuite.AdminClient)
	if !ok {
		return nil, fmt.Errorf("no admin client")
	}
	return callcreds.NewSource(callcreds.Config{TokenURL: dev.TokenEndpoint, ClientID: admin.ClientID,
		ClientSecret: admin.ClientSecret, Audience: audience})
}

// bearer is a ghz option sending the admin's current token for audience.
func bearer(ctx context.Context, dev *devsuite.Info, audience string) (runner.Option, error) {
	src, err := tokenSource(dev, audience)
	if err != nil {
		return nil, err
	}
	return runner.WithMetadataProvider(func(*runner.CallData) (*metadata.MD, error) {
		t, err := src.Token(ctx)
		if err != nil {
			return nil, err
		}
		md := metadata.Pairs("authorization", "Bearer "+t.Value)
		return &md, nil
	}), nil
}

func ghz(sc scenario, host string, total uint, opts ...runner.Option) (*runner.Report, error) {
	all := []runner.Option{
		runner.WithProtoFile(sc.Proto, sc.ImportPaths),
		runner.WithData(sc.Data),
		runner.WithTotalRequests(total),
		runner.WithConcurrency(sc.Concurrency),
		runner.WithConnections(sc.Connections),
		runner.WithInsecure(true),
		runner.WithName(sc.Name),
	}
	return runner.Run(sc.Call, host, append(all, opts...)...)
}

func writeHTML(path string, rep *runner.Report) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return (&printer.ReportPrinter{Out: f, Report: rep}).Print("html")
}

func percentile(rep *runner.Report, p int) time.Duration {
	for _, l := range rep.LatencyDistribution {
		if l.Percentage == p {
			return l.Latency
		}
	}
	return 0
}
