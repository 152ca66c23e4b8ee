// Package discovery reads an OAuth 2.0 authorization server's metadata: the
// OpenID Connect discovery document, or RFC 8414's. Tollgate's verifier
// finds an issuer's jwks_uri with it, and its callers the token_endpoint.
package discovery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/tollgate-rpc/tollgate/internal/egress"
)

// Metadata is the part of an authorization server's metadata Tollgate uses.
type Metadata struct {
	Issuer        string `json:"issuer"`
	JWKSURI       string `json:"jwks_uri"`
	TokenEndpoint string `json:"token_endpoint"`
	// RevocationFeed is Tollgate's extension: the feed of revoked tokens
	// verifiers follow. Other issuers have none.
	RevocationFeed string `json:"tollgate_revocation_feed_endpoint"`
}

// maxBytes bounds a metadata document.
const maxBytes = 256 << 10

// Locations returns where the metadata of issuer may be, in the order
// tried: OpenID Connect's (appended to the issuer), RFC 8414's (inserted
// between the host and the issuer's path), and RFC 8414's appended, which
// some servers use for issuers with a path.
func Locations(issuer string) []string {
	base := strings.TrimSuffix(issuer, "/")
	out := []string{base + "/.well-known/openid-configuration"}
	if u, err := url.Parse(base); err == nil && u.Path != "" {
		out = append(out, u.Scheme+"://"+u.Host+"/.well-known/oauth-authorization-server"+u.Path)
	}
	return append(out, base+"/.well-known/oauth-authorization-server")
}

// Fetch gets issuer's metadata from the first location that serves it, and
// checks that it names issuer exactly and that its endpoints do not drop
// the issuer's https. It follows redirects only within https.
func Fetch(ctx context.Context, client *http.Client, issuer string) (*Metadata, error) {
	client = egress.Secure(client)
	var errs []error
	for _, loc := range Locations(issuer) {
		body, err := get(ctx, client, loc)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		var m Metadata
		if err := json.Unmarshal(body, &m); err != nil {
			errs = append(errs, fmt.Errorf("decode %s: %w", loc, err))
			continue
		}
		if m.Issuer != issuer {
			return nil, fmt.Errorf("discovery %s: metadata names issuer %q, want %q", loc, m.Issuer, issuer)
		}
		for name, u := range map[string]string{"jwks_uri": m.JWKSURI, "token_endpoint": m.TokenEndpoint} {
			if u != "" && Downgrades(issuer, u) {
				return nil, fmt.Errorf("discovery %s: %s %s is not https although the issuer is: refusing what anyone on the path could replace", loc, name, u)
			}
		}
		return &m, nil
	}
	return nil, fmt.Errorf("no discovery document for issuer %s (tried %s): %w", issuer, strings.Join(Locations(issuer), ", "), errors.Join(errs...))
}

// SameOrigin reports whether u has the scheme, host and port of issuer.
func SameOrigin(issuer, u string) bool {
	a, err := url.Parse(issuer)
	if err != nil {
		return false
	}
	b, err := url.Parse(u)
	return err == nil && strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(a.Host, b.Host)
}

// Downgrades reports whether u drops the https of an https issuer.
func Downgrades(issuer, u string) bool {
	return strings.HasPrefix(strings.ToLower(issuer), "https://") && !strings.HasPrefix(strings.ToLower(u), "https://")
}

func get(ctx context.Context, client *http.Client, loc string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, loc, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", loc, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", loc, err)
	}
	if len(body) > maxBytes {
		return nil, fmt.Errorf("GET %s: larger than %d bytes", loc, maxBytes)
	}
	return body, nil
}
