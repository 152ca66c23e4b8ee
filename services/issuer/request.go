package issuer

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
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
	token         string   // the token asked about (RFC 7009, RFC 7662)
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
	Token         string          `json:"token"`
}

func parseTokenRequest(w http.ResponseWriter, r *http.Request) (*tokenRequest, *oauthError) {
	if r.Method != http.MethodPost {
		return nil, errInvalidRequest.withStatus(http.StatusMethodNotAllowed).withDesc("use POST")
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return nil, errInvalidRequest.withDesc("missing or invalid Content-Type")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, errInvalidRequest.withStatus(http.StatusRequestEntityTooLarge).withDesc("request body too large")
		}
		return nil, errInvalidRequest.withDesc("could not read request body")
	}
	var req *tokenRequest
	var oerr *oauthError
	switch mt {
	case "application/x-www-form-urlencoded":
		req, oerr = parseForm(body)
	case "application/json":
		req, oerr = parseJSON(body)
	default:
		return nil, errInvalidRequest.withDesc("Content-Type must be application/x-www-form-urlencoded or application/json")
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
			return nil, errInvalidRequest.withDesc("more than one client authentication method")
		}
		if req.clientID != "" && req.clientID != id {
			return nil, errInvalidRequest.withDesc("client_id does not match the Basic credentials")
		}
		req.clientID, req.clientSecret, req.basic = id, secret, true
	}
	return req, nil
}

func parseForm(body []byte) (*tokenRequest, *oauthError) {
	v, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, errInvalidRequest.withDesc("malformed form body")
	}
	// RFC 6749 §3.2: parameters must not repeat (RFC 8707 resource may).
	for k, vs := range v {
		if len(vs) > 1 && k != "resource" {
			return nil, errInvalidRequest.withDesc("parameter " + k + " repeated")
		}
	}
	req := &tokenRequest{
		grantType:     v.Get("grant_type"),
		clientID:      v.Get("client_id"),
		clientSecret:  v.Get("client_secret"),
		assertionType: v.Get("client_assertion_type"),
		assertion:     v.Get("client_assertion"),
		scope:         v.Get("scope"),
		token:         v.Get("token"),
	}
	_, req.scopeGiven = v["scope"]
	if a := v.Get("audience"); a != "" {
		req.audiences = append(req.audiences, a)
	}
	req.audiences = append(req.audiences, v["resource"]...)
	return req, nil
}

// jsonNames are the parameter names a JSON token request may carry, spelt
// exactly so.
var jsonNames = []string{"grant_type", "client_id", "client_secret", "audience", "resource", "scope",
	"client_assertion_type", "client_assertion", "token", "token_type_hint"}

// checkJSONObject refuses what encoding/json would quietly accept: a body
// that is not one JSON object, trailing data, a repeated name (where the last
// would win) and a parameter name in another case (which encoding/json would
// match). Unknown names are ignored, as RFC 6749 §3.1 asks.
func checkJSONObject(body []byte) *oauthError {
	dec := json.NewDecoder(bytes.NewReader(body))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return errInvalidRequest.withDesc("malformed JSON body: not an object")
	}
	seen := map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return errInvalidRequest.withDesc("malformed JSON body")
		}
		name, _ := t.(string)
		if seen[name] {
			return errInvalidRequest.withDesc("parameter " + name + " repeated")
		}
		seen[name] = true
		if i := slices.IndexFunc(jsonNames, func(n string) bool { return strings.EqualFold(n, name) }); i >= 0 && jsonNames[i] != name {
			return errInvalidRequest.withDesc("parameter names are case-sensitive: use " + jsonNames[i])
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return errInvalidRequest.withDesc("malformed JSON body")
		}
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('}') {
		return errInvalidRequest.withDesc("malformed JSON body")
	}
	if _, err := dec.Token(); err != io.EOF {
		return errInvalidRequest.withDesc("malformed JSON body: data after the object")
	}
	return nil
}

func parseJSON(body []byte) (*tokenRequest, *oauthError) {
	if oerr := checkJSONObject(body); oerr != nil {
		return nil, oerr
	}
	var j jsonTokenRequest
	if err := json.Unmarshal(body, &j); err != nil {
		return nil, errInvalidRequest.withDesc("malformed JSON body: a parameter has the wrong type")
	}
	req := &tokenRequest{
		grantType:     j.GrantType,
		clientID:      j.ClientID,
		clientSecret:  j.ClientSecret,
		assertionType: j.AssertionType,
		assertion:     j.Assertion,
		token:         j.Token,
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
			return nil, errInvalidRequest.withDesc("resource must be a string or an array of strings")
		}
	}
	return req, nil
}

// parseBasic decodes client_secret_basic credentials: both parts are
// form-urlencoded before base64 (RFC 6749 §2.3.1).
func parseBasic(h string) (id, secret string, oerr *oauthError) {
	scheme, b64, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "basic") {
		return "", "", errInvalidClient.withDesc("unsupported Authorization scheme").withBasic(true)
	}
	r := &http.Request{Header: http.Header{"Authorization": {"Basic " + strings.TrimSpace(b64)}}}
	rawID, rawSecret, ok := r.BasicAuth()
	if !ok {
		return "", "", errInvalidClient.withDesc("malformed Basic credentials").withBasic(true)
	}
	var err1, err2 error
	id, err1 = url.QueryUnescape(rawID)
	secret, err2 = url.QueryUnescape(rawSecret)
	if err1 != nil || err2 != nil || id == "" {
		return "", "", errInvalidClient.withDesc("malformed Basic credentials").withBasic(true)
	}
	return id, secret, nil
}
