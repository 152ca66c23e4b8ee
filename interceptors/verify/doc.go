// Package verify checks OAuth 2.0 JWT access tokens (RFC 9068) against one or
// more trusted issuers and returns their claims.
//
// A [Verifier] knows each trusted issuer by its exact `iss` value and finds
// its signing keys through an explicit JWKS URL or through RFC 8414 / OpenID
// Connect discovery. Key sets are fetched in the background, refreshed as the
// JWKS Cache-Control header asks (within bounds), kept when a refresh fails,
// and refetched early when a token names an unknown `kid`, at most once per
// cooldown so that a flood of forged key IDs cannot hammer the issuer.
//
// The rules are strict by default: an allow-list of asymmetric algorithms,
// `kid` required and matched, exact issuer, an accepted audience, `exp`
// required, `nbf` and `iat` honoured with a small clock skew, header `typ`
// "at+jwt" (per-issuer opt-in to "JWT"), and `crit` or `b64` headers refused.
//
// A token that verified once is kept in a bounded cache keyed by the whole
// token string, and served from it until its `exp` or until its signing key
// leaves the issuer's JWKS, whichever comes first. The warm path is a map
// lookup: no parsing, no signature check.
//
// The package knows nothing about gRPC; package interceptors builds on it.
package verify
