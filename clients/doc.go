// Package clients holds the end-to-end tests of Tollgate's callers in other
// languages (clients/python, clients/node): each runs as a real process
// against a real suite, with nothing but the generated client code or the
// protos, a stock gRPC library and plain HTTP for the token. It also builds
// the Java and TypeScript client code generated into gen/clients the way
// their users would.
package clients
