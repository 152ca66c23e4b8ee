package main

import (
	"context"
	"crypto/tls"
	"io"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/tollgate-rpc/tollgate/internal/app/metrics"
	"github.com/tollgate-rpc/tollgate/internal/app/serving"
	"github.com/tollgate-rpc/tollgate/services/issuer"
)

// issuerCommands are the issuer's subcommands; without one, the issuer
// serves.
var issuerCommands = map[string]command{"keys": runIssuerKeys, "migrate": runIssuerMigrate}

// runIssuer runs the token issuer, or one of issuerCommands.
func runIssuer(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		if sub, ok := issuerCommands[args[0]]; ok {
			return sub(ctx, args[1:], stdout, stderr)
		}
	}
	f := newFlags("issuer", stdout, stderr)
	addr := f.String("addr", "127.0.0.1:8400", "listen address")
	issuerURL := f.String("issuer-url", "", "issuer URL put in tokens and discovery (default http(s)://<addr>)")
	openStore := f.storeFlags("directory for keys.json, clients.json and assertions.db", true)
	alg := f.String("algorithm", "ES256", "signing algorithm for new keys: ES256, RS256 or EdDSA")
	maxAge := f.Duration("jwks-max-age", issuer.DefaultJWKSMaxAge, "JWKS Cache-Control max-age; new keys are published twice this long before use")
	rotation := f.Duration("key-rotation", issuer.DefaultRotationInterval, "signing key rotation interval (negative: never)")
	adminAddr := f.String("admin-addr", "", "admin listener for /metrics (empty: none)")
	advertise := f.String("advertise-scopes", "", "space-separated scopes that discovery lists in scopes_supported (default: none)")
	transport := f.transportFlags()
	newLogger := f.logFlags()
	if err := f.parse(args); err != nil {
		return err
	}
	log, err := newLogger(stderr)
	if err != nil {
		return err
	}
	log = log.With("service", "issuer") // TLS handshake warnings included
	warnIfVulnerableGo(log)
	tr, lis, err := transport(*addr)
	if err != nil {
		return err
	}
	url := *issuerURL
	if url == "" {
		url = tr.Scheme() + "://" + lis.Addr().String()
	}
	m := metrics.New()
	store, err := openStore(ctx)
	if err != nil {
		lis.Close()
		return err
	}
	defer store.Close()
	iss, err := issuer.New(issuer.Config{Issuer: url, Store: store, Algorithm: jwa.SignatureAlgorithm(*alg),
		JWKSMaxAge: *maxAge, RotationInterval: *rotation, AdvertiseScopes: strings.Fields(*advertise),
		Logger: log, Observe: func(e issuer.TokenEvent) { m.TokenRequest(e.ClientID, e.Outcome, e.Duration) }})
	if err != nil {
		lis.Close()
		return err
	}
	defer iss.Close()
	m.WatchKeySchedule(iss.KeyTimes)
	go iss.Watch(ctx, issuer.WatchInterval)
	go iss.RunKeyRotation(ctx, time.Minute)
	if tr.ServerTLS != nil {
		lis = tls.NewListener(lis, tr.ServerTLS)
	}
	return withAdmin(ctx, log, *adminAddr, m, iss.Ready, func(ctx context.Context) error {
		return serving.ServeHTTP(ctx, log, "issuer", lis, serving.NewIssuerServer(iss, log))
	})
}
