// Package transport is how a Tollgate process talks on the network: TLS or
// (on loopback, or when insisted on) plaintext, for its servers, its HTTP
// client and its gRPC dials, and a bound on open connections.
package transport
