package clients

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/tollgate-rpc/tollgate/interceptors"
	"github.com/tollgate-rpc/tollgate/interceptors/verify"
	"github.com/tollgate-rpc/tollgate/internal/app/devsuite"
	"github.com/tollgate-rpc/tollgate/internal/devtls"
	"github.com/tollgate-rpc/tollgate/internal/jwtest"
	"github.com/tollgate-rpc/tollgate/services/inventory"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
)

// shortTokenSuite serves, over TLS, a token endpoint that issues 2-second
// tokens and a real inventory service that trusts them with no clock skew,
// and writes the dev.json the callers read.
func shortTokenSuite(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	ca, err := devtls.LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.ServerCert("localhost", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	serverTLS := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}

	iss := jwtest.NewIssuer(t)
	kid := iss.AddKey(jwa.ES256)
	const id, secret = "watcher", "watcher-secret"
	tokens := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if gotID, gotSecret, ok := r.BasicAuth(); !ok || gotID != id || gotSecret != secret {
			http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
			return
		}
		claims := iss.Claims(r.PostFormValue("audience"), map[string]any{"client_id": id, "sub": id,
			"exp": time.Now().Add(2 * time.Second).Unix(), "jti": fmt.Sprint(time.Now().UnixNano()), "scope": "inventory.read"})
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": iss.Sign(kid, nil, claims), "token_type": "Bearer", "expires_in": 2})
	}))
	tokens.TLS = serverTLS
	tokens.StartTLS()
	t.Cleanup(tokens.Close)

	v, err := verify.New([]verify.Issuer{{Issuer: iss.URL, Audiences: []string{"inventory"}}}, verify.WithClockSkew(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	store := inventory.NewMemoryStore()
	if err := inventory.SeedDemo(t.Context(), store); err != nil {
		t.Fatal(err)
	}
	svc := inventory.New(store, nil)
	srv := grpc.NewServer(append(interceptors.New(v).ServerOptions(), grpc.Creds(credentials.NewTLS(serverTLS)))...)
	svc.Register(srv)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(func() { svc.Close(); srv.Stop() })

	info := devsuite.Info{TokenEndpoint: tokens.URL + "/oauth/token", CAFile: ca.CertFile,
		Services: map[string]string{"inventory": lis.Addr().String()},
		Clients:  []devsuite.Client{{Name: id, ClientID: id, ClientSecret: secret}}}
	doc, err := json.Marshal(info)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "dev.json")
	if err := os.WriteFile(path, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// The Python and Node callers follow WatchStock across token expiry: the
// server ends the stream with TOKEN_EXPIRED when the 2-second token expires,
// and the caller reopens it with a fresh token, twice.
func TestCallersReopenStreamsWhenTheirTokenExpires(t *testing.T) {
	devJSON := shortTokenSuite(t)
	for _, c := range []string{"python", "node"} {
		t.Run(c, func(t *testing.T) {
			t.Parallel()
			argv := callerArgv(t, c)
			cmd := exec.Command(argv[0], append(argv[1:], "--dev-json", devJSON, "--client", "watcher", "--only", "watch", "--watch-reopens", "2")...)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if n := strings.Count(string(out), "WatchStock: token expired (TOKEN_EXPIRED); reopening with a fresh token"); n != 2 {
				t.Errorf("%d reopenings, want 2:\n%s", n, out)
			}
			if n := strings.Count(string(out), "WatchStock: widget-1 on hand"); n != 3 {
				t.Errorf("%d snapshots, want one per stream (3):\n%s", n, out)
			}
		})
	}
}
