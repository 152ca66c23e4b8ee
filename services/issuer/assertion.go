package issuer

import (
	"context"
	"log/slog"
	"slices"
	"time"

	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"
)

// maxAssertionLifetime bounds how far in the future a client assertion's exp
// may be, so that the replay cache stays small.
const maxAssertionLifetime = 10 * time.Minute

// assertionSkew is the clock skew allowed on an assertion's exp, nbf and iat.
// Its jti is remembered until exp plus this, the last moment it validates.
const assertionSkew = 30 * time.Second

// authenticateAssertion checks a private_key_jwt client assertion (RFC 7523
// §3, OpenID Connect Core §9): signed by a key the client registered, iss and
// sub naming the client, aud naming this issuer or its token endpoint, a
// short exp, and a jti never seen before.
func (s *Server) authenticateAssertion(ctx context.Context, req *tokenRequest) (*Client, *oauthError) {
	if req.assertionType != assertionTypeJWT {
		return nil, errInvalidRequest.withDesc("client_assertion_type must be " + assertionTypeJWT)
	}
	if req.assertion == "" {
		return nil, errInvalidRequest.withDesc("missing client_assertion")
	}
	unverified, err := jwt.ParseInsecure([]byte(req.assertion))
	if err != nil {
		return nil, errInvalidClient
	}
	id := unverified.Issuer()
	if req.clientID != "" && req.clientID != id {
		return nil, errInvalidClient
	}
	c, ok := s.clients.Lookup(id)
	if !ok {
		return nil, errInvalidClient
	}
	msg, err := jws.Parse([]byte(req.assertion))
	if err != nil || len(msg.Signatures()) != 1 {
		return nil, errInvalidClient
	}
	set, err := s.clientKeys(c, msg.Signatures()[0].ProtectedHeaders().KeyID())
	if err != nil {
		s.log.Warn("client keys unavailable", slog.String("client_id", c.ID), slog.Any("error", err))
		return nil, errInvalidClient
	}
	now := s.now()
	tok, err := jwt.Parse([]byte(req.assertion),
		jwt.WithKeySet(set, jws.WithInferAlgorithmFromKey(true)),
		jwt.WithClock(jwt.ClockFunc(func() time.Time { return now })),
		jwt.WithAcceptableSkew(assertionSkew),
		jwt.WithIssuer(id),
		jwt.WithSubject(id),
		jwt.WithRequiredClaim(jwt.ExpirationKey),
		jwt.WithRequiredClaim(jwt.JwtIDKey),
	)
	if err != nil {
		return nil, errInvalidClient
	}
	if !slices.ContainsFunc(tok.Audience(), func(a string) bool { return a == s.cfg.Issuer || a == s.TokenEndpoint() }) {
		return nil, errInvalidClient
	}
	if tok.JwtID() == "" {
		return nil, errInvalidClient.withDesc("client assertion has an empty jti")
	}
	if tok.Expiration().After(now.Add(maxAssertionLifetime)) {
		return nil, errInvalidClient.withDesc("client assertion lives longer than 10 minutes")
	}
	// Remembered in the store until the last moment it validates, so that
	// neither a restart nor another replica accepts it again; refused when
	// it cannot be remembered.
	first, err := s.store.UseAssertion(ctx, id, tok.JwtID(), tok.Expiration().Add(assertionSkew), now)
	if err != nil {
		s.log.Error("cannot record a client assertion; refusing it", slog.String("client_id", id), slog.Any("error", err))
		return nil, errTemporarilyUnavailable.withDesc("cannot record the client assertion; try again later")
	}
	if !first {
		return nil, errInvalidClient.withDesc("client assertion already used")
	}
	if c.Disabled {
		return nil, errUnauthorizedClient.withDesc("client is disabled")
	}
	return c, nil
}
