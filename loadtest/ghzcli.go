package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// cliRun is one run of the plain ghz CLI (not the library the harness
// links), as a user would run it from the repository root.
type cliRun struct {
	Variant string // "auth" or "baseline"
	Round   int
	RPS     float64
	P99     time.Duration
	Codes   map[string]int
}

// ghzCLI runs sc with the ghz CLI from tools/ against auth and baseline,
// alternating, rounds times; auth calls carry a fresh token in --metadata.
func ghzCLI(ctx context.Context, sc scenario, auth, base *proc, total uint, rounds int) ([]cliRun, error) {
	var runs []cliRun
	for round := 1; round <= rounds; round++ {
		for _, v := range []struct {
			name string
			p    *proc
		}{{"auth", auth}, {"baseline", base}} {
			args := []string{"tool", "-modfile=tools/go.mod", "ghz", "--config", "loadtest/scenarios/" + sc.file,
				"-n", strconv.FormatUint(uint64(total), 10), "--format", "json"}
			if v.name == "auth" {
				src, err := tokenSource(v.p.info.Dev, sc.service())
				if err != nil {
					return nil, err
				}
				tok, err := src.Token(ctx)
				if err != nil {
					return nil, err
				}
				args = append(args, "--metadata", `{"authorization":"Bearer `+tok.Value+`"}`)
			}
			cmd := exec.CommandContext(ctx, "go", append(args, v.p.addr(sc.service()))...)
			cmd.Dir = ".." // the repository root, where the scenario files' paths start
			cmd.Stderr = os.Stderr
			out, err := cmd.Output()
			if err != nil {
				return nil, fmt.Errorf("ghz CLI %s: %w", v.name, err)
			}
			var rep struct {
				RPS     float64        `json:"rps"`
				Codes   map[string]int `json:"statusCodeDistribution"`
				Latency []struct {
					Percentage int           `json:"percentage"`
					Latency    time.Duration `json:"latency"`
				} `json:"latencyDistribution"`
			}
			if err := json.Unmarshal(out, &rep); err != nil {
				return nil, fmt.Errorf("ghz CLI output: %w", err)
			}
			r := cliRun{Variant: v.name, Round: round, RPS: rep.RPS, Codes: rep.Codes}
			for _, l := range rep.Latency {
				if l.Percentage == 99 {
					r.P99 = l.Latency
				}
			}
			fmt.Fprintf(os.Stderr, "%-34s %-8s ghz CLI round %d: %8.0f rps, p99 %s\n", sc.Name, v.name, round, r.RPS, r.P99)
			runs = append(runs, r)
		}
	}
	return runs, nil
}

// cliRatios are the median over rounds of auth/baseline RPS and p99.
func cliRatios(runs []cliRun) (rps, p99 float64) {
	base := map[int]cliRun{}
	for _, r := range runs {
		if r.Variant == "baseline" {
			base[r.Round] = r
		}
	}
	var rs, ps []float64
	for _, r := range runs {
		if z, ok := base[r.Round]; ok && r.Variant == "auth" && z.RPS > 0 && z.P99 > 0 {
			rs = append(rs, r.RPS/z.RPS)
			ps = append(ps, float64(r.P99)/float64(z.P99))
		}
	}
	return median(rs), median(ps)
}

func cliCodes(r cliRun) string {
	var parts []string
	for c, n := range r.Codes {
		parts = append(parts, fmt.Sprintf("%s %d", c, n))
	}
	return strings.Join(parts, ", ")
}
