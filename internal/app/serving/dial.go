package serving

import (
	"context"
	"fmt"
	"time"

	"github.com/tollgate-rpc/tollgate/interceptors/callcreds"
	"github.com/tollgate-rpc/tollgate/internal/app/metrics"
	"github.com/tollgate-rpc/tollgate/internal/app/transport"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
)

// Dial returns a connection to a Tollgate service that authenticates with
// cfg's client-credentials tokens (fetched over tr's HTTP client), with the
// fetches in m when it is set, and the token source (for readiness). Tokens go over plaintext only when tr says so
// explicitly, and off loopback (to addr, or the token endpoint, which
// callcreds checks) only when it also allows remote plaintext.
func Dial(cfg callcreds.Config, addr string, tr transport.Transport, m *metrics.Metrics, extra ...grpc.DialOption) (*grpc.ClientConn, *callcreds.Source, error) {
	if err := tr.CheckDial("address", addr); err != nil {
		return nil, nil, err
	}
	cfg.AllowPlaintext = tr.RemotePlaintext
	clientID := cfg.ClientID
	var srcOpts []callcreds.Option
	if m != nil {
		srcOpts = append(srcOpts, callcreds.WithFetchObserver(m.CallerObserver(clientID)))
	}
	cfg.HTTPClient = tr.HTTPClient()
	src, err := callcreds.NewSource(cfg, srcOpts...)
	if err != nil {
		return nil, nil, err
	}
	if m != nil {
		m.WatchSource(clientID, src)
	}
	var opts []callcreds.CredentialsOption
	if tr.Plaintext {
		opts = append(opts, callcreds.AllowPlaintext())
	}
	// Reconnect soon after a fault: gRPC's default backoff grows to 2
	// minutes, which kept orders failing seconds after inventory was back.
	connect := grpc.WithConnectParams(grpc.ConnectParams{Backoff: backoff.Config{BaseDelay: 100 * time.Millisecond,
		Multiplier: 1.6, Jitter: 0.2, MaxDelay: 2 * time.Second}, MinConnectTimeout: 5 * time.Second})
	conn, err := callcreds.New(src, opts...).NewClient(addr, append([]grpc.DialOption{connect, grpc.WithTransportCredentials(tr.DialCredentials())}, extra...)...)
	if err != nil {
		return nil, nil, err
	}
	return conn, src, nil
}

// TokenReady is ready once src holds a valid token (getting one if it has
// none): the caller's issuer answers and takes its credentials.
func TokenReady(src *callcreds.Source) func(context.Context) error {
	return func(ctx context.Context) error {
		if _, err := src.Token(ctx); err != nil {
			return fmt.Errorf("no access token for calls out: %w", err)
		}
		return nil
	}
}
