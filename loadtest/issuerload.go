package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jwt"
	"github.com/tollgate-rpc/tollgate/internal/app/transport"
	"github.com/tollgate-rpc/tollgate/internal/devtls"
)

// issuerRun is tokens issued per second by a real issuer process over real
// HTTP with concurrent clients.
type issuerRun struct {
	Round        int
	Endpoint     string // "tollgate", or "bare": the reference endpoint
	TLS          bool
	Grant        string // "client_secret_basic" or "private_key_jwt"
	Clients      int
	Duration     time.Duration
	Tokens       int64
	Failures     int64
	TokensPerSec float64
}

// issuerLoad loads, round by round, Tollgate's issuer and the bare
// reference endpoint over HTTP (alternating, in one run), then the issuer
// once over HTTPS.
func issuerLoad(ctx context.Context, d time.Duration, rounds int) ([]issuerRun, error) {
	var runs []issuerRun
	load := func(round int, endpoint string, args ...string) error {
		p, err := startServe(ctx, args...)
		if err != nil {
			return err
		}
		run, err := hammerIssuer(p.info.Issuer, d, 32, grantSecret)
		_ = p.stop()
		if err != nil {
			return fmt.Errorf("%s: %w", endpoint, err)
		}
		run.Round, run.Endpoint, run.TLS = round, endpoint, slices.Contains(args, "--tls")
		fmt.Fprintf(os.Stderr, "issuer round %d %-8s %8.0f tokens/s\n", round, endpoint, run.TokensPerSec)
		runs = append(runs, run)
		return nil
	}
	for round := 1; round <= rounds; round++ {
		if err := load(round, "tollgate", "--mode", "issuer"); err != nil {
			return nil, err
		}
		if err := load(round, "bare", "--mode", "bare-issuer"); err != nil {
			return nil, err
		}
	}
	return runs, load(rounds+1, "tollgate", "--mode", "issuer", "--tls")
}

// The grants a load run can use.
const (
	grantSecret    = "client_secret_basic"
	grantAssertion = "private_key_jwt"
)

func hammerIssuer(ep *issuerEndpoint, d time.Duration, clients int, grant string) (issuerRun, error) {
	var tr transport.Transport
	if ep.CAFile != "" {
		pool, err := devtls.LoadPool(ep.CAFile)
		if err != nil {
			return issuerRun{}, err
		}
		tr.RootCAs = pool
	}
	hc := tr.HTTPClient()
	hc.Transport.(*http.Transport).MaxIdleConnsPerHost = clients
	newRequest, err := tokenRequests(ep, grant)
	if err != nil {
		return issuerRun{}, err
	}
	var ok, failed atomic.Int64
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				req, err := newRequest()
				if err != nil {
					failed.Add(1)
					continue
				}
				resp, err := hc.Do(req)
				if err != nil {
					failed.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					ok.Add(1)
				} else {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if ok.Load() == 0 {
		return issuerRun{}, fmt.Errorf("issuer load: no token issued (%d failures)", failed.Load())
	}
	return issuerRun{Grant: grant, Clients: clients, Duration: d, Tokens: ok.Load(), Failures: failed.Load(),
		TokensPerSec: float64(ok.Load()) / d.Seconds()}, nil
}

// tokenRequests returns a function making token requests for grant: Basic
// credentials, or a freshly signed assertion (RFC 7523) with a new jti each.
func tokenRequests(ep *issuerEndpoint, grant string) (func() (*http.Request, error), error) {
	form := url.Values{"grant_type": {"client_credentials"}}
	post := func(body string) *http.Request {
		req, _ := http.NewRequest(http.MethodPost, ep.TokenURL, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return req
	}
	switch grant {
	case grantSecret:
		body := form.Encode()
		return func() (*http.Request, error) {
			req := post(body)
			req.SetBasicAuth(ep.ClientID, ep.ClientSecret)
			return req, nil
		}, nil
	case grantAssertion:
		key, err := jwk.ParseKey(ep.KeyedClientKey)
		if err != nil {
			return nil, fmt.Errorf("keyed client key: %w", err)
		}
		var seq atomic.Int64
		prefix := strconv.FormatInt(time.Now().UnixNano(), 36) + "-"
		return func() (*http.Request, error) {
			tok, err := jwt.NewBuilder().Issuer(ep.KeyedClientID).Subject(ep.KeyedClientID).Audience([]string{ep.TokenURL}).
				Expiration(time.Now().Add(time.Minute)).JwtID(prefix + strconv.FormatInt(seq.Add(1), 10)).Build()
			if err != nil {
				return nil, err
			}
			signed, err := jwt.Sign(tok, jwt.WithKey(jwa.ES256, key))
			if err != nil {
				return nil, err
			}
			f := url.Values{"grant_type": {"client_credentials"}, "client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
				"client_assertion": {string(signed)}}
			return post(f.Encode()), nil
		}, nil
	}
	return nil, fmt.Errorf("unknown grant %q", grant)
}

// storeRun is one issuer load run on one store.
type storeRun struct {
	Store string // "directory" or "PostgreSQL"
	Round int
	issuerRun
}

// compareStores measures one issuer on the embedded store (the data
// directory) and on PostgreSQL, with both grants, alternating the stores
// round by round, and writes stores.md.
func compareStores(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("stores", flag.ContinueOnError)
	out := fs.String("out", "runs/latest", "directory for stores.md (give --out results to update the committed one)")
	dbURL := fs.String("database-url", os.Getenv("TOLLGATE_DATABASE_URL"), "PostgreSQL URL (or TOLLGATE_DATABASE_URL); each run gets a schema of its own")
	rounds := fs.Int("rounds", 3, "rounds; each runs the directory, then PostgreSQL")
	d := fs.Duration("duration", 5*time.Second, "length of each run")
	clients := fs.Int("clients", 32, "concurrent HTTP clients")
	fs.StringVar(&serverCPUs, "server-cpus", "", "pin the issuer to these CPUs with taskset")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dbURL == "" {
		return fmt.Errorf("stores: give --database-url (or TOLLGATE_DATABASE_URL)")
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	var runs []storeRun
	for round := 1; round <= *rounds; round++ {
		for _, store := range []string{"directory", "PostgreSQL"} {
			args := []string{"--mode", "issuer"}
			if store == "PostgreSQL" {
				args = append(args, "--database-url", *dbURL)
			}
			p, err := startServe(ctx, args...)
			if err != nil {
				return err
			}
			for _, grant := range []string{grantSecret, grantAssertion} {
				run, err := hammerIssuer(p.info.Issuer, *d, *clients, grant)
				if err != nil {
					_ = p.stop()
					return fmt.Errorf("%s %s: %w", store, grant, err)
				}
				fmt.Fprintf(os.Stderr, "round %d %-10s %-19s %8.0f tokens/s (%d failures)\n", round, store, grant, run.TokensPerSec, run.Failures)
				runs = append(runs, storeRun{Store: store, Round: round, issuerRun: run})
			}
			if err := p.stop(); err != nil {
				return fmt.Errorf("%s issuer: %w", store, err)
			}
		}
	}
	return os.WriteFile(filepath.Join(*out, "stores.md"), storesReport(runs, serverCPUs), 0o644)
}

// storesReport is the markdown of a store comparison: the median over
// rounds of PostgreSQL/directory per grant, then every run.
func storesReport(runs []storeRun, cpus string) []byte {
	var b bytes.Buffer
	placement := "issuer and load generator sharing every CPU"
	if cpus != "" {
		placement = "issuer pinned to CPUs " + cpus
	}
	fmt.Fprintf(&b, "# Token issuer: PostgreSQL vs the embedded store\n\n"+
		"One issuer process over plaintext HTTP, %d concurrent clients, %s, %s, %d CPUs. "+
		"Rounds alternate the stores; the ratio is PostgreSQL/directory within a round, and the median is over rounds.\n\n",
		runs[0].Clients, placement, runtime.Version(), runtime.NumCPU())
	fmt.Fprintf(&b, "| grant | median PostgreSQL/directory | rounds |\n|---|---:|---:|\n")
	for _, grant := range []string{grantSecret, grantAssertion} {
		var ratios []float64
		byRound := map[int]map[string]float64{}
		for _, r := range runs {
			if r.Grant != grant {
				continue
			}
			if byRound[r.Round] == nil {
				byRound[r.Round] = map[string]float64{}
			}
			byRound[r.Round][r.Store] = r.TokensPerSec
		}
		for _, m := range byRound {
			ratios = append(ratios, m["PostgreSQL"]/m["directory"])
		}
		fmt.Fprintf(&b, "| %s | %.2f | %d |\n", grant, median(ratios), len(ratios))
	}
	fmt.Fprintf(&b, "\nGoal: ≥ 0.9 for both grants.\n\n| round | store | grant | tokens | failures | tokens/s |\n|---:|---|---|---:|---:|---:|\n")
	for _, r := range runs {
		fmt.Fprintf(&b, "| %d | %s | %s | %d | %d | %.0f |\n", r.Round, r.Store, r.Grant, r.Tokens, r.Failures, r.TokensPerSec)
	}
	fmt.Fprintf(&b, "\nReproduce from `loadtest/`: `go run . stores --database-url postgres://… --out results`.\n")
	return b.Bytes()
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
