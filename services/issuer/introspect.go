package issuer

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// ownToken returns the claims of a token this issuer signed with a key it
// still publishes, whatever its expiry; ok is false for anything else.
func (s *Server) ownToken(token string) (c accessClaims, ok bool) {
	if token == "" || len(token) > maxRequestBytes {
		return c, false
	}
	set, err := jwk.Parse(s.keys.JWKS())
	if err != nil {
		return c, false
	}
	payload, err := jws.Verify([]byte(token), jws.WithKeySet(set, jws.WithRequireKid(true)))
	if err != nil {
		return c, false
	}
	if err := json.Unmarshal(payload, &c); err != nil || c.Issuer != s.cfg.Issuer || c.ID == "" {
		return accessClaims{}, false
	}
	return c, true
}

// revokedClaims reports whether the issuer's revocations cover c.
func (s *Server) revokedClaims(c accessClaims) bool {
	if c.IssuedAt < s.revoked.clientRevokedBefore(c.ClientID) {
		return true
	}
	return s.revoked.tokenRevoked(c.ID)
}

// endpointClient parses a revocation or introspection request and
// authenticates its client as the token endpoint does.
func (s *Server) endpointClient(w http.ResponseWriter, r *http.Request) (*tokenRequest, *Client, *oauthError) {
	start := s.now()
	req, oerr := parseTokenRequest(w, r)
	if oerr != nil {
		return nil, nil, oerr
	}
	if s.stale(start) > 0 {
		return nil, nil, errStale
	}
	client, oerr := s.authenticateThrottled(r.Context(), sourceAddr(r), req, start)
	if oerr != nil {
		return nil, nil, oerr
	}
	return req, client, nil
}

// handleRevoke is RFC 7009 token revocation: a client revokes a token it
// was issued. An unknown, foreign or expired token is answered 200 and
// nothing is stored, as §2.2 asks; a token issued to another client is
// refused.
func (s *Server) handleRevoke(w http.ResponseWriter, r *http.Request) {
	req, client, oerr := s.endpointClient(w, r)
	if oerr == nil && req.token == "" {
		oerr = errInvalidRequest.withDesc("missing token")
	}
	if oerr != nil {
		writeOAuthError(w, oerr)
		return
	}
	now := s.now()
	c, ok := s.ownToken(req.token)
	switch {
	case !ok || c.Expires < now.Unix():
	case c.ClientID != client.ID:
		writeOAuthError(w, errUnauthorizedClient.withDesc("the token was issued to another client"))
		return
	default:
		ctx, cancel := context.WithTimeout(r.Context(), StoreTimeout)
		defer cancel()
		if err := s.store.Revoke(ctx, []Revocation{TokenRevocation(c.ClientID, c.ID, time.Unix(c.Expires, 0))}, now); err != nil {
			s.log.Error("cannot store a revocation", slog.String("client_id", client.ID), slog.Any("error", err))
			writeOAuthError(w, errTemporarilyUnavailable.withDesc("the revocation could not be stored; try again").withRetryAfter(time.Second))
			return
		}
		// This replica's feed tells its followers at once; the others
		// read it at their next poll.
		if err := s.pollRevocations(ctx); err != nil {
			s.log.Warn("cannot read revocations back", slog.Any("error", err))
		}
		s.log.Info("token revoked", slog.String("client_id", client.ID), slog.String("jti", c.ID))
	}
	noStore(w)
	w.WriteHeader(http.StatusOK)
}

// introspection is an RFC 7662 §2.2 answer for an active token.
type introspection struct {
	Active    bool     `json:"active"`
	Scope     string   `json:"scope,omitempty"`
	ClientID  string   `json:"client_id,omitempty"`
	TokenType string   `json:"token_type,omitempty"`
	Expires   int64    `json:"exp,omitempty"`
	IssuedAt  int64    `json:"iat,omitempty"`
	NotBefore int64    `json:"nbf,omitempty"`
	Subject   string   `json:"sub,omitempty"`
	Audience  []string `json:"aud,omitempty"`
	Issuer    string   `json:"iss,omitempty"`
	ID        string   `json:"jti,omitempty"`
}

// handleIntrospect is RFC 7662 token introspection, for clients the
// registry allows (Client.Introspect): active with the token's claims, or
// only active false for a token that is revoked, expired, not yet valid,
// not this issuer's, or whose client is disabled or gone.
func (s *Server) handleIntrospect(w http.ResponseWriter, r *http.Request) {
	req, client, oerr := s.endpointClient(w, r)
	switch {
	case oerr != nil:
	case !client.Introspect:
		oerr = errUnauthorizedClient.withStatus(http.StatusForbidden).withDesc("client may not introspect tokens")
	case req.token == "":
		oerr = errInvalidRequest.withDesc("missing token")
	}
	if oerr != nil {
		writeOAuthError(w, oerr)
		return
	}
	noStore(w)
	now := s.now().Unix()
	c, ok := s.ownToken(req.token)
	owner, registered := s.clients.Lookup(c.ClientID)
	if !ok || c.Expires < now || c.NotBefore > now || !registered || owner.Disabled || s.revokedClaims(c) {
		writeJSON(w, http.StatusOK, introspection{Active: false})
		return
	}
	writeJSON(w, http.StatusOK, introspection{Active: true, Scope: c.Scope, ClientID: c.ClientID, TokenType: "Bearer",
		Expires: c.Expires, IssuedAt: c.IssuedAt, NotBefore: c.NotBefore, Subject: c.Subject,
		Audience: c.Audience, Issuer: c.Issuer, ID: c.ID})
}

// RevocationEndpoint and IntrospectionEndpoint return the RFC 7009 and
// RFC 7662 endpoints' URLs.
func (s *Server) RevocationEndpoint() string    { return s.cfg.Issuer + "/oauth/revoke" }
func (s *Server) IntrospectionEndpoint() string { return s.cfg.Issuer + "/oauth/introspect" }
