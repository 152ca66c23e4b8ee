package interceptors

import (
	"context"
	"strconv"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// publicStreams counts the open streams of public methods per connection:
// they carry no token, so nothing else bounds what one connection holds
// (10 connections × 1,000 health Watch streams once took a service from
// 35 MB to 156 MB). A connection is its peer address, unique while it is
// open; its count is dropped when it reaches zero.
type publicStreams struct {
	mu    sync.Mutex
	count map[string]int
}

// open counts one more stream on ctx's connection, or refuses it past
// limit; release ends the count.
func (p *publicStreams) open(ctx context.Context, limit int) (release func(), err error) {
	key := "unknown"
	if pr, ok := peer.FromContext(ctx); ok && pr.Addr != nil {
		key = pr.Addr.String()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.count == nil {
		p.count = map[string]int{}
	}
	if p.count[key] >= limit {
		return nil, status.Error(codes.ResourceExhausted, "too many open streams without a token on this connection (limit "+strconv.Itoa(limit)+")")
	}
	p.count[key]++
	return func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.count[key]--; p.count[key] == 0 {
			delete(p.count, key)
		}
	}, nil
}
