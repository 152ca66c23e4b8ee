package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tollgate-rpc/tollgate/internal/devtls"
	"github.com/tollgate-rpc/tollgate/internal/suite"
)

// issuerRun is tokens issued per second by a real issuer process over real
// HTTP with concurrent clients.
type issuerRun struct {
	TLS          bool
	Clients      int
	Duration     time.Duration
	Tokens       int64
	Failures     int64
	TokensPerSec float64
}

func issuerLoad(ctx context.Context, d time.Duration) ([]issuerRun, error) {
	var runs []issuerRun
	for _, useTLS := range []bool{false, true} {
		args := []string{"--mode", "issuer"}
		if useTLS {
			args = append(args, "--tls")
		}
		p, err := startServe(ctx, args...)
		if err != nil {
			return nil, err
		}
		run, err := hammerIssuer(p.info.Issuer, d, 32)
		_ = p.stop()
		if err != nil {
			return nil, err
		}
		run.TLS = useTLS
		runs = append(runs, run)
	}
	return runs, nil
}

func hammerIssuer(ep *issuerEndpoint, d time.Duration, clients int) (issuerRun, error) {
	var tr suite.Transport
	if ep.CAFile != "" {
		pool, err := devtls.LoadPool(ep.CAFile)
		if err != nil {
			return issuerRun{}, err
		}
		tr.RootCAs = pool
	}
	hc := tr.HTTPClient()
	hc.Transport.(*http.Transport).MaxIdleConnsPerHost = clients
	body := url.Values{"grant_type": {"client_credentials"}}.Encode()
	var ok, failed atomic.Int64
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				req, _ := http.NewRequest(http.MethodPost, ep.TokenURL, strings.NewReader(body))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.SetBasicAuth(ep.ClientID, ep.ClientSecret)
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
	return issuerRun{Clients: clients, Duration: d, Tokens: ok.Load(), Failures: failed.Load(),
		TokensPerSec: float64(ok.Load()) / d.Seconds()}, nil
}
