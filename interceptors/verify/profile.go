package verify

import (
	"slices"
	"strings"
)

// Profile is how one kind of issuer shapes its access tokens: the header
// typ it uses, the claims that carry scopes and the client, and the claims
// it always sends (so a token without one is not its). [Profile.Apply]
// fills an [Issuer]'s unset fields from it.
type Profile struct {
	Name           string
	AllowJWTType   bool
	ScopeClaims    []string
	ClientIDClaims []string
	RequiredClaims []string
}

// profiles are the built-in ones; see [Profiles].
var profiles = []Profile{
	// RFC 9068 §2, as Tollgate's own issuer signs.
	{Name: "tollgate",
		ScopeClaims: []string{ScopeClaim}, ClientIDClaims: []string{"client_id"},
		RequiredClaims: RFC9068RequiredClaims()},
	// Auth0's token dialect (typ JWT, azp, RBAC permissions) and its RFC 9068
	// dialect (client_id, jti): https://auth0.com/docs/secure/tokens/access-tokens/access-token-profiles
	// The issuer is the tenant URL with a trailing slash.
	{Name: "auth0",
		AllowJWTType: true, ScopeClaims: []string{ScopeClaim, PermissionsClaim}, ClientIDClaims: []string{"azp", "client_id"},
		RequiredClaims: []string{"iss", "sub", "aud", "exp", "iat"}},
	// Okta custom authorization servers (scp array, cid, jti, ver):
	// https://developer.okta.com/docs/api/openapi/okta-oauth/guides/overview/#access-token-payload
	{Name: "okta",
		AllowJWTType: true, ScopeClaims: []string{ScpClaim}, ClientIDClaims: []string{"cid"},
		RequiredClaims: []string{"iss", "sub", "aud", "exp", "iat", "jti", "cid"}},
	// Microsoft Entra ID v1 and v2 tokens: delegated scopes in scp, application
	// permissions in roles, the client in azp (v2) or appid (v1), tid always:
	// https://learn.microsoft.com/entra/identity-platform/access-token-claims-reference
	// v2 issuer: https://login.microsoftonline.com/<tenant>/v2.0; aud is the API's application ID.
	{Name: "entra",
		AllowJWTType: true, ScopeClaims: []string{ScpClaim, "roles"}, ClientIDClaims: []string{"azp", "appid"},
		RequiredClaims: []string{"iss", "sub", "aud", "exp", "iat", "tid"}},
	// Keycloak service-account tokens (typ JWT, scope string, azp, jti; aud
	// only with an audience mapper):
	// https://www.keycloak.org/docs/latest/server_admin/#_audience
	{Name: "keycloak",
		AllowJWTType: true, ScopeClaims: []string{ScopeClaim}, ClientIDClaims: []string{"client_id", "azp"},
		RequiredClaims: []string{"iss", "exp", "iat", "jti", "azp"}},
	// Ory Hydra v2 JWT access tokens (typ JWT, scp array, client_id, jti):
	// https://www.ory.sh/docs/oauth2-oidc/jwt-access-token
	{Name: "hydra",
		AllowJWTType: true, ScopeClaims: []string{ScpClaim}, ClientIDClaims: []string{"client_id"},
		RequiredClaims: []string{"iss", "sub", "exp", "iat", "jti", "client_id"}},
}

// Profiles returns the built-in profiles: tollgate (RFC 9068, the default),
// auth0, okta, entra, keycloak and hydra. The result is a copy.
func Profiles() []Profile {
	out := make([]Profile, len(profiles))
	for i, p := range profiles {
		out[i] = p.clone()
	}
	return out
}

// LookupProfile returns the built-in profile called name.
func LookupProfile(name string) (Profile, bool) {
	for _, p := range profiles {
		if strings.EqualFold(p.Name, name) {
			return p.clone(), true
		}
	}
	return Profile{}, false
}

// ProfileNames lists the built-in profiles' names.
func ProfileNames() []string {
	names := make([]string, len(profiles))
	for i, p := range profiles {
		names[i] = p.Name
	}
	return names
}

func (p Profile) clone() Profile {
	p.ScopeClaims = slices.Clone(p.ScopeClaims)
	p.ClientIDClaims = slices.Clone(p.ClientIDClaims)
	p.RequiredClaims = slices.Clone(p.RequiredClaims)
	return p
}

// Apply returns is with every field it leaves unset taken from the profile;
// fields set on is win. AllowJWTType is set when either says so.
func (p Profile) Apply(is Issuer) Issuer {
	is.AllowJWTType = is.AllowJWTType || p.AllowJWTType
	if is.ScopeClaims == nil {
		is.ScopeClaims = slices.Clone(p.ScopeClaims)
	}
	if is.ClientIDClaims == nil {
		is.ClientIDClaims = slices.Clone(p.ClientIDClaims)
	}
	if is.RequiredClaims == nil {
		is.RequiredClaims = slices.Clone(p.RequiredClaims)
	}
	return is
}
