// Package clients holds the end-to-end tests of Tollgate's callers in other
// languages (clients/python, clients/node): each runs as a real process
// against a real suite, with nothing but the protos, a stock gRPC library
// and plain HTTP for the token.
package clients
