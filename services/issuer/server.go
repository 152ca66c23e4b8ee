package issuer

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
)

// Config configures a Server.
type Config struct {
	// Issuer is the `iss` of every token and the base URL of the endpoints,
	// such as "https://issuer.internal:8400". No trailing slash.
	Issuer string
	// Store keeps the clients, signing keys and assertion replay records;
	// nil means the embedded store in DataDir ([OpenDir]), closed by
	// [Server.Close].
	Store Store
	// DataDir holds the embedded store when Store is nil.
	DataDir string
	// Algorithm signs tokens: ES256 (default), RS256 or EdDSA.
	Algorithm jwa.SignatureAlgorithm
	// Logger receives one line per token request; nil discards.
	Logger *slog.Logger
	// JWKSMaxAge is the Cache-Control max-age of the JWKS (default 5m).
	// A new key is published twice this long before it signs anything, so
	// every verifier that honours the header has seen it first.
	JWKSMaxAge time.Duration
	// RotationInterval is how often a new signing key is rolled in
	// (default 7 days; negative disables scheduled rotation).
	RotationInterval time.Duration
	// AdvertiseScopes are the scopes discovery lists in scopes_supported;
	// none are listed when empty. Which scopes clients hold is not for
	// anyone who can read the discovery document to learn.
	AdvertiseScopes []string
	// AllowPrivateClientJWKS lets a client's jwks_uri reach loopback,
	// private and link-local addresses (tests, one-machine setups). Off, the
	// issuer fetches client keys only from public addresses, so that
	// whoever registers a client cannot make it reach its own admin port or
	// the cloud's metadata service.
	AllowPrivateClientJWKS bool
	// Observe, when set, is called after every token request, for metrics.
	Observe func(TokenEvent)
	// Now is the clock, for tests; nil means time.Now.
	Now func() time.Time
}

// TokenEvent describes one token request.
type TokenEvent struct {
	// ClientID is the registered client the request named, or "" when it
	// named none that is registered (so unknown IDs never become labels).
	ClientID string
	// Outcome is "issued" or the RFC 6749 error code (slow_down when
	// throttled).
	Outcome  string
	Duration time.Duration
}

// Key rotation defaults.
const (
	DefaultJWKSMaxAge       = 5 * time.Minute
	DefaultRotationInterval = 7 * 24 * time.Hour
	// KeyRetention keeps a retired key published until every token it can
	// have signed has expired, plus margin for clock skew.
	KeyRetention = MaxTokenLifetime + 5*time.Minute
	// WatchInterval is how often a running issuer looks for changes another
	// process or replica made to the store ([Server.Watch]).
	WatchInterval = 2 * time.Second
)

// PublishAhead is how long before it signs a new key sits in the JWKS:
// twice the JWKS max-age, so every verifier that honours it has fetched
// the key, plus one WatchInterval, so every replica serves the key before
// any replica signs with it (a verifier refetching on an unknown kid may
// reach any replica).
func (c Config) PublishAhead() time.Duration { return 2*c.JWKSMaxAge + WatchInterval }

// Server is the token issuer.
type Server struct {
	cfg        Config
	store      Store
	ownStore   bool // opened by New, closed by Close
	keys       *KeyStore
	clients    *Registry
	loaded     revision // the store's revision as last loaded
	revoked    revocationSet
	draining   chan struct{} // closed by Drain
	drainOnce  sync.Once
	limiter    *failureLimiter
	clientJWKS *clientKeyCache
	log        *slog.Logger
	now        func() time.Time
}

// New loads the clients and signing keys from the store, creating the first
// key when there is none.
func New(cfg Config) (*Server, error) {
	if cfg.Issuer == "" || strings.HasSuffix(cfg.Issuer, "/") {
		return nil, fmt.Errorf("issuer URL %q: must be set, without a trailing slash", cfg.Issuer)
	}
	if cfg.Store == nil && cfg.DataDir == "" {
		return nil, errors.New("issuer: no store and no data directory")
	}
	if cfg.Algorithm == "" {
		cfg.Algorithm = jwa.ES256
	}
	if cfg.JWKSMaxAge <= 0 {
		cfg.JWKSMaxAge = DefaultJWKSMaxAge
	}
	for _, sc := range cfg.AdvertiseScopes {
		if !validScopeToken(sc) {
			return nil, fmt.Errorf("advertised scope %q is not a valid scope", sc)
		}
	}
	cfg.AdvertiseScopes = slices.Clone(cfg.AdvertiseScopes)
	if cfg.RotationInterval == 0 {
		cfg.RotationInterval = DefaultRotationInterval
	}
	s := &Server{cfg: cfg, store: cfg.Store, log: cfg.Logger, now: cfg.Now, limiter: newFailureLimiter()}
	s.revoked.changed, s.draining = make(chan struct{}), make(chan struct{})
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.clientJWKS = newClientKeyCache(s.now, cfg.AllowPrivateClientJWKS)
	if s.store == nil {
		s.store, s.ownStore = OpenDir(cfg.DataDir), true
	}
	ctx := context.Background()
	// The revision is read before loading, so that a change made while
	// loading is loaded again by the next Refresh.
	var err error
	read := s.now()
	s.loaded.clients, s.loaded.keys, err = s.store.Revision(ctx)
	if err == nil {
		s.keys, err = OpenKeyStore(ctx, s.store, cfg.Algorithm, s.now())
	}
	if err == nil {
		s.clients, err = NewRegistry(ctx, s.store)
	}
	if err == nil {
		err = s.pollRevocations(ctx)
	}
	if err != nil {
		_ = s.Close()
		return nil, err
	}
	s.loaded.confirmed.Store(read.UnixNano())
	return s, nil
}

// Close releases the store when New opened it.
func (s *Server) Close() error {
	if !s.ownStore {
		return nil
	}
	return s.store.Close()
}

// KeyTimes reports when the newest signing key was created and when the
// next scheduled rotation is due (zero when rotation is off).
func (s *Server) KeyTimes() (newest, next time.Time) {
	newest = s.keys.Newest()
	if s.cfg.RotationInterval > 0 {
		next = newest.Add(s.cfg.RotationInterval)
	}
	return newest, next
}

// RotateKeys rolls in a new signing key now (published ahead of use) and
// returns its key ID.
func (s *Server) RotateKeys() (string, error) {
	return s.keys.Rotate(context.Background(), s.now(), s.cfg.PublishAhead(), KeyRetention)
}

// RunKeyRotation rotates keys every RotationInterval and drops expired ones,
// until ctx ends. The schedule follows the newest key's creation time in the
// key file, so it survives restarts.
func (s *Server) RunKeyRotation(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		s.rotationTick(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// rotationTick rotates the keys when the schedule says so and drops expired
// ones. Due is decided from the store inside its update, so replicas that
// tick together rotate once.
func (s *Server) rotationTick(ctx context.Context) {
	now := s.now()
	if s.cfg.RotationInterval > 0 && now.Sub(s.keys.Newest()) >= s.cfg.RotationInterval {
		kid, err := s.keys.RotateIfDue(ctx, now, s.cfg.RotationInterval, s.cfg.PublishAhead(), KeyRetention)
		switch {
		case err != nil:
			s.log.Error("scheduled key rotation failed", slog.Any("error", err))
		case kid != "":
			s.log.Info("rotated signing key", slog.String("kid", kid), slog.Time("signs_from", now.Add(s.cfg.PublishAhead())))
		}
	}
	if err := s.keys.Prune(ctx, now, KeyRetention); err != nil {
		s.log.Error("prune keys", slog.Any("error", err))
	}
}

// Clients returns the client registry.
func (s *Server) Clients() *Registry { return s.clients }

// Keys returns the key store.
func (s *Server) Keys() *KeyStore { return s.keys }

// TokenEndpoint returns the URL of the token endpoint.
func (s *Server) TokenEndpoint() string { return s.cfg.Issuer + "/oauth/token" }

// JWKSURI returns the URL of the JWKS document.
func (s *Server) JWKSURI() string { return s.cfg.Issuer + "/.well-known/jwks.json" }

// Handler serves the issuer's HTTP endpoints.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/oauth/token", s.handleToken)
	mux.HandleFunc("GET /.well-known/jwks.json", s.handleJWKS)
	mux.HandleFunc("GET /oauth/revocations", s.handleRevocations)
	mux.HandleFunc("/oauth/revoke", s.handleRevoke)
	mux.HandleFunc("/oauth/introspect", s.handleIntrospect)
	mux.HandleFunc("GET /.well-known/openid-configuration", s.handleMetadata)
	mux.HandleFunc("GET /.well-known/oauth-authorization-server", s.handleMetadata)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", s.handleReady)
	return mux
}

// Ready reports whether the issuer should take traffic (readiness probes):
// its clients and keys are confirmed current ([ErrStale] otherwise) and the
// store can be used now.
func (s *Server) Ready(ctx context.Context) error {
	if err := s.checkFresh(); err != nil {
		return err
	}
	if err := s.store.Ready(ctx); err != nil {
		return fmt.Errorf("store unavailable: %w", err)
	}
	return nil
}

// handleReady fails while the state is stale or the store cannot be used
// (a database that does not answer): a replica that cannot record anything,
// or may not know of a disabled client, should not take new traffic.
func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.Ready(ctx); err != nil {
		s.log.Warn("not ready", slog.Any("error", err))
		http.Error(w, "not ready", http.StatusServiceUnavailable)
		return
	}
	_, _ = w.Write([]byte("ok\n"))
}

func (s *Server) handleJWKS(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/jwk-set+json")
	w.Header().Set("Cache-Control", fmt.Sprintf("public, max-age=%d", int(s.cfg.JWKSMaxAge/time.Second)))
	_, _ = w.Write(s.keys.JWKS())
}

// authMethods are the client authentication methods of every endpoint
// that authenticates clients.
var authMethods = []string{"client_secret_basic", "client_secret_post", "private_key_jwt"}

func (s *Server) handleMetadata(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=300")
	doc := map[string]any{
		"issuer":                                s.cfg.Issuer,
		"token_endpoint":                        s.TokenEndpoint(),
		"jwks_uri":                              s.JWKSURI(),
		"grant_types_supported":                 []string{"client_credentials"},
		"response_types_supported":              []string{"token"},
		"token_endpoint_auth_methods_supported": authMethods,
		"token_endpoint_auth_signing_alg_values_supported": []string{"ES256", "ES384", "RS256", "PS256", "EdDSA"},
		"id_token_signing_alg_values_supported":            []string{string(s.cfg.Algorithm)},
		"subject_types_supported":                          []string{"public"},
		"revocation_endpoint":                              s.RevocationEndpoint(),
		"revocation_endpoint_auth_methods_supported":       authMethods,
		"introspection_endpoint":                           s.IntrospectionEndpoint(),
		"introspection_endpoint_auth_methods_supported":    authMethods,
		// A Tollgate extension: the feed verifiers subscribe to.
		"tollgate_revocation_feed_endpoint": s.RevocationsEndpoint(),
	}
	if len(s.cfg.AdvertiseScopes) > 0 {
		doc["scopes_supported"] = s.cfg.AdvertiseScopes
	}
	writeJSON(w, http.StatusOK, doc)
}

func newTokenID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
