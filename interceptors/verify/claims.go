package verify

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
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

// newClaims reads the registered claims from a decoded claims object. A
// registered claim of the wrong JSON type is an error, not a silent zero.
func newClaims(raw map[string]any) (*Claims, error) {
	c := &Claims{Raw: raw}
	var err error
	str := func(name string) string {
		v, ok := raw[name]
		if !ok || err != nil {
			return ""
		}
		s, ok := v.(string)
		if !ok {
			err = fmt.Errorf("claim %s is not a string", name)
		}
		return s
	}
	date := func(name string) time.Time {
		v, ok := raw[name]
		if !ok || err != nil {
			return time.Time{}
		}
		f, ok := v.(float64)
		if !ok || f < 0 || f > 1<<40 {
			err = fmt.Errorf("claim %s is not a NumericDate", name)
			return time.Time{}
		}
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(frac*1e9))
	}
	c.Issuer, c.Subject, c.TokenID = str("iss"), str("sub"), str("jti")
	c.Expiry, c.NotBefore, c.IssuedAt = date("exp"), date("nbf"), date("iat")
	switch aud := raw["aud"].(type) {
	case nil:
	case string:
		c.Audience = []string{aud}
	case []any:
		for _, a := range aud {
			s, ok := a.(string)
			if !ok {
				return nil, errors.New("claim aud holds a non-string")
			}
			c.Audience = append(c.Audience, s)
		}
	default:
		return nil, errors.New("claim aud is not a string or an array")
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

// clientIDOf returns the first non-empty string among the named claims.
func clientIDOf(raw map[string]any, names []string) string {
	for _, name := range names {
		if s, ok := raw[name].(string); ok && s != "" {
			return s
		}
	}
	return ""
}

// scopesOf merges the scopes of the named claims into one sorted set.
func scopesOf(raw map[string]any, scopeClaims []string) []string {
	var scopes []string
	for _, name := range scopeClaims {
		scopes = appendScopes(scopes, raw[name])
	}
	slices.Sort(scopes)
	return slices.Compact(scopes)
}

// appendScopes adds the scopes of one decoded claim value, which may be a
// space-delimited string or an array of strings (JSON arrays decode to
// []any). Other shapes add nothing.
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
	}
	return dst
}
