package callcreds

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jwt"
	"github.com/tollgate-rpc/tollgate/internal/discovery"
	"github.com/tollgate-rpc/tollgate/internal/egress"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// Config says where and how to get tokens.
type Config struct {
	// TokenURL is the issuer's token endpoint.
	TokenURL string
	// Issuer, when TokenURL is empty, is the issuer whose token endpoint
	// discovery finds (OpenID Connect, then RFC 8414) at the first token
	// request, and again at the next one after a failed discovery: a
	// caller starts before its issuer answers, and waits for it as for a
	// token.
	Issuer string
	// ClientID identifies the caller.
	ClientID string
	// ClientSecret authenticates the caller; leave empty when PrivateKey is set.
	ClientSecret string
	// PrivateKey, a private JWK with a key ID, authenticates the caller with
	// a fresh private_key_jwt assertion per token request instead of a secret.
	PrivateKey jwk.Key
	// Scopes to request; empty asks for the client's default scopes.
	Scopes []string
	// Audience to request; empty asks for the client's default audience.
	Audience string
	// AudienceParam says how Audience is sent: AudienceParamAudience
	// (Auth0's `audience`, the default), AudienceParamResource (RFC 8707's
	// `resource`), AudienceParamBoth, or AudienceParamNone (Entra ID's v2
	// endpoint refuses `resource` and names the API in Scopes instead, as
	// api://<app>/.default).
	AudienceParam AudienceParam
	// AuthStyle selects client_secret_basic (oauth2.AuthStyleInHeader, the
	// default here) or client_secret_post (oauth2.AuthStyleInParams).
	AuthStyle oauth2.AuthStyle
	// HTTPClient makes the token requests; nil means a client with sane
	// timeouts. Set it to trust a private CA. Whatever its redirect policy,
	// a token request is never redirected: it carries the client's
	// credentials, and RFC 6749 has no redirects at the token endpoint.
	HTTPClient *http.Client
	// AllowPlaintext accepts an http TokenURL on a host that is not
	// loopback, sending the client's credentials in the clear. Without it
	// such a URL is refused; http to loopback is always accepted.
	AllowPlaintext bool
}

// AudienceParam is how a token request names the audience.
type AudienceParam string

// The ways of sending Config.Audience.
const (
	AudienceParamAudience AudienceParam = "audience"
	AudienceParamResource AudienceParam = "resource"
	AudienceParamBoth     AudienceParam = "both"
	AudienceParamNone     AudienceParam = "none"
)

// ParseAudienceParam reads an AudienceParam by name.
func ParseAudienceParam(s string) (AudienceParam, error) {
	switch p := AudienceParam(s); p {
	case AudienceParamAudience, AudienceParamResource, AudienceParamBoth, AudienceParamNone:
		return p, nil
	}
	return "", fmt.Errorf("audience parameter %q: use audience, resource, both or none", s)
}

// Discover finds the token endpoint of issuer from its metadata (OpenID
// Connect discovery, then RFC 8414). An endpoint that drops the issuer's
// https is refused.
func Discover(ctx context.Context, client *http.Client, issuer string) (string, error) {
	m, err := discovery.Fetch(ctx, client, issuer)
	if err != nil {
		return "", err
	}
	if m.TokenEndpoint == "" {
		return "", fmt.Errorf("discovery of %s: no token_endpoint", issuer)
	}
	return m.TokenEndpoint, nil
}

// fetcher gets one fresh token.
type fetcher func(ctx context.Context) (*oauth2.Token, error)

func (c Config) fetcher() (fetcher, error) {
	if c.TokenURL == "" && c.Issuer != "" {
		return c.discoveringFetcher()
	}
	switch {
	case c.TokenURL == "":
		return nil, errors.New("callcreds: no token URL (or issuer to discover it from)")
	case c.ClientID == "":
		return nil, errors.New("callcreds: no client ID")
	case c.ClientSecret != "" && c.PrivateKey != nil:
		return nil, errors.New("callcreds: both a client secret and a private key given; choose one")
	case c.ClientSecret == "" && c.PrivateKey == nil:
		return nil, errors.New("callcreds: no client secret or private key")
	}
	if err := egress.CheckURL("token URL", c.TokenURL, c.AllowPlaintext); errors.Is(err, egress.ErrPlaintext) {
		return nil, fmt.Errorf("callcreds: %w; Config.AllowPlaintext opts in", err)
	} else if err != nil {
		return nil, fmt.Errorf("callcreds: %w", err)
	}
	params := url.Values{}
	ap := c.AudienceParam
	if ap == "" {
		ap = AudienceParamAudience
	}
	if _, err := ParseAudienceParam(string(ap)); err != nil {
		return nil, fmt.Errorf("callcreds: %w", err)
	}
	if c.Audience != "" && (ap == AudienceParamAudience || ap == AudienceParamBoth) {
		params.Set("audience", c.Audience)
	}
	if c.Audience != "" && (ap == AudienceParamResource || ap == AudienceParamBoth) {
		params.Set("resource", c.Audience)
	}
	hc := &http.Client{Timeout: 30 * time.Second, CheckRedirect: egress.NoRedirect}
	if c.HTTPClient != nil {
		hc = egress.NoRedirects(c.HTTPClient)
	}
	if c.PrivateKey != nil {
		if c.PrivateKey.KeyID() == "" {
			return nil, errors.New("callcreds: private key has no key ID")
		}
		return func(ctx context.Context) (*oauth2.Token, error) {
			assertion, err := c.assertion()
			if err != nil {
				return nil, err
			}
			p := cloneValues(params)
			p.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
			p.Set("client_assertion", assertion)
			cc := clientcredentials.Config{ClientID: c.ClientID, TokenURL: c.TokenURL, Scopes: c.Scopes,
				EndpointParams: p, AuthStyle: oauth2.AuthStyleInParams}
			return cc.Token(context.WithValue(ctx, oauth2.HTTPClient, hc))
		}, nil
	}
	style := c.AuthStyle
	if style == oauth2.AuthStyleAutoDetect {
		style = oauth2.AuthStyleInHeader
	}
	cc := clientcredentials.Config{ClientID: c.ClientID, ClientSecret: c.ClientSecret, TokenURL: c.TokenURL,
		Scopes: c.Scopes, EndpointParams: params, AuthStyle: style}
	return func(ctx context.Context) (*oauth2.Token, error) {
		return cc.Token(context.WithValue(ctx, oauth2.HTTPClient, hc))
	}, nil
}

// discoveringFetcher finds the token endpoint under c.Issuer at the first
// fetch (again after a failed discovery) and then fetches as a Config with
// that TokenURL would, with the same rules for the URL.
func (c Config) discoveringFetcher() (fetcher, error) {
	probe := c
	probe.TokenURL = c.Issuer // every other field is checked now, not at the first fetch
	if _, err := probe.fetcher(); err != nil {
		return nil, err
	}
	hc := &http.Client{Timeout: 30 * time.Second, CheckRedirect: egress.HTTPSOnly}
	if c.HTTPClient != nil {
		hc = egress.Secure(c.HTTPClient)
	}
	var mu sync.Mutex
	var found fetcher
	return func(ctx context.Context) (*oauth2.Token, error) {
		mu.Lock()
		f := found
		mu.Unlock()
		if f == nil {
			endpoint, err := Discover(ctx, hc, c.Issuer)
			if err != nil {
				return nil, fmt.Errorf("find the token endpoint of %s: %w", c.Issuer, err)
			}
			with := c
			with.TokenURL = endpoint
			if f, err = with.fetcher(); err != nil {
				return nil, fmt.Errorf("the token endpoint discovery found: %w", err)
			}
			mu.Lock()
			found = f
			mu.Unlock()
		}
		return f(ctx)
	}, nil
}

// assertion signs an RFC 7523 client assertion: iss and sub are the client,
// aud the token endpoint, valid for one minute, with a unique jti.
func (c Config) assertion() (string, error) {
	var jti [16]byte
	if _, err := rand.Read(jti[:]); err != nil {
		return "", err
	}
	now := time.Now()
	tok, err := jwt.NewBuilder().Issuer(c.ClientID).Subject(c.ClientID).Audience([]string{c.TokenURL}).
		IssuedAt(now).Expiration(now.Add(time.Minute)).JwtID(base64.RawURLEncoding.EncodeToString(jti[:])).Build()
	if err != nil {
		return "", err
	}
	alg := jwa.ES256
	if a := c.PrivateKey.Algorithm(); a != nil && a.String() != "" {
		alg = jwa.SignatureAlgorithm(a.String())
	} else if c.PrivateKey.KeyType() == jwa.RSA {
		alg = jwa.RS256
	} else if c.PrivateKey.KeyType() == jwa.OKP {
		alg = jwa.EdDSA
	}
	signed, err := jwt.Sign(tok, jwt.WithKey(alg, c.PrivateKey))
	if err != nil {
		return "", fmt.Errorf("sign client assertion: %w", err)
	}
	return string(signed), nil
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v)+2)
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// describe turns a token endpoint failure into an error naming the endpoint
// and the OAuth error code and description, never the raw response body
// (which a broken server might fill with anything).
func describe(endpoint string, err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		code := re.ErrorCode
		if code == "" {
			code = "no error code"
		}
		status := ""
		if re.Response != nil {
			status = re.Response.Status + ", "
		}
		if re.ErrorDescription != "" {
			code += " (" + re.ErrorDescription + ")"
		}
		return fmt.Errorf("%s refused: %s%s", endpoint, status, code)
	}
	return fmt.Errorf("%s: %w", endpoint, err)
}
