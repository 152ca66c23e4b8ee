package verify

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwt"
)

// Claims is what a verified access token says. A *Claims returned by
// [Verifier.Verify] may be shared between calls that present the same token:
// treat it as read-only.
type Claims struct {
	Issuer    string
	Subject   string
	ClientID  string
	Audience  []string
	Scopes    []string // normalised: sorted, without duplicates
	TokenID   string
	Expiry    time.Time
	IssuedAt  time.Time
	NotBefore time.Time
	// Raw holds every claim of the token as decoded JSON.
	Raw map[string]any
}

// HasScope reports whether the token grants scope.
func (c *Claims) HasScope(scope string) bool {
	_, found := slices.BinarySearch(c.Scopes, scope)
	return found
}

// MissingScopes returns the scopes of want that the token does not grant, or
// nil when it grants them all.
func (c *Claims) MissingScopes(want []string) []string {
	var missing []string
	for _, s := range want {
		if !c.HasScope(s) {
			missing = append(missing, s)
		}
	}
	return missing
}

// Scope claim names understood by [Issuer.ScopeClaims].
const (
	ScopeClaim       = "scope"       // RFC 9068 / RFC 8693: space-delimited string
	ScpClaim         = "scp"         // Okta and Entra ID: array (or string)
	PermissionsClaim = "permissions" // Auth0 RBAC: array
)

func newClaims(tok jwt.Token, scopeClaims []string) (*Claims, error) {
	raw, err := tok.AsMap(context.Background())
	if err != nil {
		return nil, err
	}
	c := &Claims{
		Issuer:    tok.Issuer(),
		Subject:   tok.Subject(),
		Audience:  tok.Audience(),
		TokenID:   tok.JwtID(),
		Expiry:    tok.Expiration(),
		IssuedAt:  tok.IssuedAt(),
		NotBefore: tok.NotBefore(),
		Raw:       raw,
	}
	// RFC 9068 puts the client in client_id; Auth0 uses azp, Entra ID appid.
	for _, name := range []string{"client_id", "azp", "appid"} {
		if s, ok := raw[name].(string); ok && s != "" {
			c.ClientID = s
			break
		}
	}
	for _, name := range scopeClaims {
		c.Scopes = appendScopes(c.Scopes, raw[name])
	}
	slices.Sort(c.Scopes)
	c.Scopes = slices.Compact(c.Scopes)
	return c, nil
}

// appendScopes adds the scopes of one claim value, which may be a
// space-delimited string or an array of strings. Other shapes add nothing.
func appendScopes(dst []string, v any) []string {
	switch v := v.(type) {
	case string:
		return append(dst, strings.Fields(v)...)
	case []any:
		for _, e := range v {
			if s, ok := e.(string); ok && s != "" && !strings.ContainsAny(s, " \t\r\n") {
				dst = append(dst, s)
			}
		}
	case []string:
		for _, s := range v {
			dst = appendScopes(dst, s)
		}
	}
	return dst
}
