package issuer

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
)

// Config configures a Server.
type Config struct {
	// Issuer is the `iss` of every token and the base URL of the endpoints,
	// such as "https://issuer.internal:8400". No trailing slash.
	Issuer string
	// DataDir holds keys.json and clients.json.
	DataDir string
	// Algorithm signs tokens: ES256 (default), RS256 or EdDSA.
	Algorithm jwa.SignatureAlgorithm
	// Logger receives one line per token request; nil discards.
	Logger *slog.Logger
	// Now is the clock, for tests; nil means time.Now.
	Now func() time.Time
}

// Server is the token issuer.
type Server struct {
	cfg        Config
	keys       *KeyStore
	clients    *Registry
	assertions *replayCache
	log        *slog.Logger
	now        func() time.Time
}

// New opens (or creates) the data directory's keys and client registry.
func New(cfg Config) (*Server, error) {
	if cfg.Issuer == "" || strings.HasSuffix(cfg.Issuer, "/") {
		return nil, fmt.Errorf("issuer URL %q: must be set, without a trailing slash", cfg.Issuer)
	}
	if cfg.DataDir == "" {
		return nil, errors.New("issuer: no data directory")
	}
	if cfg.Algorithm == "" {
		cfg.Algorithm = jwa.ES256
	}
	s := &Server{cfg: cfg, log: cfg.Logger, now: cfg.Now, assertions: newReplayCache()}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	var err error
	if s.keys, err = OpenKeyStore(filepath.Join(cfg.DataDir, "keys.json"), cfg.Algorithm, s.now()); err != nil {
		return nil, err
	}
	if s.clients, err = OpenRegistry(filepath.Join(cfg.DataDir, "clients.json")); err != nil {
		return nil, err
	}
	return s, nil
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
	mux.HandleFunc("GET /.well-known/openid-configuration", s.handleMetadata)
	mux.HandleFunc("GET /.well-known/oauth-authorization-server", s.handleMetadata)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	return mux
}

func (s *Server) handleJWKS(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/jwk-set+json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(s.keys.JWKS())
}

func (s *Server) handleMetadata(w http.ResponseWriter, _ *http.Request) {
	scopes := map[string]bool{}
	for _, c := range s.clients.List() {
		for _, sc := range c.AllowedScopes {
			scopes[sc] = true
		}
	}
	list := make([]string, 0, len(scopes))
	for sc := range scopes {
		list = append(list, sc)
	}
	slices.Sort(list)
	w.Header().Set("Cache-Control", "public, max-age=300")
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                s.cfg.Issuer,
		"token_endpoint":                        s.TokenEndpoint(),
		"jwks_uri":                              s.JWKSURI(),
		"grant_types_supported":                 []string{"client_credentials"},
		"response_types_supported":              []string{"token"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post", "private_key_jwt"},
		"token_endpoint_auth_signing_alg_values_supported": []string{"ES256", "ES384", "RS256", "PS256", "EdDSA"},
		"scopes_supported":                      list,
		"id_token_signing_alg_values_supported": []string{string(s.cfg.Algorithm)},
		"subject_types_supported":               []string{"public"},
	})
}

func newTokenID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
