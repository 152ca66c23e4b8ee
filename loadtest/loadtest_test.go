package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/tollgate-rpc/tollgate/internal/pgtest"
)

// TestMain lets the test binary play the serve processes that the harness
// starts (it re-executes itself with "serve").
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "main" { // the command itself, for TestHelp
		os.Args = os.Args[1:]
		main()
		os.Exit(0)
	}
	if len(os.Args) > 1 && os.Args[1] == "serve" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		if err := serve(ctx, os.Args[2:]); err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestSmokeRun runs the whole comparison at a tiny scale: every scenario in
// both variants, the profile and the issuer load, and checks that the report
// holds every part with only OK status codes.
func TestSmokeRun(t *testing.T) {
	out := t.TempDir()
	if err := runComparison(context.Background(), []string{"--scale", "0.01", "--rounds", "1",
		"--issuer-duration", (300 * time.Millisecond).String(), "--out", out}); err != nil {
		t.Fatal(err)
	}
	report, err := os.ReadFile(filepath.Join(out, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"GetItem (unary) | auth", "GetItem (unary) | observability", "ListItems (server stream) | baseline", "PlaceOrder (orders → inventory) | auth",
		"| tollgate | HTTPS | 32 |", "| bare | HTTP | 32 |", "median issuer/bare tokens/s", "Where auth spends CPU", "## The plain ghz CLI", "| auth | 1 |"} {
		if !strings.Contains(string(report), want) {
			t.Errorf("report lacks %q", want)
		}
	}
	for _, bad := range []string{"Unauthenticated", "PermissionDenied", "Unavailable"} {
		if strings.Contains(string(report), bad) {
			t.Errorf("report shows %s calls:\n%s", bad, report)
		}
	}
	for _, f := range []string{"latency.svg", "cpu-auth.pprof", "getitem-auth-1.html", "placeorder-baseline-1.html"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
}

// TestSmokeStores runs the store comparison briefly on the machine's
// PostgreSQL: both stores issue tokens with both grants without a failure,
// and the schemas the runs made are gone afterwards.
func TestSmokeStores(t *testing.T) {
	dbURL := pgtest.URL(t)
	schemas := func() int {
		conn, err := pgx.Connect(t.Context(), dbURL)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(t.Context())
		var n int
		if err := conn.QueryRow(t.Context(), "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'loadtest\\_%'").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := schemas()
	out := t.TempDir()
	if err := compareStores(t.Context(), []string{"--database-url", dbURL, "--rounds", "1",
		"--duration", (300 * time.Millisecond).String(), "--out", out}); err != nil {
		t.Fatal(err)
	}
	report, err := os.ReadFile(filepath.Join(out, "stores.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| 1 | directory | client_secret_basic |", "| 1 | PostgreSQL | private_key_jwt |"} {
		if !strings.Contains(string(report), want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
	if !regexp.MustCompile(`(?m)^\| private_key_jwt \| \d+\.\d+ \| 1 \|$`).Match(report) {
		t.Errorf("report lacks the private_key_jwt ratio:\n%s", report)
	}
	if regexp.MustCompile(`\| [1-9]\d* \| \d+ \|\n`).Match(report) {
		t.Errorf("a run had failures:\n%s", report)
	}
	if after := schemas(); after != before {
		t.Errorf("%d loadtest schemas before the run, %d after: a schema was left behind", before, after)
	}
}

// The scenario files work with the ghz CLI from the repository root, with a
// token in --metadata: every call of a short GetItem run answers OK.
func TestScenarioFilesWithTheGhzCLI(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p, err := startServe(ctx, "--mode", "auth")
	if err != nil {
		t.Fatal(err)
	}
	defer p.stop()
	src, err := tokenSource(p.info.Dev, "inventory")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := src.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "tool", "-modfile=tools/go.mod", "ghz", "--config", "loadtest/scenarios/getitem.json",
		"--metadata", `{"authorization":"Bearer `+tok.Value+`"}`, "-n", "50", "-c", "4", "--connections", "1", "--format", "json",
		p.info.Inventory)
	cmd.Dir = ".." // the repository root, as the README runs it
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ghz: %v\n%s%s", err, out, stderr.String())
	}
	var rep struct {
		Codes map[string]int `json:"statusCodeDistribution"`
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("ghz output: %v\n%.500s", err, out)
	}
	if rep.Codes["OK"] != 50 || len(rep.Codes) != 1 {
		t.Errorf("ghz with the scenario file and a token: %v, want 50 OK", rep.Codes)
	}
}

// TestSmokeRevocation revokes a few tokens under load: each is refused,
// no call with the live token fails, and the report gives the quantiles.
func TestSmokeRevocation(t *testing.T) {
	out := t.TempDir()
	if err := measureRevocation(context.Background(), []string{"--rounds", "5", "--load", "2", "--out", out}); err != nil {
		t.Fatal(err)
	}
	report, err := os.ReadFile(filepath.Join(out, "revocation.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(report), "| 5 |") || !strings.Contains(string(report), "| p99 |") || !strings.HasSuffix(strings.TrimSpace(string(report)), "| 0 |") {
		t.Errorf("report:\n%s", report)
	}
}

// --help prints the usage and exits 0; an unknown command says so and
// shows the usage.
func TestHelp(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(exe, "main", "--help").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "usage: loadtest run") {
		t.Errorf("loadtest --help: %v %s", err, out)
	}
	out, err = exec.Command(exe, "main", "frob").CombinedOutput()
	if err == nil || !strings.Contains(string(out), `unknown command "frob"`) || !strings.Contains(string(out), "usage: loadtest") {
		t.Errorf("loadtest frob: %v %s", err, out)
	}
}
