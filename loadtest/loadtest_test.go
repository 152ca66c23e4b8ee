package main

import (
	"context"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the test binary play the serve processes that the harness
// starts (it re-executes itself with "serve").
func TestMain(m *testing.M) {
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
	for _, want := range []string{"GetItem (unary) | auth", "ListItems (server stream) | baseline", "PlaceOrder (orders → inventory) | auth",
		"| HTTPS | 32 |", "Where auth spends CPU"} {
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
