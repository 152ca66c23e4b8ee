package interceptors

import (
	"context"
	"strings"

	"google.golang.org/grpc/metadata"
)

// bearerToken returns the token of the call's single `authorization:
// Bearer` metadata value, matching the scheme case-insensitively. Its
// syntax is not checked yet: see checkToken68.
func bearerToken(ctx context.Context) (string, error) {
	// ValueFromIncomingContext copies only this key's values, not the whole
	// metadata map as FromIncomingContext does.
	vals := metadata.ValueFromIncomingContext(ctx, "authorization")
	switch len(vals) {
	case 0:
		return "", errMissingToken
	case 1:
	default:
		return "", errManyTokens
	}
	scheme, token, ok := strings.Cut(vals[0], " ")
	if !ok || !strings.EqualFold(scheme, "bearer") {
		return "", errNotBearer
	}
	return token, nil
}

// checkToken68 refuses a token that is not RFC 6750 token68 syntax.
func checkToken68(token string) error {
	if !isToken68(token) {
		return errMalformedBearer
	}
	return nil
}

// isToken68 reports whether s is 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" /
// "+" / "/" ) *"=".
func isToken68(s string) bool {
	i := 0
	for ; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/' {
			continue
		}
		break
	}
	if i == 0 {
		return false
	}
	for ; i < len(s); i++ {
		if s[i] != '=' {
			return false
		}
	}
	return true
}
