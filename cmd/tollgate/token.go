package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/tollgate-rpc/tollgate/interceptors/callcreds"
	"github.com/tollgate-rpc/tollgate/internal/app/devsuite"
	"github.com/tollgate-rpc/tollgate/internal/app/transport"
	"github.com/tollgate-rpc/tollgate/internal/devtls"
)

func runToken(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "revoke" {
		return runTokenRevoke(ctx, args[1:], stdout, stderr)
	}
	f := newFlags("token", stdout, stderr)
	client := f.String("client", "", "dev client name from <data-dir>/dev.json (admin, reader, orders-service)")
	dataDir := f.String("data-dir", defaultDataDir, "data directory of a running tollgate dev")
	tokenURL := f.String("token-url", "", "token endpoint (instead of --client; default: found by discovery from --issuer-url)")
	issuerURL := f.String("issuer-url", "", "issuer whose token endpoint discovery finds (instead of --token-url)")
	asCaller := f.callerFlags()
	clientID := f.String("client-id", "", "client ID (instead of --client)")
	secretFile := f.String("client-secret-file", "", "file holding the client secret (instead of --client)")
	scope := f.String("scope", "", "space-separated scopes to request (default: the client's default scopes)")
	audience := f.String("audience", "", "audience to request (default: the client's default audience)")
	caFile := f.String("ca-file", "", "CA bundle to trust for the token endpoint (default: dev.json's, or system roots)")
	allowPlaintext := f.Bool("allow-plaintext", false, "send the client secret over plain http to a host that is not loopback")
	if err := f.parse(args); err != nil {
		return err
	}
	cfg := callcreds.Config{TokenURL: *tokenURL, ClientID: *clientID, Scopes: strings.Fields(*scope), Audience: *audience}
	err := asCaller(&cfg)
	if err != nil {
		return err
	}
	switch {
	case *client != "" && (*clientID != "" || *secretFile != "" || *tokenURL != "" || *issuerURL != ""):
		return fmt.Errorf("%w: give either --client or --token-url (or --issuer-url), --client-id and --client-secret-file", errUsage)
	case *tokenURL != "" && *issuerURL != "":
		return fmt.Errorf("%w: --token-url and --issuer-url together; give one", errUsage)
	case *client != "":
		info, err := devsuite.ReadInfo(filepath.Join(*dataDir, "dev.json"))
		if err != nil {
			return fmt.Errorf("read dev clients (is `tollgate dev` running with --data-dir %s?): %w", *dataDir, err)
		}
		c, ok := info.Client(*client)
		if !ok {
			names := make([]string, len(info.Clients))
			for i, c := range info.Clients {
				names[i] = c.Name
			}
			return fmt.Errorf("%w: no dev client named %q (the dev clients: %s)", errUsage, *client, strings.Join(names, ", "))
		}
		cfg.TokenURL, cfg.ClientID, cfg.ClientSecret = info.TokenEndpoint, c.ClientID, c.ClientSecret
		if *caFile == "" {
			*caFile = info.CAFile
		}
	case (*tokenURL == "" && *issuerURL == "") || *clientID == "":
		return fmt.Errorf("%w: need --client, or --token-url (or --issuer-url), --client-id and --client-secret-file", errUsage)
	default:
		if cfg.ClientSecret, err = clientSecret(*secretFile); err != nil {
			return err
		}
	}
	tr := transport.Transport{RemotePlaintext: *allowPlaintext}
	cfg.AllowPlaintext = *allowPlaintext
	for name, u := range map[string]string{"--issuer-url": *issuerURL, "--token-url": cfg.TokenURL} {
		if u == "" {
			continue
		}
		if err := tr.CheckURL(name, u); err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
	}
	if *caFile != "" {
		pool, err := devtls.LoadPool(*caFile)
		if err != nil {
			return fmt.Errorf("--ca-file: %w", err)
		}
		tr.RootCAs = pool
	}
	cfg.HTTPClient = tr.HTTPClient()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if cfg.TokenURL == "" {
		if cfg.TokenURL, err = callcreds.Discover(ctx, cfg.HTTPClient, *issuerURL); err != nil {
			return err
		}
	}
	src, err := callcreds.NewSource(cfg)
	if err != nil {
		return err
	}
	tok, err := src.Token(ctx)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, tok.Value)
	return err
}
