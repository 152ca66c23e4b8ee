package serving

import (
	"github.com/tollgate-rpc/tollgate/interceptors/callcreds"
	"github.com/tollgate-rpc/tollgate/internal/metrics"
	"github.com/tollgate-rpc/tollgate/internal/transport"
	"google.golang.org/grpc"
)

// Dial returns a connection to a Tollgate service that authenticates with
// cfg's client-credentials tokens (fetched over tr's HTTP client), with the
// fetches in m when it is set. Tokens go over plaintext only when tr says so
// explicitly, and off loopback (to addr, or the token endpoint) only when it
// also allows remote plaintext.
func Dial(cfg callcreds.Config, addr string, tr transport.Transport, m *metrics.Metrics, extra ...grpc.DialOption) (*grpc.ClientConn, error) {
	if err := tr.CheckDial("address", addr); err != nil {
		return nil, err
	}
	if err := tr.CheckURL("token URL", cfg.TokenURL); err != nil {
		return nil, err
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
		return nil, err
	}
	if m != nil {
		m.WatchSource(clientID, src)
	}
	var opts []callcreds.CredentialsOption
	if tr.Plaintext {
		opts = append(opts, callcreds.AllowPlaintext())
	}
	return callcreds.New(src, opts...).NewClient(addr, append(extra, grpc.WithTransportCredentials(tr.DialCredentials()))...)
}
