package issuer

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"
)

// tokenResponse is the RFC 6749 §5.1 success response.
type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
	Scope       string `json:"scope,omitempty"`
}

func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	start := s.now()
	addr := sourceAddr(r)
	req, oerr := parseTokenRequest(w, r)
	var client *Client
	if oerr == nil && s.stale(start) > 0 {
		oerr = errStale
	}
	if oerr == nil {
		oerr = checkGrant(req)
	}
	if oerr == nil {
		client, oerr = s.authenticateThrottled(r.Context(), addr, req, start)
	}
	var resp *tokenResponse
	if oerr == nil {
		resp, oerr = s.issue(client, req, start)
	}
	clientID := ""
	if client != nil {
		clientID = client.ID // only registered IDs are logged
	} else if req != nil {
		if _, known := s.clients.Lookup(req.clientID); known {
			clientID = req.clientID
		}
	}
	if s.cfg.Observe != nil {
		outcome := "issued"
		if oerr != nil {
			outcome = oerr.Code
		}
		s.cfg.Observe(TokenEvent{ClientID: clientID, Outcome: outcome, Duration: s.now().Sub(start)})
	}
	if oerr != nil {
		s.log.Info("token request refused", slog.String("client_id", clientID), slog.String("error", oerr.Code),
			slog.String("remote", r.RemoteAddr), slog.Duration("duration", s.now().Sub(start)))
		writeOAuthError(w, oerr)
		return
	}
	s.log.Debug("token issued", slog.String("client_id", clientID), slog.String("scope", resp.Scope),
		slog.Duration("duration", s.now().Sub(start)))
	noStore(w)
	writeJSON(w, http.StatusOK, resp)
}

// checkGrant checks a token request's grant type.
func checkGrant(req *tokenRequest) *oauthError {
	if req.grantType == "" {
		return errInvalidRequest.withDesc("missing grant_type")
	}
	if req.grantType != "client_credentials" {
		return errUnsupportedGrantType.withDesc("only client_credentials is supported")
	}
	return nil
}

// authenticateThrottled checks the client's credentials, spending the
// failed-authentication budget of addr and the client on a failure.
func (s *Server) authenticateThrottled(ctx context.Context, addr string, req *tokenRequest, start time.Time) (*Client, *oauthError) {
	budget := s.limiter.begin(addr, req.clientID, start)
	client, oerr := s.authenticate(ctx, req)
	if oerr != nil && oerr.Is(errInvalidClient) {
		return nil, budget.failed(oerr)
	}
	budget.succeeded(s.now())
	return client, oerr
}

// authenticate checks the client's credentials: a secret or an assertion.
func (s *Server) authenticate(ctx context.Context, req *tokenRequest) (*Client, *oauthError) {
	if req.assertion != "" || req.assertionType != "" {
		if req.clientSecret != "" {
			return nil, errInvalidRequest.withDesc("more than one client authentication method")
		}
		return s.authenticateAssertion(ctx, req)
	}
	if req.clientID == "" {
		return nil, errInvalidClient.withDesc("no client authentication").withBasic(true)
	}
	c, ok := s.clients.Lookup(req.clientID)
	if !ok || req.clientSecret == "" || !c.checkSecret(req.clientSecret, s.now()) {
		return nil, errInvalidClient.withBasic(req.basic)
	}
	if c.Disabled {
		return nil, errUnauthorizedClient.withDesc("client is disabled")
	}
	return c, nil
}

// issue applies the scope and audience rules and signs the token.
func (s *Server) issue(c *Client, req *tokenRequest, now time.Time) (*tokenResponse, *oauthError) {
	scopes := c.DefaultScopes
	if req.scopeGiven {
		scopes = strings.Fields(req.scope)
		if len(scopes) == 0 && req.scope != "" {
			return nil, errInvalidScope.withDesc("malformed scope")
		}
		if denied := subtract(scopes, c.AllowedScopes); len(denied) > 0 {
			return nil, errInvalidScope.withDesc("scope not allowed for this client: " + strings.Join(denied, " "))
		}
	}
	scopes = slices.Compact(slices.Sorted(slices.Values(scopes)))
	// Without audience or resource a token gets one audience (RFC 9700
	// §2.3, RFC 8707): the client's default, or its only allowed one.
	// Several audiences only when asked for.
	aud := c.DefaultAudiences
	if len(aud) == 0 && len(c.AllowedAudiences) == 1 {
		aud = c.AllowedAudiences
	}
	if len(req.audiences) > 0 {
		aud = slices.Compact(slices.Sorted(slices.Values(req.audiences)))
		if denied := subtract(aud, c.AllowedAudiences); len(denied) > 0 {
			return nil, errInvalidTarget.withDesc("audience not allowed for this client; it may ask for: " + strings.Join(c.AllowedAudiences, " "))
		}
	}
	if len(aud) == 0 {
		return nil, errInvalidTarget.withDesc("no audience requested and the client has no default; ask for one of: " + strings.Join(c.AllowedAudiences, " "))
	}
	lifetime := c.lifetime()
	token, err := s.sign(c, scopes, aud, now, lifetime)
	if err != nil {
		s.log.Error("sign token", slog.String("client_id", c.ID), slog.Any("error", err))
		return nil, errServerError.withDesc("could not sign the token")
	}
	return &tokenResponse{
		AccessToken: token,
		TokenType:   "Bearer",
		ExpiresIn:   int64(lifetime / time.Second),
		Scope:       strings.Join(scopes, " "),
	}, nil
}

// accessClaims are an RFC 9068 access token's claims.
type accessClaims struct {
	Issuer    string   `json:"iss"`
	Subject   string   `json:"sub"`
	Audience  []string `json:"aud"`
	IssuedAt  int64    `json:"iat"`
	NotBefore int64    `json:"nbf"`
	Expires   int64    `json:"exp"`
	ID        string   `json:"jti"`
	ClientID  string   `json:"client_id"`
	Scope     string   `json:"scope,omitempty"`
}

// sign builds and signs an RFC 9068 access token: the protected header is
// the key's, encoded once; the claims are one json.Marshal of a struct
// (a client's extra claims, validated at registration, are added beside
// them); jwx's signer for the key's algorithm signs.
func (s *Server) sign(c *Client, scopes, aud []string, now time.Time, lifetime time.Duration) (string, error) {
	key, err := s.keys.signer(now)
	if err != nil {
		return "", err
	}
	now = now.Truncate(time.Second)
	// A token issued after a revocation of the client must not fall under
	// it: its iat is at least the revocation's bound, at most a second
	// ahead (verifiers allow far more skew than that).
	iat := max(now.Unix(), s.revoked.clientRevokedBefore(c.ID))
	claims := accessClaims{Issuer: s.cfg.Issuer, Subject: c.ID, Audience: aud, IssuedAt: iat, NotBefore: now.Unix(),
		Expires: now.Add(lifetime).Unix(), ID: newTokenID(), ClientID: c.ID, Scope: strings.Join(scopes, " ")}
	payload, err := marshalClaims(&claims, c.ExtraClaims)
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	buf := make([]byte, 0, len(key.header)+enc.EncodedLen(len(payload))+2+enc.EncodedLen(512))
	buf = append(buf, key.header...)
	buf = append(buf, '.')
	buf = enc.AppendEncode(buf, payload)
	sig, err := key.signer.Sign(buf, key.raw)
	if err != nil {
		return "", fmt.Errorf("sign with key %s: %w", key.Kid, err)
	}
	buf = append(buf, '.')
	return string(enc.AppendEncode(buf, sig)), nil
}

// marshalClaims encodes claims, with extra claims beside them.
func marshalClaims(claims *accessClaims, extra map[string]any) ([]byte, error) {
	if len(extra) == 0 {
		return json.Marshal(claims)
	}
	b, err := json.Marshal(claims)
	if err != nil {
		return nil, err
	}
	all := make(map[string]any, len(extra)+9)
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber() // numbers stay exactly as encoded
	if err := d.Decode(&all); err != nil {
		return nil, err
	}
	for name, v := range extra {
		if _, reserved := all[name]; !reserved {
			all[name] = v
		}
	}
	return json.Marshal(all)
}
