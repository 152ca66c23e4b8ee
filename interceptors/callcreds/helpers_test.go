package callcreds

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	inventoryv1 "github.com/tollgate-rpc/tollgate/gen/go/tollgate/inventory/v1"
	"github.com/tollgate-rpc/tollgate/interceptors"
	"github.com/tollgate-rpc/tollgate/interceptors/verify"
	"github.com/tollgate-rpc/tollgate/internal/jwtest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
)

const (
	testClientID = "client-1"
	testSecret   = "s3cret-value-never-logged"
)

// Token endpoint behaviours.
const (
	modeOK int32 = iota
	modeDown
	modeHang
	modeGarbage
	modeOAuthError
	modeNoExpiry
)

// tokenServer is a real HTTP token endpoint that signs real tokens with a
// jwtest issuer's key, counts requests, and misbehaves on demand.
type tokenServer struct {
	iss      *jwtest.Issuer
	kid      atomic.Pointer[string]
	URL      string
	lifetime atomic.Int64
	mode     atomic.Int32
	requests atomic.Int64
	stop     chan struct{}

	Issuer        string // the server's URL: its discovery document is under it
	discoveries   atomic.Int64
	discoveryDown atomic.Bool
}

func newTokenServer(t testing.TB, lifetime time.Duration) *tokenServer {
	t.Helper()
	ts := &tokenServer{iss: jwtest.NewIssuer(t), stop: make(chan struct{})}
	kid := ts.iss.AddKey(jwa.ES256)
	ts.kid.Store(&kid)
	ts.lifetime.Store(int64(lifetime))
	srv := httptest.NewServer(http.HandlerFunc(ts.serve))
	t.Cleanup(func() { close(ts.stop); srv.Close() })
	ts.URL, ts.Issuer = srv.URL+"/oauth/token", srv.URL
	return ts
}

func (ts *tokenServer) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/.well-known/openid-configuration" {
		ts.discoveries.Add(1)
		if ts.discoveryDown.Load() {
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": ts.Issuer, "token_endpoint": ts.URL, "jwks_uri": ts.Issuer + "/jwks"})
		return
	}
	if r.URL.Path != "/oauth/token" {
		http.NotFound(w, r)
		return
	}
	ts.requests.Add(1)
	switch ts.mode.Load() {
	case modeDown:
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
		return
	case modeHang:
		select {
		case <-r.Context().Done():
		case <-ts.stop:
		}
		return
	case modeGarbage:
		_, _ = w.Write([]byte("<html>surprise</html>"))
		return
	case modeOAuthError:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":"invalid_client","error_description":"client authentication failed"}`))
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok || id != testClientID || secret != testSecret {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":"invalid_client"}`))
		return
	}
	life := time.Duration(ts.lifetime.Load())
	claims := ts.iss.Claims("inventory", map[string]any{
		"exp": time.Now().Add(life).Unix(), "jti": fmt.Sprint(time.Now().UnixNano()),
		"scope": r.PostFormValue("scope"), "aud": r.PostFormValue("audience"),
	})
	resp := map[string]any{"access_token": ts.iss.Sign(*ts.kid.Load(), nil, claims), "token_type": "Bearer"}
	if ts.mode.Load() != modeNoExpiry {
		resp["expires_in"] = int(life / time.Second)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(resp)
}

// rotate makes the endpoint sign with a new key and withdraws the old one.
func (ts *tokenServer) rotate() {
	old := *ts.kid.Load()
	next := ts.iss.AddKey(jwa.ES256)
	ts.kid.Store(&next)
	ts.iss.Unpublish(old)
}

func (ts *tokenServer) source(t testing.TB, opts ...Option) *Source {
	t.Helper()
	src, err := NewSource(Config{TokenURL: ts.URL, ClientID: testClientID, ClientSecret: testSecret,
		Audience: "inventory", Scopes: []string{"inventory.read"}}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// countingInventory counts the calls that reached the handler.
type countingInventory struct {
	inventoryv1.UnimplementedInventoryServiceServer
	calls atomic.Int64
}

func (c *countingInventory) GetItem(context.Context, *inventoryv1.GetItemRequest) (*inventoryv1.GetItemResponse, error) {
	c.calls.Add(1)
	return &inventoryv1.GetItemResponse{Item: &inventoryv1.Item{Sku: "x"}}, nil
}

func (c *countingInventory) ListItems(_ *inventoryv1.ListItemsRequest, s grpc.ServerStreamingServer[inventoryv1.ListItemsResponse]) error {
	c.calls.Add(1)
	return s.Send(&inventoryv1.ListItemsResponse{Items: []*inventoryv1.Item{{Sku: "x"}}})
}

// serveInventory starts a real gRPC server on 127.0.0.1:0 that trusts ts's
// issuer, optionally with TLS.
func serveInventory(t testing.TB, ts *tokenServer, tlsCfg *tls.Config, vopts ...verify.Option) (string, *countingInventory, *verify.Verifier) {
	t.Helper()
	impl := &countingInventory{}
	addr, v := serve(t, ts, "inventory", tlsCfg, func(s *grpc.Server) { inventoryv1.RegisterInventoryServiceServer(s, impl) }, vopts...)
	return addr, impl, v
}

// serve starts a real gRPC server on 127.0.0.1:0 whose interceptors trust
// ts's issuer for audience, with the services that register adds.
func serve(t testing.TB, ts *tokenServer, audience string, tlsCfg *tls.Config, register func(*grpc.Server), vopts ...verify.Option) (string, *verify.Verifier) {
	t.Helper()
	v, err := verify.New([]verify.Issuer{{Issuer: ts.iss.URL, Audiences: []string{audience}}}, vopts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	opts := interceptors.New(v).ServerOptions()
	if tlsCfg != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(tlsCfg)))
	}
	srv := grpc.NewServer(opts...)
	register(srv)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return lis.Addr().String(), v
}

// selfSignedTLS returns a server config for 127.0.0.1 and a pool trusting it.
func selfSignedTLS(t testing.TB) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:   time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12}, pool
}
