// Package issuer is Tollgate's OAuth 2.0 authorization server for
// machine-to-machine tokens: the client-credentials grant (RFC 6749 §4.4)
// issuing RFC 9068 JWT access tokens, with its JWKS and RFC 8414 / OpenID
// Connect discovery documents.
//
// Its state lives in a data directory: keys.json (signing keys, rotated with
// publish-ahead and retire-after) and clients.json (the client registry,
// with secrets stored only as SHA-256 digests). Both are written atomically
// with mode 0600 and refused when group or others can read them.
package issuer
