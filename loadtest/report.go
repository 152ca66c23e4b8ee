package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"
)

// summary is one scenario and variant, averaged over its rounds.
type summary struct {
	rps           float64
	p50, p95, p99 time.Duration
	codes         map[string]int
}

func summarise(results []result) (order []string, sums map[string]map[string]summary) {
	sums = map[string]map[string]summary{}
	count := map[string]map[string]int{}
	for _, r := range results {
		if sums[r.Scenario] == nil {
			order = append(order, r.Scenario)
			sums[r.Scenario], count[r.Scenario] = map[string]summary{}, map[string]int{}
		}
		s := sums[r.Scenario][r.Variant]
		if s.codes == nil {
			s.codes = map[string]int{}
		}
		s.rps += r.Report.Rps
		s.p50 += percentile(r.Report, 50)
		s.p95 += percentile(r.Report, 95)
		s.p99 += percentile(r.Report, 99)
		for c, n := range r.Report.StatusCodeDist {
			s.codes[c] += n
		}
		sums[r.Scenario][r.Variant] = s
		count[r.Scenario][r.Variant]++
	}
	for sc, m := range sums {
		for v, s := range m {
			n := count[sc][v]
			s.rps /= float64(n)
			s.p50 /= time.Duration(n)
			s.p95 /= time.Duration(n)
			s.p99 /= time.Duration(n)
			m[v] = s
		}
	}
	return order, sums
}

func codes(m map[string]int) string {
	var parts []string
	for c, n := range m {
		parts = append(parts, fmt.Sprintf("%s %d", c, n))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/1e6) }

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

func writeReport(out string, results []result, cli []cliRun, prof *profileResult, issuerRuns []issuerRun) error {
	order, sums := summarise(results)
	var b bytes.Buffer
	fmt.Fprintf(&b, "# What Tollgate's auth costs\n\n")
	placement := "servers and ghz sharing every CPU, as users run them"
	if serverCPUs != "" {
		placement = "servers pinned to CPUs " + serverCPUs + " with taskset, ghz on the others"
	}
	fmt.Fprintf(&b, "Run %s on %d CPUs (%s), %s, %s/%s, %s. Each round runs auth, observability and baseline in turn, "+
		"against three server processes built from the same service implementations, in memory and plaintext: "+
		"auth is the dev suite's exact wiring (RPC metrics, auth, access log into a discarding handler), observability "+
		"the baseline plus the RPC metrics, baseline no Tollgate at all. Tokens come from the issuer through caller credentials (refreshed ahead of expiry).\n\n",
		time.Now().UTC().Format(time.RFC3339), runtime.NumCPU(), cpuModel(), runtime.Version(), runtime.GOOS, runtime.GOARCH, placement)

	fmt.Fprintf(&b, "| scenario | variant | RPS | p50 | p95 | p99 | status codes |\n|---|---|---:|---:|---:|---:|---|\n")
	for _, sc := range order {
		for _, v := range []string{"auth", "observability", "baseline"} {
			s := sums[sc][v]
			fmt.Fprintf(&b, "| %s | %s | %.0f | %s | %s | %s | %s |\n", sc, v, s.rps, ms(s.p50), ms(s.p95), ms(s.p99), codes(s.codes))
		}
	}
	fmt.Fprintf(&b, "\nMedian over rounds of each round's ratio to its baseline:\n\n"+
		"| scenario | RPS auth/baseline | p99 auth/baseline | RPS observability/baseline | p99 observability/baseline |\n|---|---:|---:|---:|---:|\n")
	for _, sc := range order {
		rps, p99 := roundRatios(results, sc, "auth")
		orps, op99 := roundRatios(results, sc, "observability")
		fmt.Fprintf(&b, "| %s | %.3f | %.3f | %.3f | %.3f |\n", sc, median(rps), median(p99), median(orps), median(op99))
	}
	fmt.Fprintf(&b, "\nTargets: unary RPS ratio ≥ 0.95 and p99 ratio ≤ 1.10 (first row).\n\n")
	fmt.Fprintf(&b, "Every round:\n\n| scenario | variant | round | RPS | p99 |\n|---|---|---:|---:|---:|\n")
	for _, r := range results {
		fmt.Fprintf(&b, "| %s | %s | %d | %.0f | %s |\n", r.Scenario, r.Variant, r.Round, r.Report.Rps, ms(percentile(r.Report, 99)))
	}

	cliRPS, cliP99 := cliRatios(cli)
	fmt.Fprintf(&b, "\n## The plain ghz CLI\n\nThe first scenario again with the ghz CLI from `tools/` (`go tool -modfile=tools/go.mod ghz --config loadtest/scenarios/%s`, "+
		"a token in `--metadata` for auth), alternating auth and baseline: median auth/baseline RPS **%.3f**, p99 **%.3f**.\n\n"+
		"| variant | round | RPS | p99 | status codes |\n|---|---:|---:|---:|---|\n", "getitem.json", cliRPS, cliP99)
	for _, r := range cli {
		fmt.Fprintf(&b, "| %s | %d | %.0f | %s | %s |\n", r.Variant, r.Round, r.RPS, ms(r.P99), cliCodes(r))
	}

	var ratios []float64
	bare := map[int]float64{}
	for _, r := range issuerRuns {
		if r.Endpoint == "bare" {
			bare[r.Round] = r.TokensPerSec
		}
	}
	for _, r := range issuerRuns {
		if z, ok := bare[r.Round]; ok && r.Endpoint == "tollgate" {
			ratios = append(ratios, r.TokensPerSec/z)
		}
	}
	fmt.Fprintf(&b, "\n## Token issuer under load\n\nTollgate's issuer and the bare reference endpoint (Basic credentials against one in-memory client, "+
		"an RFC 9068 ES256 token signed with the standard library, the JSON response; `serve --mode bare-issuer`) alternate round by round, "+
		"loaded the same way: median issuer/bare tokens/s **%.3f** (target ≥ 0.85).\n\n"+
		"| round | endpoint | transport | clients | duration | tokens | failures | tokens/s |\n|---:|---|---|---:|---:|---:|---:|---:|\n", median(ratios))
	for _, r := range issuerRuns {
		t := "HTTP"
		if r.TLS {
			t = "HTTPS"
		}
		fmt.Fprintf(&b, "| %d | %s | %s | %d | %s | %d | %d | %.0f |\n", r.Round, r.Endpoint, t, r.Clients, r.Duration, r.Tokens, r.Failures, r.TokensPerSec)
	}

	fmt.Fprintf(&b, "\n## Where auth spends CPU\n\nCPU profile of the auth server during the %s run, ten times its length: `%s` (`go tool pprof %s`), %d samples. "+
		"Samples inside Tollgate's interceptors (RPC metrics, auth, access log, observer) but not in the handler they call: **%.1f%%** of the server's CPU; "+
		"with the auth decision itself on the stack: %.1f%%.\n\n", order[0], prof.File, prof.File, prof.Samples, 100*prof.ChainShare, 100*prof.AuthShare)
	fmt.Fprintf(&b, "| function | flat | cum |\n|---|---:|---:|\n")
	for _, f := range prof.Top {
		fmt.Fprintf(&b, "| `%s` | %.2f%% | %.2f%% |\n", f.Name, 100*f.Flat, 100*f.Cum)
	}
	fmt.Fprintf(&b, "\n![latency percentiles](latency.svg)\n\nghz's own HTML report of every run sits beside this file.\n")
	if err := os.WriteFile(filepath.Join(out, "report.md"), b.Bytes(), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(out, "latency.svg"), plot(order, sums), 0o644)
}

// plot draws p50/p95/p99 of auth and baseline side by side per scenario.
func plot(order []string, sums map[string]map[string]summary) []byte {
	const w, h, top, bottom, left = 900, 380, 40, 300, 60
	var maxLat time.Duration
	for _, sc := range order {
		for _, s := range sums[sc] {
			maxLat = max(maxLat, s.p99)
		}
	}
	if maxLat == 0 {
		maxLat = 1
	}
	colors := map[string]string{"auth": "#1f77b4", "baseline": "#bbbbbb"}
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`, w, h)
	fmt.Fprintf(&b, `<text x="%d" y="20" font-size="14">Latency percentiles (ms): auth (blue) vs baseline (grey)</text>`, left)
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>`, left, bottom, w-20, bottom)
	group := float64(w-left-20) / float64(len(order))
	for i, sc := range order {
		x0 := float64(left) + float64(i)*group + 10
		for pi, pct := range []string{"p50", "p95", "p99"} {
			for vi, v := range []string{"auth", "baseline"} {
				s := sums[sc][v]
				lat := map[string]time.Duration{"p50": s.p50, "p95": s.p95, "p99": s.p99}[pct]
				bh := float64(bottom-top) * float64(lat) / float64(maxLat)
				x := x0 + float64(pi)*(group-20)/3 + float64(vi)*((group-20)/6-2)
				fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s %s %s %s</title></rect>`,
					x, float64(bottom)-bh, (group-20)/6-4, bh, colors[v], sc, v, pct, ms(lat))
				fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="9" text-anchor="middle">%.1f</text>`,
					x+((group-20)/6-4)/2, float64(bottom)-bh-3, float64(lat)/1e6)
			}
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`, x0+float64(pi)*(group-20)/3+(group-20)/6, bottom+15, pct)
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`, x0+(group-20)/2, bottom+35, sc)
	}
	b.WriteString(`</svg>`)
	return b.Bytes()
}

// roundRatios are, for each round of scenario, variant's RPS and p99 over
// the baseline's in the same round.
func roundRatios(results []result, scenario, variant string) (rps, p99 []float64) {
	base := map[int]result{}
	for _, r := range results {
		if r.Scenario == scenario && r.Variant == "baseline" {
			base[r.Round] = r
		}
	}
	for _, r := range results {
		z, ok := base[r.Round]
		if r.Scenario != scenario || r.Variant != variant || !ok {
			continue
		}
		rps = append(rps, r.Report.Rps/z.Report.Rps)
		p99 = append(p99, float64(percentile(r.Report, 99))/float64(percentile(z.Report, 99)))
	}
	return rps, p99
}
