package main

import (
	"crypto/tls"
	"fmt"
	"github.com/tollgate-rpc/tollgate/interceptors/callcreds"
	"golang.org/x/oauth2"
	"net"
	"strings"
	"time"

	"github.com/tollgate-rpc/tollgate/interceptors/verify"
	"github.com/tollgate-rpc/tollgate/internal/app/transport"
	"github.com/tollgate-rpc/tollgate/internal/app/trust"
	"github.com/tollgate-rpc/tollgate/internal/devtls"
)

// trustFlags adds the flags that say which issuers a service trusts: one by
// flags, or several in a trust file; the returned function resolves them.
func (f flags) trustFlags(audience string) func() ([]verify.Issuer, error) {
	issuerURL := f.String("issuer-url", "", "URL of the trusted token issuer, its exact iss (this or --trust-file is required)")
	audiences := f.String("audience", audience, "audiences tokens may name, comma-separated")
	jwksURL := f.String("jwks-url", "", "the issuer's JWKS URL (default: found by discovery)")
	profile := f.String("issuer-profile", "tollgate", "how the issuer shapes tokens: "+strings.Join(verify.ProfileNames(), ", "))
	allowJWT := f.Bool("allow-jwt-type", false, "also accept header typ JWT (default: the profile's)")
	scopeClaims := f.String("scope-claims", "", "claims carrying scopes, comma-separated, such as scope,permissions (default: the profile's)")
	clientIDClaims := f.String("client-id-claims", "", "claims naming the client, comma-separated, first present wins (default: the profile's)")
	trustFile := f.String("trust-file", "", "YAML file listing the trusted issuers (issuers: [{issuer, audiences, profile, …}])")
	return func() ([]verify.Issuer, error) {
		if *trustFile != "" {
			for _, name := range []string{"issuer-url", "jwks-url", "issuer-profile", "allow-jwt-type", "scope-claims", "client-id-claims"} {
				if f.given(name) {
					return nil, fmt.Errorf("%w: --trust-file and --%s together; put the issuer's settings in the file", errUsage, name)
				}
			}
			return trust.Load(*trustFile)
		}
		if *issuerURL == "" {
			return nil, fmt.Errorf("%w: --issuer-url (or TOLLGATE_ISSUER_URL) or --trust-file is required", errUsage)
		}
		spec := trust.Spec{Issuer: *issuerURL, JWKSURL: *jwksURL, Audiences: trust.SplitList(*audiences), Profile: *profile,
			ScopeClaims: trust.SplitList(*scopeClaims), ClientIDClaims: trust.SplitList(*clientIDClaims)}
		if f.given("allow-jwt-type") {
			spec.AllowJWTType = allowJWT
		}
		is, err := spec.Resolve()
		if err != nil {
			return nil, fmt.Errorf("%w: %v", errUsage, err)
		}
		return []verify.Issuer{is}, nil
	}
}

// transportFlags adds --tls-cert, --tls-key, --ca-file and
// --allow-plaintext, and returns a function that opens the listen address
// and builds the process's Transport. With a certificate the process serves
// TLS and dials TLS; without one it runs plaintext both ways, which is
// allowed on loopback and elsewhere only with --allow-plaintext.
func (f flags) transportFlags() func(addr string) (transport.Transport, net.Listener, error) {
	certFile := f.String("tls-cert", "", "TLS certificate chain to serve with (PEM)")
	keyFile := f.String("tls-key", "", "TLS private key (PEM)")
	caFile := f.String("ca-file", "", "CA bundle to trust when calling the issuer and other services (default: system roots)")
	allowPlaintext := f.Bool("allow-plaintext", false, "serve and call without TLS on a non-loopback address")
	maxConns := f.Int("max-connections", transport.DefaultMaxConnections, "connections served at once; more wait until one closes")
	return func(addr string) (transport.Transport, net.Listener, error) {
		var tr transport.Transport
		if *maxConns < 1 {
			return tr, nil, fmt.Errorf("%w: --max-connections %d: at least 1", errUsage, *maxConns)
		}
		if (*certFile == "") != (*keyFile == "") {
			return tr, nil, fmt.Errorf("%w: --tls-cert and --tls-key go together", errUsage)
		}
		if *certFile != "" {
			cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
			if err != nil {
				return tr, nil, fmt.Errorf("load TLS certificate: %w", err)
			}
			tr.ServerTLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		} else {
			tr.Plaintext = true
		}
		tr.RemotePlaintext = *allowPlaintext
		if *caFile != "" {
			pool, err := devtls.LoadPool(*caFile)
			if err != nil {
				return tr, nil, fmt.Errorf("--ca-file: %w", err)
			}
			tr.RootCAs = pool
		}
		loopback, err := transport.IsLoopback(addr)
		if err != nil {
			return tr, nil, fmt.Errorf("%w: %v", errUsage, err)
		}
		if tr.Plaintext && !loopback && !*allowPlaintext {
			return tr, nil, fmt.Errorf("%w: refusing to serve without TLS on non-loopback address %q; give --tls-cert and --tls-key, or --allow-plaintext to insist", errUsage, addr)
		}
		lis, err := net.Listen("tcp", addr)
		if err != nil {
			return tr, nil, fmt.Errorf("listen %s: %w", addr, err)
		}
		return tr, transport.LimitConnections(lis, *maxConns), nil
	}
}

// verifierFlags adds the token verifier's tunables.
func (f flags) verifierFlags() func() ([]verify.Option, error) {
	skew := f.Duration("clock-skew", 60*time.Second, fmt.Sprintf("allowed clock difference for exp, nbf and iat (0 to %s)", verify.MaxClockSkew))
	minRefresh := f.Duration("jwks-min-refresh", 30*time.Second, "shortest JWKS refresh interval, whatever the issuer's Cache-Control says")
	maxRefresh := f.Duration("jwks-max-refresh", time.Hour, "longest JWKS refresh interval")
	fetchTimeout := f.Duration("jwks-fetch-timeout", 10*time.Second, "give up on a discovery or JWKS fetch after this long")
	cooldown := f.Duration("jwks-unknown-kid-cooldown", 30*time.Second, "a token with an unknown kid refetches the JWKS at most this often")
	staleness := f.Duration("revocation-max-staleness", 0, fmt.Sprintf("refuse every token of an issuer whose revocation feed has not answered for this long (at least %s); 0, the default, keeps serving with the last revocations read (fail open)", verify.MinRevocationStaleness))
	return func() ([]verify.Option, error) {
		if *skew < 0 || *skew > verify.MaxClockSkew {
			return nil, fmt.Errorf("%w: --clock-skew %s: between 0 and %s", errUsage, *skew, verify.MaxClockSkew)
		}
		if d := *staleness; d != 0 && d < verify.MinRevocationStaleness {
			return nil, fmt.Errorf("%w: --revocation-max-staleness %s: 0 (off) or at least %s", errUsage, d, verify.MinRevocationStaleness)
		}
		return []verify.Option{verify.WithClockSkew(*skew), verify.WithRefreshBounds(*minRefresh, *maxRefresh),
			verify.WithFetchTimeout(*fetchTimeout), verify.WithUnknownKidCooldown(*cooldown),
			verify.WithRevocationMaxStaleness(*staleness)}, nil
	}
}

// callerFlags adds --audience-param and --client-auth, how a caller (orders,
// the token command) asks for its token; the returned function applies them
// to cfg.
func (f flags) callerFlags() func(cfg *callcreds.Config) error {
	audParam := f.String("audience-param", "audience", "how the audience is sent: audience, resource, both or none")
	clientAuth := f.String("client-auth", "basic", "client authentication: basic (client_secret_basic) or post (client_secret_post)")
	return func(cfg *callcreds.Config) error {
		ap, err := callcreds.ParseAudienceParam(*audParam)
		if err != nil {
			return fmt.Errorf("%w: --audience-param: %v", errUsage, err)
		}
		cfg.AudienceParam = ap
		cfg.AuthStyle, err = parseClientAuth(*clientAuth)
		return err
	}
}

// parseClientAuth reads --client-auth.
func parseClientAuth(v string) (oauth2.AuthStyle, error) {
	switch v {
	case "basic":
		return oauth2.AuthStyleInHeader, nil
	case "post":
		return oauth2.AuthStyleInParams, nil
	}
	return 0, fmt.Errorf("%w: --client-auth %q: use basic or post", errUsage, v)
}
