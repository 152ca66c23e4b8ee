package verify_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"
	"github.com/tollgate-rpc/tollgate/interceptors/verify"
)

// fakeIdP stands in for an identity provider: it serves one signing key's
// JWKS and signs tokens with it, so that the examples run offline.
type fakeIdP struct {
	*httptest.Server
	key jwk.Key
}

func newFakeIdP() *fakeIdP {
	raw, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	key, _ := jwk.FromRaw(raw)
	_ = key.Set(jwk.KeyIDKey, "k1")
	pub, _ := key.PublicKey()
	set := jwk.NewSet()
	_ = set.AddKey(pub)
	doc, _ := json.Marshal(set)
	idp := &fakeIdP{key: key}
	idp.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(doc) }))
	return idp
}

// sign returns a token with header typ and claims, valid for an hour.
func (idp *fakeIdP) sign(typ string, claims map[string]any) string {
	t := jwt.New()
	for k, v := range claims {
		_ = t.Set(k, v)
	}
	_ = t.Set(jwt.IssuedAtKey, time.Now())
	_ = t.Set(jwt.ExpirationKey, time.Now().Add(time.Hour))
	hdr := jws.NewHeaders()
	_ = hdr.Set(jws.TypeKey, typ)
	signed, _ := jwt.Sign(t, jwt.WithKey(jwa.ES256, idp.key, jws.WithProtectedHeaders(hdr)))
	return string(signed)
}

// Trusting one issuer: Tollgate's own, or any that signs RFC 9068 access
// tokens. Without JWKSURL the keys are found by discovery under Issuer.
func ExampleNew() {
	idp := newFakeIdP()
	defer idp.Close()
	v, err := verify.New([]verify.Issuer{{Issuer: "https://issuer.internal:8400", JWKSURL: idp.URL, Audiences: []string{"inventory"}}})
	if err != nil {
		panic(err)
	}
	defer v.Close()
	token := idp.sign("at+jwt", map[string]any{"iss": "https://issuer.internal:8400", "aud": "inventory",
		"sub": "orders-service", "client_id": "orders-service", "jti": "t-1", "scope": "inventory.read inventory.reserve"})
	c, err := v.Verify(context.Background(), token)
	if err != nil {
		panic(err)
	}
	fmt.Println(c.ClientID, c.Scopes, c.HasScope("inventory.write"))
	// Output: orders-service [inventory.read inventory.reserve] false
}

// Trusting an Auth0 tenant: the auth0 profile accepts its typ JWT, reads
// scopes from scope and the RBAC permissions claim, and the client from
// azp. The API's identifier is the audience.
func ExampleNew_auth0() {
	idp := newFakeIdP() // stands in for https://acme.eu.auth0.com/
	defer idp.Close()
	auth0, _ := verify.LookupProfile("auth0")
	v, err := verify.New([]verify.Issuer{auth0.Apply(verify.Issuer{
		Issuer:    "https://acme.eu.auth0.com/",
		JWKSURL:   idp.URL, // in production: leave empty, discovery finds https://acme.eu.auth0.com/.well-known/jwks.json
		Audiences: []string{"https://inventory.acme.example"},
	})})
	if err != nil {
		panic(err)
	}
	defer v.Close()
	// What Auth0 issues for {client_id, client_secret, audience, grant_type}
	// with RBAC and "Add Permissions in the Access Token" on.
	token := idp.sign("JWT", map[string]any{"iss": "https://acme.eu.auth0.com/",
		"sub": "K1AUPhZq8mRi0Q0p@clients", "azp": "K1AUPhZq8mRi0Q0p", "gty": "client-credentials",
		"aud": "https://inventory.acme.example", "scope": "inventory.read", "permissions": []string{"inventory.read", "inventory.reserve"}})
	c, err := v.Verify(context.Background(), token)
	if err != nil {
		panic(err)
	}
	fmt.Println(c.ClientID, c.Scopes)
	// Output: K1AUPhZq8mRi0Q0p [inventory.read inventory.reserve]
}

// Trusting several issuers at once, as during a migration: each token is
// checked against the issuer its iss names, with that issuer's rules.
func ExampleNew_severalIssuers() {
	own, tenant := newFakeIdP(), newFakeIdP()
	defer own.Close()
	defer tenant.Close()
	okta, _ := verify.LookupProfile("okta")
	v, err := verify.New([]verify.Issuer{
		{Issuer: "https://issuer.internal:8400", JWKSURL: own.URL, Audiences: []string{"inventory"}},
		okta.Apply(verify.Issuer{Issuer: "https://acme.okta.com/oauth2/default", JWKSURL: tenant.URL, Audiences: []string{"api://inventory"}}),
	})
	if err != nil {
		panic(err)
	}
	defer v.Close()
	fromOkta := tenant.sign("JWT", map[string]any{"iss": "https://acme.okta.com/oauth2/default", "aud": "api://inventory",
		"sub": "0oa1", "cid": "0oa1", "jti": "AT.1", "scp": []string{"inventory.read"}})
	c, err := v.Verify(context.Background(), fromOkta)
	fmt.Println(c.ClientID, c.Scopes, err)
	// A token signed by the tenant's key but naming the other issuer fails.
	forged := tenant.sign("at+jwt", map[string]any{"iss": "https://issuer.internal:8400", "aud": "inventory",
		"sub": "x", "client_id": "x", "jti": "1"})
	_, err = v.Verify(context.Background(), forged)
	fmt.Println(verify.ReasonOf(err))
	// Output:
	// 0oa1 [inventory.read] <nil>
	// bad_signature
}

// A custom check runs after every built-in one, on verified claims only.
func ExampleWithCheck() {
	idp := newFakeIdP()
	defer idp.Close()
	v, err := verify.New([]verify.Issuer{{Issuer: "https://issuer.internal:8400", JWKSURL: idp.URL, Audiences: []string{"inventory"}}},
		verify.WithCheck(func(c *verify.Claims) error {
			if c.Raw["tenant"] != "acme" {
				return errors.New("token is for another tenant")
			}
			return nil
		}))
	if err != nil {
		panic(err)
	}
	defer v.Close()
	token := idp.sign("at+jwt", map[string]any{"iss": "https://issuer.internal:8400", "aud": "inventory",
		"sub": "svc", "client_id": "svc", "jti": "1", "tenant": "globex"})
	_, err = v.Verify(context.Background(), token)
	fmt.Println(verify.ReasonOf(err), err)
	// Output: rejected token refused: token is for another tenant
}
