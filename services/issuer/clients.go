package issuer

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/tollgate-rpc/tollgate/interceptors/verify"
	"github.com/tollgate-rpc/tollgate/internal/egress"
)

// Client is one registered OAuth client.
type Client struct {
	ID           string   `json:"client_id"`
	Name         string   `json:"name"`
	SecretHashes []string `json:"secret_hashes,omitempty"` // current first, then the previous one
	// PreviousSecretExpires ends the previous secret's grace after a
	// rotation. Zero with two secrets means it never expires: registries
	// written before grace periods; `client revoke-previous` ends it.
	PreviousSecretExpires time.Time       `json:"previous_secret_expires,omitzero"`
	JWKS                  json.RawMessage `json:"jwks,omitempty"`     // public keys for private_key_jwt
	JWKSURI               string          `json:"jwks_uri,omitempty"` // or where to fetch them
	AllowedScopes         []string        `json:"allowed_scopes"`
	DefaultScopes         []string        `json:"default_scopes,omitempty"`
	AllowedAudiences      []string        `json:"allowed_audiences"`
	DefaultAudiences      []string        `json:"default_audiences,omitempty"`
	TokenLifetime         Duration        `json:"token_lifetime,omitzero"`
	ExtraClaims           map[string]any  `json:"extra_claims,omitempty"`
	Disabled              bool            `json:"disabled,omitempty"`
	// Introspect lets the client ask the introspection endpoint (RFC 7662)
	// about any token: for resource servers that cannot verify JWTs.
	Introspect bool      `json:"introspect,omitempty"`
	Created    time.Time `json:"created"`
}

// Duration is a time.Duration written as "15m0s" in JSON.
type Duration time.Duration

// MarshalJSON writes d as a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a Go duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// Token lifetime bounds.
const (
	DefaultTokenLifetime = 15 * time.Minute
	MaxTokenLifetime     = 24 * time.Hour
	MinTokenLifetime     = 30 * time.Second
)

// lifetime returns the client's token lifetime, defaulted.
func (c *Client) lifetime() time.Duration {
	if c.TokenLifetime == 0 {
		return DefaultTokenLifetime
	}
	return time.Duration(c.TokenLifetime)
}

// reservedClaims may not be set through ExtraClaims.
var reservedClaims = []string{"iss", "sub", "aud", "exp", "iat", "nbf", "jti", "client_id", "scope"}

var validID = regexp.MustCompile(`^[A-Za-z0-9._~-]{1,128}$`)

func validScopeToken(s string) bool {
	return s != "" && !strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == '"' || r == '\\' || r > '~' })
}

// Validate checks the client's settings.
func (c *Client) Validate() error {
	if !validID.MatchString(c.ID) {
		return fmt.Errorf("client ID %q: use 1-128 characters of [A-Za-z0-9._~-]", c.ID)
	}
	for _, s := range c.AllowedScopes {
		if !validScopeToken(s) {
			return fmt.Errorf("client %s: invalid scope %q", c.ID, s)
		}
	}
	if len(c.AllowedAudiences) == 0 {
		return fmt.Errorf("client %s: no allowed audiences", c.ID)
	}
	for _, a := range c.AllowedAudiences {
		if !validScopeToken(a) {
			return fmt.Errorf("client %s: invalid audience %q", c.ID, a)
		}
	}
	if d := subtract(c.DefaultScopes, c.AllowedScopes); len(d) > 0 {
		return fmt.Errorf("client %s: default scopes %v are not allowed scopes", c.ID, d)
	}
	if len(c.DefaultAudiences) > 1 {
		return fmt.Errorf("client %s: %d default audiences; at most one, so that a token is valid at one service unless several are asked for", c.ID, len(c.DefaultAudiences))
	}
	if d := subtract(c.DefaultAudiences, c.AllowedAudiences); len(d) > 0 {
		return fmt.Errorf("client %s: default audiences %v are not allowed audiences", c.ID, d)
	}
	if l := c.lifetime(); l < MinTokenLifetime || l > MaxTokenLifetime {
		return fmt.Errorf("client %s: token lifetime %s outside [%s, %s]", c.ID, l, MinTokenLifetime, MaxTokenLifetime)
	}
	for name := range c.ExtraClaims {
		if slices.Contains(reservedClaims, name) {
			return fmt.Errorf("client %s: extra claim %q is reserved", c.ID, name)
		}
	}
	if len(c.JWKS) > 0 {
		if err := validateClientJWKS(c.JWKS); err != nil {
			return fmt.Errorf("client %s: jwks: %w", c.ID, err)
		}
	}
	if c.JWKSURI != "" {
		// The client's keys decide which assertions are genuine: fetched
		// over https, or plain http only on this machine.
		if err := egress.CheckURL("jwks_uri", c.JWKSURI, false); err != nil {
			return fmt.Errorf("client %s: %w", c.ID, err)
		}
	}
	if len(c.SecretHashes) > 2 {
		return fmt.Errorf("client %s: %d secrets; at most 2 may be active", c.ID, len(c.SecretHashes))
	}
	if !c.PreviousSecretExpires.IsZero() && len(c.SecretHashes) < 2 {
		return fmt.Errorf("client %s: previous secret expiry without a previous secret", c.ID)
	}
	return nil
}

// Secret rotation grace bounds.
const (
	DefaultSecretGrace = 24 * time.Hour
	MaxSecretGrace     = 30 * 24 * time.Hour
)

// RotateSecret makes secret's digest the client's secret. The current
// secret stays valid for grace, so that callers can be moved over; a grace
// of zero revokes it now. Any earlier previous secret is revoked.
func (c *Client) RotateSecret(secret string, now time.Time, grace time.Duration) error {
	if grace < 0 || grace > MaxSecretGrace {
		return fmt.Errorf("previous secret grace %s outside [0, %s]", grace, MaxSecretGrace)
	}
	next := []string{HashSecret(secret)}
	c.PreviousSecretExpires = time.Time{}
	if grace > 0 && len(c.SecretHashes) > 0 {
		next = append(next, c.SecretHashes[0])
		c.PreviousSecretExpires = now.Add(grace).UTC()
	}
	c.SecretHashes = next
	return nil
}

// RevokePreviousSecret ends the previous secret's grace now.
func (c *Client) RevokePreviousSecret() {
	c.SecretHashes = c.SecretHashes[:min(len(c.SecretHashes), 1)]
	c.PreviousSecretExpires = time.Time{}
}

// previousSecretValid reports whether the previous secret is accepted at now.
func (c *Client) previousSecretValid(now time.Time) bool {
	return len(c.SecretHashes) > 1 && (c.PreviousSecretExpires.IsZero() || now.Before(c.PreviousSecretExpires))
}

// subtract returns the elements of a not in b.
func subtract(a, b []string) []string {
	var out []string
	for _, s := range a {
		if !slices.Contains(b, s) {
			out = append(out, s)
		}
	}
	return out
}

// Secrets are 256 random bits, base64url without padding. Because they are
// random, not chosen by people, one SHA-256 is enough to store them: a leaked
// registry reveals only digests, and finding a 256-bit preimage is as
// infeasible as guessing the secret. A slow password hash (bcrypt, pbkdf2)
// only helps against low-entropy secrets, and would cost every token request
// tens of milliseconds; SHA-256 costs about a microsecond.
const secretBytes = 32

const hashPrefix = "sha256:"

// NewSecret returns a fresh client secret.
func NewSecret() (string, error) {
	b := make([]byte, secretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// HashSecret returns the stored form of a secret.
func HashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hashPrefix + base64.RawURLEncoding.EncodeToString(sum[:])
}

// checkSecret reports whether secret matches the client's secret, or its
// previous one during its grace, in time independent of where they differ.
func (c *Client) checkSecret(secret string, now time.Time) bool {
	got := []byte(HashSecret(secret))
	ok := 0
	for i, h := range c.SecretHashes {
		if i == 0 || c.previousSecretValid(now) {
			ok |= subtle.ConstantTimeCompare(got, []byte(h))
		}
	}
	return ok == 1
}

// Registry is the issuer's view of the registered clients: the store's,
// held in memory so token requests never wait on the store.
type Registry struct {
	store Store

	mu      sync.RWMutex
	clients map[string]*Client
}

// ErrUnknownClient is returned for a client ID that is not registered.
var ErrUnknownClient = errors.New("unknown client")

// NewRegistry loads the clients of store.
func NewRegistry(ctx context.Context, store Store) (*Registry, error) {
	r := &Registry{store: store}
	if err := r.Reload(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

// Reload rereads the clients from the store. On error the registry keeps
// the clients it had.
func (r *Registry) Reload(ctx context.Context) error {
	next, err := r.store.Clients(ctx)
	if err != nil {
		return err
	}
	r.swap(next)
	return nil
}

func (r *Registry) swap(next map[string]*Client) {
	r.mu.Lock()
	r.clients = next
	r.mu.Unlock()
}

// Lookup returns the client with id.
func (r *Registry) Lookup(id string) (*Client, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	c, ok := r.clients[id]
	return c, ok
}

// List returns every client, sorted by ID.
func (r *Registry) List() []*Client {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := slices.Collect(maps.Values(r.clients))
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Update applies fn to the latest stored clients and stores the result
// ([Store.UpdateClients]); the registry changes only when both succeed. The
// memory copy is locked only to swap it, so token requests never wait on
// the store.
func (r *Registry) Update(ctx context.Context, fn func(clients map[string]*Client) error) error {
	next, err := r.store.UpdateClients(ctx, fn)
	if err != nil {
		return err
	}
	r.swap(next)
	return nil
}

// RevokeTokens revokes every token client was issued until now (after a
// disable, a removal or a leaked secret): verifiers subscribed to the
// issuer's revocation feed refuse them within about a second.
func (r *Registry) RevokeTokens(ctx context.Context, client string, now time.Time) error {
	return r.store.Revoke(ctx, []Revocation{ClientRevocation(client, now)}, now)
}

// validateClientJWKS accepts only public asymmetric keys with key IDs.
func validateClientJWKS(raw []byte) error {
	set, err := jwk.Parse(raw)
	if err != nil {
		return err
	}
	return checkClientKeys(set)
}

// checkClientKeys accepts a set of public, asymmetric keys, each with its
// own kid, RSA keys of at least 2048 bits.
func checkClientKeys(set jwk.Set) error {
	if set.Len() == 0 {
		return errors.New("no keys")
	}
	kids := make(map[string]bool, set.Len())
	for i := range set.Len() {
		k, _ := set.Key(i)
		if k.KeyType() == jwa.OctetSeq {
			return errors.New("symmetric keys are not allowed")
		}
		if private, err := jwk.IsPrivateKey(k); err != nil || private {
			return errors.New("keys must be public")
		}
		if k.KeyID() == "" {
			return errors.New("every key needs a kid")
		}
		if kids[k.KeyID()] {
			return fmt.Errorf("kid %q names two keys", k.KeyID())
		}
		kids[k.KeyID()] = true
		if err := verify.CheckKeyStrength(k); err != nil {
			return err
		}
	}
	return nil
}
