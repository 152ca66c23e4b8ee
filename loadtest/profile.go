package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/google/pprof/profile"
)

// profileResult is what the CPU profile of the auth server says about auth.
type profileResult struct {
	File      string
	AuthShare float64 // share of all CPU samples with authorize on the stack
	// ChainShare is the share of samples inside Tollgate's server
	// interceptors (RPC metrics, auth, access log, observer) but not in
	// the service handler they call: what Tollgate adds per call.
	ChainShare float64
	Samples    int64 // CPU samples in the profile
	Top        []fnCost
}

type fnCost struct {
	Name      string
	Flat, Cum float64 // shares of all samples
}

// authAttributable reports whether a function belongs to auth: Tollgate's
// interceptors and verifier, and the JOSE library they call.
func authAttributable(name string) bool {
	return strings.Contains(name, "tollgate-rpc/tollgate/interceptors") || strings.Contains(name, "lestrrat-go/jwx") ||
		strings.Contains(name, "tollgate-rpc/tollgate/internal/app/metrics")
}

// inChain reports whether a frame is one of Tollgate's server interceptors.
func inChain(name string) bool {
	return strings.Contains(name, "tollgate/internal/app/metrics.(*rpcMetrics)") || strings.Contains(name, "tollgate/interceptors.(*Authenticator)")
}

// authWork reports whether a frame is the interceptors' own work (not the
// handler they call): deciding, parsing the bearer token, verifying.
func authWork(name string) bool {
	for _, f := range []string{"interceptors.(*Authenticator).decide", "interceptors.(*Authenticator).authorize",
		"interceptors.bearerToken", "interceptors/verify.(*Verifier)"} {
		if strings.Contains(name, f) {
			return true
		}
	}
	return false
}

// profileAuth runs the first scenario against a fresh auth server that
// records a CPU profile, and reads the profile.
func profileAuth(ctx context.Context, sc scenario, scale float64, out string) (*profileResult, error) {
	path, err := filepath.Abs(filepath.Join(out, "cpu-auth.pprof"))
	if err != nil {
		return nil, err
	}
	p, err := startServe(ctx, "--mode", "auth", "--cpuprofile", path)
	if err != nil {
		return nil, err
	}
	md, err := bearer(ctx, p.info.Dev, sc.service())
	if err != nil {
		return nil, err
	}
	// Ten times the scenario: the server gets a fraction of the CPUs beside
	// ghz, and at 100 samples/s a share needs several hundred samples to be
	// told from noise.
	if _, err := ghz(sc, p.addr(sc.service()), max(uint(10*float64(sc.Total)*scale), 50), md); err != nil {
		return nil, err
	}
	if err := p.stop(); err != nil {
		return nil, fmt.Errorf("profiled server: %w", err)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	prof, err := profile.Parse(f)
	if err != nil {
		return nil, err
	}
	return summarize(prof, filepath.Base(path)), nil
}

func summarize(prof *profile.Profile, file string) *profileResult {
	idx := len(prof.SampleType) - 1 // cpu nanoseconds
	flat, cum := map[string]int64{}, map[string]int64{}
	var total, withAuth, withChain, samples int64
	for _, s := range prof.Sample {
		v := s.Value[idx]
		total += v
		samples += s.Value[0]
		seen := map[string]bool{}
		onAuth, inIssuer, onChain, inService := false, false, false, false
		for i, loc := range s.Location {
			for j, line := range loc.Line {
				name := line.Function.Name
				if i == 0 && j == 0 {
					flat[name] += v
				}
				if !seen[name] {
					seen[name] = true
					cum[name] += v
				}
				if authWork(name) {
					onAuth = true
				}
				if strings.Contains(name, "tollgate/services/issuer") {
					inIssuer = true
				}
				onChain = onChain || inChain(name)
				inService = inService || strings.Contains(name, "tollgate/services/")
			}
		}
		if inIssuer {
			// The issuer runs in the same process; its signing is not the
			// cost of checking tokens.
			for name := range seen {
				cum[name] -= v
			}
			if s.Location[0].Line[0].Function != nil {
				flat[s.Location[0].Line[0].Function.Name] -= v
			}
			continue
		}
		if onAuth {
			withAuth += v
		}
		if onChain && !inService {
			withChain += v
		}
	}
	r := &profileResult{File: file, Samples: samples}
	if total == 0 {
		return r
	}
	r.AuthShare = float64(withAuth) / float64(total)
	r.ChainShare = float64(withChain) / float64(total)
	for name, c := range cum {
		if authAttributable(name) && c > 0 && !strings.Contains(name, "ServerInterceptor.func") && !strings.Contains(name, "accessLog") {
			r.Top = append(r.Top, fnCost{Name: name, Flat: float64(flat[name]) / float64(total), Cum: float64(c) / float64(total)})
		}
	}
	sort.Slice(r.Top, func(i, j int) bool { return r.Top[i].Cum > r.Top[j].Cum })
	if len(r.Top) > 10 {
		r.Top = r.Top[:10]
	}
	return r
}
