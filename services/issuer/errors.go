package issuer

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// oauthError is an RFC 6749 §5.2 error response.
type oauthError struct {
	status int
	Code   string `json:"error"`
	Desc   string `json:"error_description,omitempty"`
	basic  bool   // the client tried HTTP Basic: answer 401 with a challenge

	retryAfter time.Duration // for 429 and 503: when a retry may succeed
}

func (e *oauthError) Error() string { return e.Code + ": " + e.Desc }

func errInvalidRequest(desc string) *oauthError {
	return &oauthError{status: http.StatusBadRequest, Code: "invalid_request", Desc: desc}
}

func errInvalidClient(basic bool) *oauthError {
	return &oauthError{status: http.StatusUnauthorized, Code: "invalid_client", Desc: "client authentication failed", basic: basic}
}

// errStale answers token requests while the issuer's state is stale
// ([Server.Watch]): another replica, or this one once it catches up, can
// answer.
func errStale() *oauthError {
	return &oauthError{status: http.StatusServiceUnavailable, Code: "temporarily_unavailable",
		Desc: "the issuer cannot confirm its client registry is current; try again later", retryAfter: WatchInterval}
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
