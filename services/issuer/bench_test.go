package issuer

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate-rpc/tollgate/internal/pgtest"
)

// The cost of one token, split: the secret check, the signature, the whole
// handler in process, and the whole endpoint over real HTTP; each beside a
// bare handler that only signs, measured in the same run.

func benchServer(b *testing.B) (*testServer, string) {
	ts := newTestServer(b, func(c *Config) { c.Logger = slog.New(slog.NewJSONHandler(io.Discard, nil)) })
	return ts, ts.addClient(b, basicClient("bench"))
}

func BenchmarkSecretCheck(b *testing.B) {
	ts, secret := benchServer(b)
	c := mustClient(b, ts.Server, "bench")
	b.ReportAllocs()
	for range b.N {
		if !c.checkSecret(secret, time.Now()) {
			b.Fatal("secret rejected")
		}
	}
}

func BenchmarkSign(b *testing.B) {
	ts, _ := benchServer(b)
	c := mustClient(b, ts.Server, "bench")
	b.ReportAllocs()
	for range b.N {
		if _, err := ts.sign(c, c.DefaultScopes, c.DefaultAudiences, time.Now(), 15*time.Minute); err != nil {
			b.Fatal(err)
		}
	}
}

// bareSignHandler signs a fixed client's token and writes it: the floor any
// token endpoint has to pay.
func bareSignHandler(s *Server, c *Client) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		tok, err := s.sign(c, c.DefaultScopes, c.DefaultAudiences, time.Now(), 15*time.Minute)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(tokenResponse{AccessToken: tok, TokenType: "Bearer", ExpiresIn: 900})
	})
}

func BenchmarkHandler(b *testing.B) {
	ts, secret := benchServer(b)
	c := mustClient(b, ts.Server, "bench")
	for _, tc := range []struct {
		name string
		h    http.Handler
	}{
		{"endpoint", ts.Handler()},
		{"bare-sign", bareSignHandler(ts.Server, c)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				req := httptest.NewRequest(http.MethodPost, "/oauth/token", strings.NewReader("grant_type=client_credentials"))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.SetBasicAuth("bench", secret)
				rec := httptest.NewRecorder()
				tc.h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
			}
		})
	}
}

// BenchmarkHTTP is a load run against the real HTTP endpoint with parallel
// clients (GOMAXPROCS × 8 goroutines); tokens/s is reported.
func BenchmarkHTTP(b *testing.B) {
	ts, secret := benchServer(b)
	c := mustClient(b, ts.Server, "bench")
	bare := httptest.NewServer(bareSignHandler(ts.Server, c))
	b.Cleanup(bare.Close)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	for _, tc := range []struct{ name, url string }{
		{"endpoint", ts.URL + "/oauth/token"},
		{"bare-sign", bare.URL},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetParallelism(8)
			b.ReportAllocs()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req, _ := http.NewRequest(http.MethodPost, tc.url, strings.NewReader("grant_type=client_credentials"))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					req.SetBasicAuth("bench", secret)
					resp, err := client.Do(req)
					if err != nil {
						b.Fatal(err)
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						b.Fatalf("status %d", resp.StatusCode)
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "tokens/s")
		})
	}
}

// Tokens per second from the whole handler on each store, with a secret
// (nothing written: the hot path reads memory) and with private_key_jwt
// (the jti insert is on the path), from parallel callers:
//
//	go test -run '^$' -bench BenchmarkStores -cpu 2 ./services/issuer
func BenchmarkStores(b *testing.B) {
	stores := map[string]func(b *testing.B) func(*Config){
		"dir": func(*testing.B) func(*Config) { return func(*Config) {} },
		"postgres": func(b *testing.B) func(*Config) {
			url := pgtest.URL(b)
			schema := pgtest.Schema(b, url)
			return func(c *Config) { c.Store = openTestPG(b, url, schema) }
		},
	}
	for _, name := range []string{"dir", "postgres"} {
		b.Run(name, func(b *testing.B) {
			withStore := stores[name](b)
			ts := newTestServer(b, withStore, func(c *Config) { c.Logger = slog.New(slog.NewJSONHandler(io.Discard, nil)) })
			secret := ts.addClient(b, basicClient("bench"))
			priv, setJSON := clientKey(b)
			keyed := basicClient("keyed")
			keyed.JWKS = setJSON
			ts.addClient(b, keyed)
			h := ts.Handler()
			var seq atomic.Int64
			for _, grant := range []string{"secret", "private_key_jwt"} {
				b.Run(grant, func(b *testing.B) {
					b.ReportAllocs()
					b.SetParallelism(16) // 32 requests in flight on 2 CPUs, as the load harness sends
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							body := "grant_type=client_credentials"
							if grant == "private_key_jwt" {
								a := signAssertion(b, priv, map[string]any{"iss": "keyed", "sub": "keyed", "aud": ts.URL + "/oauth/token",
									"exp": time.Now().Add(time.Minute).Unix(), "jti": fmt.Sprint("j-", seq.Add(1))})
								body += "&client_assertion_type=" + url.QueryEscape(assertionTypeJWT) + "&client_assertion=" + a
							}
							req := httptest.NewRequest(http.MethodPost, "/oauth/token", strings.NewReader(body))
							req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
							if grant == "secret" {
								req.SetBasicAuth("bench", secret)
							}
							rec := httptest.NewRecorder()
							h.ServeHTTP(rec, req)
							if rec.Code != http.StatusOK {
								b.Fatalf("status %d: %s", rec.Code, rec.Body)
							}
						}
					})
					b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
				})
			}
		})
	}
}
