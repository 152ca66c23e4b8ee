package transport

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/tollgate-rpc/tollgate/internal/egress"
	"golang.org/x/net/netutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
)

// Transport is how the suite's processes serve and reach each other: TLS by
// default, plaintext only when chosen explicitly.
type Transport struct {
	// ServerTLS serves with TLS; nil serves plaintext.
	ServerTLS *tls.Config
	// RootCAs are trusted when dialling; nil means the system roots.
	RootCAs *x509.CertPool
	// Plaintext dials without TLS, and lets tokens travel in the clear.
	Plaintext bool
	// RemotePlaintext lets plaintext dials and http URLs (token endpoint,
	// JWKS, discovery) reach hosts that are not loopback: a process's
	// --allow-plaintext governs what it sends as well as where it listens.
	RemotePlaintext bool
}

// HTTPClient is the client for token, JWKS and discovery requests: it
// follows redirects only within https (token requests, through callcreds,
// none at all).
func (t Transport) HTTPClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: t.RootCAs, MinVersion: tls.VersionTLS12}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second, CheckRedirect: egress.HTTPSOnly}
}

// ErrRemotePlaintext is wrapped by the refusals of CheckURL and CheckDial.
var ErrRemotePlaintext = errors.New("refusing to send credentials without TLS off loopback; --allow-plaintext insists")

// CheckURL refuses a URL that would carry credentials or keys in plain
// http to a host that is not loopback, unless RemotePlaintext is set.
// what names the setting in the error ("--token-url").
func (t Transport) CheckURL(what, u string) error {
	err := egress.CheckURL(what, u, t.RemotePlaintext)
	if errors.Is(err, egress.ErrPlaintext) {
		return fmt.Errorf("%w: %w", err, ErrRemotePlaintext)
	}
	return err
}

// CheckDial refuses to dial addr without TLS (a bearer token would travel
// in the clear) when its host is not loopback, unless RemotePlaintext is
// set. what names the setting in the error ("--inventory-addr").
func (t Transport) CheckDial(what, addr string) error {
	if !t.Plaintext || t.RemotePlaintext {
		return nil
	}
	loopback, err := IsLoopback(addr)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if !loopback {
		return fmt.Errorf("%s %s: plaintext gRPC to a host that is not loopback: %w", what, addr, ErrRemotePlaintext)
	}
	return nil
}

// ServerOptions are the gRPC server options for ServerTLS.
func (t Transport) ServerOptions() []grpc.ServerOption {
	if t.ServerTLS == nil {
		return nil
	}
	return []grpc.ServerOption{grpc.Creds(credentials.NewTLS(t.ServerTLS))}
}

// DialCredentials are the transport credentials for gRPC clients.
func (t Transport) DialCredentials() credentials.TransportCredentials {
	if t.Plaintext {
		return insecure.NewCredentials()
	}
	return credentials.NewTLS(&tls.Config{RootCAs: t.RootCAs, MinVersion: tls.VersionTLS12})
}

// Scheme is "https" with TLS, else "http".
func (t Transport) Scheme() string {
	if t.ServerTLS == nil {
		return "http"
	}
	return "https"
}

// DefaultMaxConnections is how many connections one server holds open at
// once unless told otherwise (--max-connections). Past it, new connections
// wait in the kernel's accept queue until one closes, so a flood of idle
// connections costs a bounded amount of memory. There is no per-address
// cap: behind a proxy or an ingress every caller shares one address.
const DefaultMaxConnections = 4096

// LimitConnections returns l serving at most n connections at once
// (golang.org/x/net/netutil.LimitListener).
func LimitConnections(l net.Listener, n int) net.Listener { return netutil.LimitListener(l, n) }

// IsLoopback reports whether a listen address's host is loopback
// (localhost, 127.0.0.0/8 or ::1), where serving without TLS, or serving
// the dev suite's one-machine keys and secrets, is safe.
func IsLoopback(addr string) (bool, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false, fmt.Errorf("address %q: %w", addr, err)
	}
	return egress.LoopbackHost(host), nil
}
