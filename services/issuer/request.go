package issuer

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// maxRequestBytes bounds a token request body; real ones are a few hundred
// bytes, a client assertion a few kilobytes.
const maxRequestBytes = 64 << 10

// tokenRequest is a parsed client-credentials token request.
type tokenRequest struct {
	grantType     string
	clientID      string
	clientSecret  string
	basic         bool // credentials came in an Authorization: Basic header
	assertionType string
	assertion     string
	scope         string
	scopeGiven    bool
	audiences     []string // audience (Auth0) and resource (RFC 8707) values
}

const assertionTypeJWT = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// jsonTokenRequest is the JSON body shape that Auth0 accepts.
type jsonTokenRequest struct {
	GrantType     string          `json:"grant_type"`
	ClientID      string          `json:"client_id"`
	ClientSecret  string          `json:"client_secret"`
	Audience      string          `json:"audience"`
	Resource      json.RawMessage `json:"resource"`
	Scope         *string         `json:"scope"`
	AssertionType string          `json:"client_assertion_type"`
	Assertion     string          `json:"client_assertion"`
}

func parseTokenRequest(w http.ResponseWriter, r *http.Request) (*tokenRequest, *oauthError) {
	if r.Method != http.MethodPost {
		return nil, &oauthError{status: http.StatusMethodNotAllowed, Code: "invalid_request", Desc: "use POST"}
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return nil, errInvalidRequest("missing or invalid Content-Type")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, &oauthError{status: http.StatusRequestEntityTooLarge, Code: "invalid_request", Desc: "request body too large"}
		}
		return nil, errInvalidRequest("could not read request body")
	}
	var req *tokenRequest
	var oerr *oauthError
	switch mt {
	case "application/x-www-form-urlencoded":
		req, oerr = parseForm(body)
	case "application/json":
		req, oerr = parseJSON(body)
	default:
		return nil, errInvalidRequest("Content-Type must be application/x-www-form-urlencoded or application/json")
	}
	if oerr != nil {
		return nil, oerr
	}
	if auth := r.Header.Get("Authorization"); auth != "" {
		id, secret, oerr := parseBasic(auth)
		if oerr != nil {
			return nil, oerr
		}
		if req.clientSecret != "" || req.assertion != "" {
			return nil, errInvalidRequest("more than one client authentication method")
		}
		if req.clientID != "" && req.clientID != id {
			return nil, errInvalidRequest("client_id does not match the Basic credentials")
		}
		req.clientID, req.clientSecret, req.basic = id, secret, true
	}
	return req, nil
}

func parseForm(body []byte) (*tokenRequest, *oauthError) {
	v, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, errInvalidRequest("malformed form body")
	}
	// RFC 6749 §3.2: parameters must not repeat (RFC 8707 resource may).
	for k, vs := range v {
		if len(vs) > 1 && k != "resource" {
			return nil, errInvalidRequest("parameter " + k + " repeated")
		}
	}
	req := &tokenRequest{
		grantType:     v.Get("grant_type"),
		clientID:      v.Get("client_id"),
		clientSecret:  v.Get("client_secret"),
		assertionType: v.Get("client_assertion_type"),
		assertion:     v.Get("client_assertion"),
		scope:         v.Get("scope"),
	}
	_, req.scopeGiven = v["scope"]
	if a := v.Get("audience"); a != "" {
		req.audiences = append(req.audiences, a)
	}
	req.audiences = append(req.audiences, v["resource"]...)
	return req, nil
}

func parseJSON(body []byte) (*tokenRequest, *oauthError) {
	var j jsonTokenRequest
	dec := json.NewDecoder(strings.NewReader(string(body)))
	if err := dec.Decode(&j); err != nil {
		return nil, errInvalidRequest("malformed JSON body")
	}
	req := &tokenRequest{
		grantType:     j.GrantType,
		clientID:      j.ClientID,
		clientSecret:  j.ClientSecret,
		assertionType: j.AssertionType,
		assertion:     j.Assertion,
	}
	if j.Scope != nil {
		req.scope, req.scopeGiven = *j.Scope, true
	}
	if j.Audience != "" {
		req.audiences = append(req.audiences, j.Audience)
	}
	if len(j.Resource) > 0 {
		var one string
		var many []string
		switch {
		case json.Unmarshal(j.Resource, &one) == nil:
			req.audiences = append(req.audiences, one)
		case json.Unmarshal(j.Resource, &many) == nil:
			req.audiences = append(req.audiences, many...)
		default:
			return nil, errInvalidRequest("resource must be a string or an array of strings")
		}
	}
	return req, nil
}

// parseBasic decodes client_secret_basic credentials: both parts are
// form-urlencoded before base64 (RFC 6749 §2.3.1).
func parseBasic(h string) (id, secret string, oerr *oauthError) {
	scheme, b64, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "basic") {
		return "", "", &oauthError{status: http.StatusUnauthorized, Code: "invalid_client", Desc: "unsupported Authorization scheme", basic: true}
	}
	r := &http.Request{Header: http.Header{"Authorization": {"Basic " + strings.TrimSpace(b64)}}}
	rawID, rawSecret, ok := r.BasicAuth()
	if !ok {
		return "", "", &oauthError{status: http.StatusUnauthorized, Code: "invalid_client", Desc: "malformed Basic credentials", basic: true}
	}
	var err1, err2 error
	id, err1 = url.QueryUnescape(rawID)
	secret, err2 = url.QueryUnescape(rawSecret)
	if err1 != nil || err2 != nil || id == "" {
		return "", "", &oauthError{status: http.StatusUnauthorized, Code: "invalid_client", Desc: "malformed Basic credentials", basic: true}
	}
	return id, secret, nil
}
