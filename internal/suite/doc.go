// Package suite wires Tollgate's parts into running servers: the issuer's
// HTTP server, and gRPC servers that carry the auth interceptors, health and
// reflection. `tollgate dev`, the standalone subcommands and the end-to-end
// tests all start servers through it, so they run the same code.
package suite
