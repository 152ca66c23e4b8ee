package issuer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/lestrrat-go/httpcc"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/tollgate-rpc/tollgate/internal/egress"
	"golang.org/x/sync/singleflight"
)

// Bounds on how long keys fetched from a client's jwks_uri are cached: the
// response's Cache-Control max-age within [min, max], default when it gives
// none. A failed fetch is remembered for clientJWKSFailureTTL, so that
// assertions naming a client whose key URL is down (or forged ones sent to
// make the issuer fetch) cost one fetch, not one each. A kid missing from
// the cached set (the client rotated its keys) refetches at most once per
// clientJWKSKidCooldown.
const (
	clientJWKSDefaultTTL  = 5 * time.Minute
	clientJWKSMinTTL      = time.Minute
	clientJWKSMaxTTL      = time.Hour
	clientJWKSFailureTTL  = 30 * time.Second
	clientJWKSKidCooldown = 30 * time.Second
	clientJWKSMaxBytes    = 256 << 10
	clientJWKSTimeout     = 5 * time.Second
)

// clientKeyCache holds the key sets fetched from clients' jwks_uri, and
// coalesces concurrent fetches of one URL into one.
type clientKeyCache struct {
	client *http.Client
	now    func() time.Time
	group  singleflight.Group

	mu      sync.Mutex
	entries map[string]clientKeyEntry
}

type clientKeyEntry struct {
	set     jwk.Set // nil after a failure
	err     error
	fetched time.Time
	until   time.Time
}

// newClientKeyCache fetches over a client that follows redirects only
// within https and, unless allowPrivate, connects only to public addresses:
// a client's jwks_uri is chosen by whoever registers the client, and must
// not make the issuer reach its own admin port or the cloud's metadata
// service.
func newClientKeyCache(now func() time.Time, allowPrivate bool) *clientKeyCache {
	dialer := &net.Dialer{Timeout: clientJWKSTimeout}
	if !allowPrivate {
		dialer.Control = egress.PublicOnly
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = dialer.DialContext
	tr.Proxy = nil // the address checked is the one dialled
	client := &http.Client{Timeout: clientJWKSTimeout, Transport: tr, CheckRedirect: egress.HTTPSOnly}
	return &clientKeyCache{client: client, now: now, entries: map[string]clientKeyEntry{}}
}

// clientKeys returns the client's registered public keys: inline, or from
// its jwks_uri through the cache. kid is the key the assertion names.
func (s *Server) clientKeys(c *Client, kid string) (jwk.Set, error) {
	if len(c.JWKS) > 0 {
		return jwk.Parse(c.JWKS)
	}
	if c.JWKSURI == "" {
		return nil, errors.New("client has no public keys")
	}
	return s.clientJWKS.get(c.JWKSURI, kid)
}

// get returns the key set at uri, fetching it when the cached one (or the
// cached failure) has expired, or when it lacks kid and the last fetch is
// older than the cooldown.
func (kc *clientKeyCache) get(uri, kid string) (jwk.Set, error) {
	now := kc.now()
	kc.mu.Lock()
	e, ok := kc.entries[uri]
	kc.mu.Unlock()
	if ok && now.Before(e.until) {
		if e.set == nil {
			return nil, e.err
		}
		if _, found := e.set.LookupKeyID(kid); found || kid == "" || now.Sub(e.fetched) < clientJWKSKidCooldown {
			return e.set, nil
		}
	}
	v, _, _ := kc.group.Do(uri, func() (any, error) {
		set, ttl, err := kc.fetch(uri)
		fetched := kc.now()
		e := clientKeyEntry{set: set, err: err, fetched: fetched, until: fetched.Add(clientJWKSFailureTTL)}
		if err == nil {
			e.until = fetched.Add(ttl)
		}
		kc.mu.Lock()
		kc.entries[uri] = e
		kc.mu.Unlock()
		return e, nil
	})
	e = v.(clientKeyEntry)
	return e.set, e.err
}

// fetch gets and checks the key set at uri, with a timeout and a size
// limit, and returns how long to cache it.
func (kc *clientKeyCache) fetch(uri string) (jwk.Set, time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), clientJWKSTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
	if err != nil {
		return nil, 0, err
	}
	resp, err := kc.client.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("fetch client jwks %s: %w", uri, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, 0, fmt.Errorf("fetch client jwks %s: %s", uri, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, clientJWKSMaxBytes))
	if err != nil {
		return nil, 0, fmt.Errorf("fetch client jwks %s: %w", uri, err)
	}
	// What the URL answered is never quoted back: it may be anything the
	// URL's owner wants the issuer's logs to show.
	set, err := jwk.Parse(body)
	if err != nil {
		return nil, 0, fmt.Errorf("client jwks %s: the answer is not a JWK set", uri)
	}
	if err := checkClientKeys(set); err != nil {
		return nil, 0, fmt.Errorf("client jwks %s: %w", uri, err)
	}
	return set, cacheTTL(resp.Header.Get("Cache-Control")), nil
}

// cacheTTL is the response's max-age within the bounds, or the default.
func cacheTTL(cacheControl string) time.Duration {
	dir, err := httpcc.ParseResponse(cacheControl)
	if err != nil {
		return clientJWKSDefaultTTL
	}
	age, ok := dir.MaxAge()
	if !ok {
		return clientJWKSDefaultTTL
	}
	// Clamped in seconds before converting, so that no max-age overflows.
	secs := min(max(age, uint64(clientJWKSMinTTL/time.Second)), uint64(clientJWKSMaxTTL/time.Second))
	return time.Duration(secs) * time.Second
}
