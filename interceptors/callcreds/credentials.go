package callcreds

import (
	"context"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
)

// Credentials attaches a Source's token to every RPC. It implements
// credentials.PerRPCCredentials.
type Credentials struct {
	src       *Source
	plaintext bool
}

// CredentialsOption customises Credentials.
type CredentialsOption func(*Credentials)

// AllowPlaintext lets the token travel over channels without transport
// security. A bearer token is a password for its lifetime: use this only on
// loopback and in tests.
func AllowPlaintext() CredentialsOption { return func(c *Credentials) { c.plaintext = true } }

// New returns per-RPC credentials backed by src.
func New(src *Source, opts ...CredentialsOption) *Credentials {
	c := &Credentials{src: src}
	for _, opt := range opts {
		opt(c)
	}
	return c
}

// GetRequestMetadata returns the authorization metadata for one RPC.
func (c *Credentials) GetRequestMetadata(ctx context.Context, _ ...string) (map[string]string, error) {
	if !c.plaintext {
		ri, _ := credentials.RequestInfoFromContext(ctx)
		if err := credentials.CheckSecurityLevel(ri.AuthInfo, credentials.PrivacyAndIntegrity); err != nil {
			return nil, status.Error(codes.Unauthenticated, "refusing to send an access token over a channel without privacy and integrity (callcreds.AllowPlaintext opts in)")
		}
	}
	t, err := c.src.Token(ctx)
	if err != nil {
		return nil, status.Error(codes.Unauthenticated, fmt.Sprintf("get access token: %v", err))
	}
	return map[string]string{"authorization": t.header}, nil
}

// RequireTransportSecurity is true unless AllowPlaintext was given.
func (c *Credentials) RequireTransportSecurity() bool { return !c.plaintext }

// DialOptions returns the options that attach the token and retry once on a
// rejected token; add transport credentials beside them.
func (c *Credentials) DialOptions() []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithPerRPCCredentials(c),
		grpc.WithChainUnaryInterceptor(c.UnaryClientInterceptor()),
		grpc.WithChainStreamInterceptor(c.StreamClientInterceptor()),
	}
}

// NewClient is grpc.NewClient with these credentials and their interceptors.
func (c *Credentials) NewClient(target string, opts ...grpc.DialOption) (*grpc.ClientConn, error) {
	return grpc.NewClient(target, append(c.DialOptions(), opts...)...)
}
