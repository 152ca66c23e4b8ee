package issuer

import (
	"errors"
	"net/http"
	"testing"
)

// Refinements copy: the package-level values never change, and errors.Is
// compares codes whatever the description, status or challenge.
func TestOAuthErrorValues(t *testing.T) {
	refined := errInvalidClient.withDesc("client assertion already used").withBasic(true).withStatus(http.StatusForbidden)
	if !errors.Is(refined, errInvalidClient) || errors.Is(refined, errInvalidRequest) {
		t.Errorf("errors.Is compares codes: %v", refined)
	}
	if errInvalidClient.Desc != "client authentication failed" || errInvalidClient.basic || errInvalidClient.status != http.StatusUnauthorized {
		t.Errorf("a refinement changed the shared value: %+v", errInvalidClient)
	}
	var none *oauthError
	if errors.Is(none, errInvalidClient) {
		t.Error("a nil *oauthError is invalid_client")
	}
}
