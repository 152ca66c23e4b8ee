package serving

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate-rpc/tollgate/internal/app/transport"
	"github.com/tollgate-rpc/tollgate/internal/jwtest"
	"github.com/tollgate-rpc/tollgate/internal/tcpproxy"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// A server holds at most its connection limit open: the next connection is
// not served until one closes.
func TestConnectionLimit(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	healthpb.RegisterHealthServer(srv, health.NewServer())
	go func() { _ = srv.Serve(transport.LimitConnections(l, 1)) }()
	t.Cleanup(srv.Stop)
	dial := func() (*grpc.ClientConn, healthpb.HealthClient) {
		conn, err := grpc.NewClient(l.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		return conn, healthpb.NewHealthClient(conn)
	}
	check := func(c healthpb.HealthClient, d time.Duration) error {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		_, err := c.Check(ctx, &healthpb.HealthCheckRequest{}, grpc.WaitForReady(true))
		return err
	}
	first, a := dial()
	if err := check(a, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	_, b := dial()
	if err := check(b, 300*time.Millisecond); status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("second connection while the only one is held: %v, want it left waiting", err)
	}
	first.Close()
	if err := check(b, 10*time.Second); err != nil {
		t.Errorf("second connection once the first closed: %v", err)
	}
}

// The HTTP server's own warnings (TLS handshake errors among them) carry the
// logger's fields, such as service=issuer.
func TestHTTPServerWarningsNameTheService(t *testing.T) {
	var buf jwtest.Buffer
	srv := NewHTTPServer(http.NotFoundHandler(), slog.New(slog.NewTextHandler(&buf, nil)).With("service", "issuer"))
	srv.ErrorLog.Print("http: TLS handshake error from 127.0.0.1:1: EOF")
	if out := buf.String(); !strings.Contains(out, "service=issuer") || !strings.Contains(out, "level=WARN") {
		t.Errorf("server warning logged as %q", out)
	}
}

// The admin listener's probes: /healthz while the process answers, /readyz
// only while ready says so.
func TestAdminProbes(t *testing.T) {
	var notReady atomic.Bool
	var detail atomic.Pointer[string]
	h := AdminHandler(http.NotFoundHandler(), func(context.Context) error {
		if notReady.Load() {
			return errors.New("issuer keys not fetched yet")
		}
		return nil
	}, func() []string {
		if d := detail.Load(); d != nil {
			return []string{*d}
		}
		return nil
	})
	get := func(path string) (int, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		return rec.Code, rec.Body.String()
	}
	code := func(path string) int { c, _ := get(path); return c }
	if code("/healthz") != 200 || code("/readyz") != 200 {
		t.Errorf("probes of a ready process: %d %d", code("/healthz"), code("/readyz"))
	}
	// Details (a stale revocation feed, failing open) follow the verdict.
	stale := "revocations of issuer https://i: the feed last answered 2m0s ago"
	detail.Store(&stale)
	if c, body := get("/readyz"); c != 200 || body != "ok\n"+stale+"\n" {
		t.Errorf("ready with a detail: %d %q", c, body)
	}
	notReady.Store(true)
	if c, body := get("/readyz"); c != http.StatusServiceUnavailable || !strings.HasPrefix(body, "not ready: issuer keys not fetched yet\n") || !strings.Contains(body, stale) {
		t.Errorf("not ready with a detail: %d %q", c, body)
	}
	if code("/healthz") != 200 || code("/readyz") != http.StatusServiceUnavailable {
		t.Errorf("probes of a live process that is not ready: %d %d", code("/healthz"), code("/readyz"))
	}
}

// The admin listener warns when it is reachable off the machine (allowed:
// Kubernetes needs it), and says nothing on loopback.
func TestAdminListenerWarnsOffLoopback(t *testing.T) {
	for addr, warn := range map[string]bool{"127.0.0.1:0": false, "0.0.0.0:0": true} {
		var buf jwtest.Buffer
		l, err := ListenAdmin(addr, slog.New(slog.NewTextHandler(&buf, nil)))
		if err != nil {
			t.Fatal(err)
		}
		l.Close()
		if got := strings.Contains(buf.String(), "level=WARN"); got != warn {
			t.Errorf("admin listener on %s: warned %v, want %v (%q)", addr, got, warn, buf.String())
		}
	}
}

// A service whose every call depends on another is not ready while its
// connection to it fails, and is again once the other answers.
func TestConnReady(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()
	proxy := tcpproxy.New(t, "tcp://"+lis.Addr().String())
	proxy.Cut() // the other service does not answer yet
	addr := proxy.Addr()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ready := ConnReady(conn, addr)
	if err := ready(t.Context()); err != nil {
		t.Fatalf("an idle connection, not yet tried: %v", err)
	}
	jwtest.Eventually(t, "not ready while nothing answers", func() bool { return ready(t.Context()) != nil })
	if err := ready(t.Context()); !strings.Contains(err.Error(), addr) {
		t.Errorf("the error does not name the target: %v", err)
	}
	proxy.Restore()
	jwtest.Eventually(t, "ready once the other service answers", func() bool { conn.Connect(); return ready(t.Context()) == nil })
}
