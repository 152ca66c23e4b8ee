// Package callcreds is the caller side of Tollgate: gRPC per-RPC credentials
// backed by an OAuth 2.0 client-credentials token source.
//
// A [Source] gets access tokens from a token endpoint with
// golang.org/x/oauth2/clientcredentials (client ID and secret) or with a
// signed private_key_jwt assertion (RFC 7523), and keeps one token per
// (endpoint, client, audience, scopes). Once a token has used a share of its
// lifetime (75% by default, jittered), one background refresh runs while
// every caller keeps using the still-valid token; callers block only when no
// valid token exists, and then only until their own context ends. Failed
// refreshes back off exponentially and never discard a valid token.
//
// [Credentials] attaches the token to each RPC as `authorization: Bearer`
// metadata, only over channels with privacy and integrity unless the caller
// opts in with [AllowPlaintext]. Its client interceptors refresh once and
// retry once when the server says the token itself was rejected.
package callcreds
