package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/tollgate-rpc/tollgate/interceptors/callcreds"
	"github.com/tollgate-rpc/tollgate/internal/devtls"
	"github.com/tollgate-rpc/tollgate/internal/securefile"
	"github.com/tollgate-rpc/tollgate/internal/suite"
)

func runToken(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newFlags("token", stdout, stderr)
	client := f.String("client", "", "dev client name from <data-dir>/dev.json (admin, reader, orders-service)")
	dataDir := f.String("data-dir", defaultDataDir, "data directory of a running `tollgate dev`")
	tokenURL := f.String("token-url", "", "token endpoint (instead of --client)")
	clientID := f.String("client-id", "", "client ID (instead of --client)")
	secretFile := f.String("client-secret-file", "", "file holding the client secret (instead of --client)")
	scope := f.String("scope", "", "space-separated scopes to request (default: the client's default scopes)")
	audience := f.String("audience", "", "audience to request (default: the client's default audience)")
	caFile := f.String("ca-file", "", "CA bundle to trust for the token endpoint (default: dev.json's, or system roots)")
	if err := f.parse(args); err != nil {
		return err
	}
	cfg := callcreds.Config{TokenURL: *tokenURL, ClientID: *clientID, Scopes: strings.Fields(*scope), Audience: *audience}
	switch {
	case *client != "" && (*clientID != "" || *secretFile != "" || *tokenURL != ""):
		return fmt.Errorf("%w: give either --client or --token-url, --client-id and --client-secret-file", errUsage)
	case *client != "":
		info, err := suite.ReadDevInfo(filepath.Join(*dataDir, "dev.json"))
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
	case *tokenURL == "" || *clientID == "" || *secretFile == "":
		return fmt.Errorf("%w: need --client, or all of --token-url, --client-id and --client-secret-file", errUsage)
	default:
		secret, err := securefile.Read(*secretFile)
		if err != nil {
			return fmt.Errorf("read client secret: %w", err)
		}
		cfg.ClientSecret = strings.TrimSpace(string(secret))
	}
	var tr suite.Transport
	if *caFile != "" {
		pool, err := devtls.LoadPool(*caFile)
		if err != nil {
			return fmt.Errorf("--ca-file: %w", err)
		}
		tr.RootCAs = pool
	}
	cfg.HTTPClient = tr.HTTPClient()
	src, err := callcreds.NewSource(cfg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	tok, err := src.Token(ctx)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, tok.Value)
	return err
}
