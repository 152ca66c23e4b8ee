package issuer

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// oauthError is an RFC 6749 §5.2 error response. Each error code is one
// package-level value below (as fosite's ErrInvalidClient); a refusal
// refines it with a description (withDesc) and, for invalid_client over
// HTTP Basic, a challenge (withBasic). errors.Is compares codes.
type oauthError struct {
	status int
	Code   string `json:"error"`
	Desc   string `json:"error_description,omitempty"`
	basic  bool   // the client tried HTTP Basic: answer 401 with a challenge

	retryAfter time.Duration // for 429 and 503: when a retry may succeed
}

// The token endpoint's errors, one per code (RFC 6749 §5.2, RFC 8707's
// invalid_target, RFC 8628's slow_down for throttling, and
// temporarily_unavailable from §4.1.2.1 for an issuer that cannot answer).
var (
	errInvalidRequest         = &oauthError{status: http.StatusBadRequest, Code: "invalid_request"}
	errInvalidClient          = &oauthError{status: http.StatusUnauthorized, Code: "invalid_client", Desc: "client authentication failed"}
	errUnauthorizedClient     = &oauthError{status: http.StatusBadRequest, Code: "unauthorized_client"}
	errUnsupportedGrantType   = &oauthError{status: http.StatusBadRequest, Code: "unsupported_grant_type"}
	errInvalidScope           = &oauthError{status: http.StatusBadRequest, Code: "invalid_scope"}
	errInvalidTarget          = &oauthError{status: http.StatusBadRequest, Code: "invalid_target"}
	errSlowDown               = &oauthError{status: http.StatusTooManyRequests, Code: "slow_down"}
	errServerError            = &oauthError{status: http.StatusInternalServerError, Code: "server_error"}
	errTemporarilyUnavailable = &oauthError{status: http.StatusServiceUnavailable, Code: "temporarily_unavailable"}
)

// errStale answers token requests while the issuer's state is stale
// ([Server.Watch]): another replica, or this one once it catches up, can
// answer.
var errStale = errTemporarilyUnavailable.withDesc("the issuer cannot confirm its client registry is current; try again later").
	withRetryAfter(WatchInterval)

func (e *oauthError) Error() string { return e.Code + ": " + e.Desc }

// Is reports whether target is the same error code.
func (e *oauthError) Is(target error) bool {
	t, ok := target.(*oauthError)
	return ok && e != nil && t != nil && t.Code == e.Code
}

// withDesc returns a copy of e saying desc.
func (e *oauthError) withDesc(desc string) *oauthError {
	c := *e
	c.Desc = desc
	return &c
}

// withBasic returns a copy of e that, when basic, answers with a Basic
// challenge (RFC 6749 §5.2: a client that tried HTTP Basic gets 401 and
// WWW-Authenticate).
func (e *oauthError) withBasic(basic bool) *oauthError {
	c := *e
	c.basic = basic
	return &c
}

// withStatus returns a copy of e answered with HTTP status.
func (e *oauthError) withStatus(status int) *oauthError {
	c := *e
	c.status = status
	return &c
}

// withRetryAfter returns a copy of e that tells the client when to retry.
func (e *oauthError) withRetryAfter(d time.Duration) *oauthError {
	c := *e
	c.retryAfter = d
	return &c
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// noStore marks a response that carries tokens or token errors as never to
// be cached (RFC 6749 §5.1).
func noStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
}

func writeOAuthError(w http.ResponseWriter, e *oauthError) {
	noStore(w)
	if e.retryAfter > 0 {
		secs := max(int64((e.retryAfter+time.Second-1)/time.Second), 1) // whole seconds, rounded up
		w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
	}
	if e.status == http.StatusUnauthorized && e.basic {
		w.Header().Set("WWW-Authenticate", `Basic realm="tollgate", charset="UTF-8"`)
	}
	writeJSON(w, e.status, e)
}
