package issuer

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// SupportedAlgorithms are the signing algorithms the issuer can use.
var SupportedAlgorithms = []jwa.SignatureAlgorithm{jwa.ES256, jwa.RS256, jwa.EdDSA}

// SigningKey is one key of the issuer, in the order of its life: published
// (in the JWKS, not yet signing), signing from SignFrom, retired at
// RetiredAt when a newer key starts signing, and dropped from the JWKS once
// every token it signed has expired. A [Store] keeps its exported fields.
type SigningKey struct {
	Kid       string                 `json:"kid"`
	Alg       jwa.SignatureAlgorithm `json:"alg"`
	Private   json.RawMessage        `json:"private_jwk"`
	Created   time.Time              `json:"created"`
	SignFrom  time.Time              `json:"sign_from"`
	RetiredAt time.Time              `json:"retired_at,omitzero"`

	raw    crypto.Signer // parsed private key
	pub    jwk.Key       // public JWK with kid, alg and use
	signer jws.Signer    // the algorithm's signer
	header string        // base64url of the access tokens' protected header
}

// KeyStore is the issuer's view of its signing keys: the store's, parsed and
// held in memory with the JWKS document they make.
type KeyStore struct {
	store Store
	alg   jwa.SignatureAlgorithm

	mu   sync.RWMutex
	keys []*SigningKey // oldest first
	jwks []byte        // the public JWKS document, rebuilt on change
}

// OpenKeyStore loads the keys of store, creating one signing key of alg
// when it holds none.
func OpenKeyStore(ctx context.Context, store Store, alg jwa.SignatureAlgorithm, now time.Time) (*KeyStore, error) {
	if !slices.Contains(SupportedAlgorithms, alg) {
		return nil, fmt.Errorf("signing algorithm %q not supported (use one of %v)", alg, SupportedAlgorithms)
	}
	ks := &KeyStore{store: store, alg: alg}
	keys, err := store.Keys(ctx)
	if err != nil {
		return nil, err
	}
	if len(keys) > 0 {
		return ks, ks.install(keys)
	}
	// The first key is made in an update: two processes starting on a new
	// store agree on one.
	err = ks.update(ctx, func(keys []*SigningKey) ([]*SigningKey, bool, error) {
		if len(keys) > 0 {
			return keys, false, nil
		}
		k, err := newSigningKey(alg, now, now)
		return []*SigningKey{k}, true, err
	})
	if err != nil {
		return nil, err
	}
	return ks, nil
}

// Reload rereads the keys from the store, picking up a rotation made by
// another process (tollgate issuer keys rotate) or replica. On error the
// key store keeps the keys it had.
func (ks *KeyStore) Reload(ctx context.Context) error {
	keys, err := ks.store.Keys(ctx)
	if err != nil {
		return err
	}
	return ks.install(keys)
}

// update applies fn to the latest stored keys ([Store.UpdateKeys]) and
// installs the result, so that a running issuer and `tollgate issuer keys
// rotate` never lose each other's keys.
func (ks *KeyStore) update(ctx context.Context, fn func(keys []*SigningKey) (next []*SigningKey, changed bool, err error)) error {
	keys, err := ks.store.UpdateKeys(ctx, fn)
	if err != nil {
		return err
	}
	return ks.install(keys)
}

// install parses keys and makes them the ones served and used for signing.
func (ks *KeyStore) install(keys []*SigningKey) error {
	if len(keys) == 0 {
		return errNoKeys
	}
	set := jwk.NewSet()
	for _, k := range keys {
		if k.pub == nil {
			if err := k.parse(); err != nil {
				return fmt.Errorf("signing key %s: %w", k.Kid, err)
			}
		}
		if err := set.AddKey(k.pub); err != nil {
			return err
		}
	}
	doc, err := json.Marshal(set)
	if err != nil {
		return err
	}
	ks.mu.Lock()
	ks.keys, ks.jwks = keys, doc
	ks.mu.Unlock()
	return nil
}

// JWKS returns the public key set document.
func (ks *KeyStore) JWKS() []byte {
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	return ks.jwks
}

// signer returns the key that signs at now: the newest whose SignFrom has
// passed. Keys published ahead of their time are skipped.
func (ks *KeyStore) signer(now time.Time) (*SigningKey, error) {
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	for i := len(ks.keys) - 1; i >= 0; i-- {
		if k := ks.keys[i]; !now.Before(k.SignFrom) {
			return k, nil
		}
	}
	return nil, errors.New("no key may sign yet")
}

// Rotate publishes a new key that starts signing after publishAhead (so every
// verifier's JWKS cache has seen it first), marks the current key to retire
// then, and drops keys retired more than retention ago (retention must cover
// the longest token lifetime). The file is saved before it returns.
func (ks *KeyStore) Rotate(ctx context.Context, now time.Time, publishAhead, retention time.Duration) (kid string, err error) {
	return ks.rotate(ctx, now, publishAhead, retention, 0)
}

// RotateIfDue rotates as Rotate does, but only when the newest stored key
// is at least interval old; it returns "" when it was not. The check reads
// the store inside the store's update, so that of several replicas running
// the same schedule exactly one rotates.
func (ks *KeyStore) RotateIfDue(ctx context.Context, now time.Time, interval, publishAhead, retention time.Duration) (kid string, err error) {
	return ks.rotate(ctx, now, publishAhead, retention, interval)
}

func (ks *KeyStore) rotate(ctx context.Context, now time.Time, publishAhead, retention, ifOlder time.Duration) (kid string, err error) {
	next, err := newSigningKey(ks.alg, now, now.Add(publishAhead))
	if err != nil {
		return "", err
	}
	rotated := false
	err = ks.update(ctx, func(keys []*SigningKey) ([]*SigningKey, bool, error) {
		if ifOlder > 0 && len(keys) > 0 && now.Sub(keys[len(keys)-1].Created) < ifOlder {
			return keys, false, nil // another process rotated already
		}
		rotated = true
		for _, k := range keys {
			if k.RetiredAt.IsZero() || k.RetiredAt.After(next.SignFrom) {
				k.RetiredAt = next.SignFrom
			}
		}
		return append(pruned(keys, now, retention), next), true, nil
	})
	if err != nil || !rotated {
		return "", err
	}
	return next.Kid, nil
}

// Prune drops keys whose tokens have all expired, and saves when it did.
func (ks *KeyStore) Prune(ctx context.Context, now time.Time, retention time.Duration) error {
	return ks.update(ctx, func(keys []*SigningKey) ([]*SigningKey, bool, error) {
		keep := pruned(keys, now, retention)
		return keep, len(keep) != len(keys), nil
	})
}

// pruned returns the keys still needed, in a new slice.
func pruned(keys []*SigningKey, now time.Time, retention time.Duration) []*SigningKey {
	keep := keys[:0:0]
	for _, k := range keys {
		if k.RetiredAt.IsZero() || now.Before(k.RetiredAt.Add(retention)) {
			keep = append(keep, k)
		}
	}
	return keep
}

// Newest returns when the newest key was created.
func (ks *KeyStore) Newest() time.Time {
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	return ks.keys[len(ks.keys)-1].Created
}

func newSigningKey(alg jwa.SignatureAlgorithm, created, signFrom time.Time) (*SigningKey, error) {
	var raw crypto.Signer
	var err error
	switch alg {
	case jwa.ES256:
		raw, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case jwa.RS256:
		raw, err = rsa.GenerateKey(rand.Reader, 2048)
	case jwa.EdDSA:
		_, raw, err = ed25519.GenerateKey(rand.Reader)
	default:
		err = fmt.Errorf("unsupported algorithm %s", alg)
	}
	if err != nil {
		return nil, fmt.Errorf("generate %s key: %w", alg, err)
	}
	priv, err := jwk.FromRaw(raw)
	if err != nil {
		return nil, err
	}
	thumb, err := priv.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, err
	}
	k := &SigningKey{
		Kid:      base64.RawURLEncoding.EncodeToString(thumb), // RFC 7638 thumbprint
		Alg:      alg,
		Created:  created.UTC(),
		SignFrom: signFrom.UTC(),
	}
	if err := priv.Set(jwk.KeyIDKey, k.Kid); err != nil {
		return nil, err
	}
	if k.Private, err = json.Marshal(priv); err != nil {
		return nil, err
	}
	return k, k.parse()
}

// parse fills raw and pub from Private.
func (k *SigningKey) parse() error {
	priv, err := jwk.ParseKey(k.Private)
	if err != nil {
		return err
	}
	var raw any
	if err := priv.Raw(&raw); err != nil {
		return err
	}
	signer, ok := raw.(crypto.Signer)
	if !ok {
		return fmt.Errorf("not a private key")
	}
	k.raw = signer
	if k.signer, err = jws.NewSigner(k.Alg); err != nil {
		return err
	}
	hdr, err := json.Marshal(struct {
		Alg jwa.SignatureAlgorithm `json:"alg"`
		Kid string                 `json:"kid"`
		Typ string                 `json:"typ"`
	}{k.Alg, k.Kid, "at+jwt"})
	if err != nil {
		return err
	}
	k.header = base64.RawURLEncoding.EncodeToString(hdr)
	pub, err := priv.PublicKey()
	if err != nil {
		return err
	}
	for name, v := range map[string]any{jwk.KeyIDKey: k.Kid, jwk.AlgorithmKey: k.Alg, jwk.KeyUsageKey: jwk.ForSignature} {
		if err := pub.Set(name, v); err != nil {
			return err
		}
	}
	k.pub = pub
	return nil
}
