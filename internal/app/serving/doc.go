// Package serving builds and runs Tollgate's servers: gRPC servers that
// carry the auth interceptors, metrics, tracing, limits, panic recovery,
// health and reflection; the issuer's HTTP server; the admin listener with
// its probes and metrics; and the authenticated dial from one service to
// another. `tollgate dev`, the standalone subcommands and the end-to-end
// tests all start servers through it, so they run the same code.
package serving
