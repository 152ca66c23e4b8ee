package verify

import (
	"hash/maphash"
	"sync"
	"time"
)

const cacheShards = 16

// tokenCache maps a whole token string to the claims it verified to. The key
// is the token itself, not a digest of it, so two different tokens can never
// share an entry. It is bounded: a full shard evicts, preferring expired
// entries.
type tokenCache struct {
	seed     maphash.Seed
	perShard int
	shards   [cacheShards]cacheShard
}

type cacheShard struct {
	mu sync.RWMutex
	m  map[string]cacheEntry
}

type cacheEntry struct {
	claims *Claims
	key    *publicKey
	until  time.Time // exp plus the verifier's clock skew
}

func newTokenCache(size int) *tokenCache {
	c := &tokenCache{seed: maphash.MakeSeed(), perShard: max(size/cacheShards, 1)}
	for i := range c.shards {
		c.shards[i].m = make(map[string]cacheEntry)
	}
	return c
}

func (c *tokenCache) shard(token string) *cacheShard {
	return &c.shards[maphash.String(c.seed, token)%cacheShards]
}

// get returns the cached claims of token, and the key that verified it,
// while it is valid and its key is still published.
func (c *tokenCache) get(token string, now time.Time) (*Claims, *publicKey, bool) {
	sh := c.shard(token)
	sh.mu.RLock()
	e, ok := sh.m[token]
	sh.mu.RUnlock()
	if !ok || !now.Before(e.until) || e.key.revoked.Load() {
		return nil, nil, false
	}
	return e.claims, e.key, true
}

func (c *tokenCache) put(token string, claims *Claims, key *publicKey, until, now time.Time) {
	sh := c.shard(token)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if len(sh.m) >= c.perShard {
		sh.evict(now)
	}
	sh.m[token] = cacheEntry{claims: claims, key: key, until: until}
}

// evict makes room for one entry. It looks at a few entries (Go's map
// iteration order is randomised) and drops the dead ones; if all were alive
// it drops the first, which is a random choice.
func (sh *cacheShard) evict(now time.Time) {
	const probe = 8
	var first string
	n, dropped := 0, false
	for tok, e := range sh.m {
		if n == 0 {
			first = tok
		}
		if !now.Before(e.until) || e.key.revoked.Load() {
			delete(sh.m, tok)
			dropped = true
		}
		if n++; n == probe {
			break
		}
	}
	if !dropped {
		delete(sh.m, first)
	}
}

func (c *tokenCache) len() int {
	n := 0
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.RLock()
		n += len(sh.m)
		sh.mu.RUnlock()
	}
	return n
}
