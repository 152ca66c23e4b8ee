package issuer

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// KeyEncryptionKeys encrypt signing keys at rest, as Hydra's SECRETS_SYSTEM
// does: the first key encrypts, every key decrypts. To rotate, put a new
// secret first and keep the old one after it until every stored key has
// been rewritten under the new one (the next key rotation rewrites them all);
// then drop the old one.
type KeyEncryptionKeys []cipher.AEAD

// ParseKeyEncryptionKeys reads secrets, one per line (blank lines and #
// comments ignored); each becomes an AES-256-GCM key through SHA-256. The
// first, which encrypts, must be key material: base64 of at least 32
// random bytes, as `openssl rand -base64 32` prints. Placeholders and
// low-entropy values are refused by name; a line after the first (one that
// only decrypts, kept while rotating away from it) may still be a
// passphrase of 32 or more characters, as earlier releases accepted.
func ParseKeyEncryptionKeys(text string) (KeyEncryptionKeys, error) {
	var out KeyEncryptionKeys
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if err := checkKEK(line, len(out) == 0); err != nil {
			return nil, fmt.Errorf("key-encryption key on line %d: %w", i+1, err)
		}
		sum := sha256.Sum256([]byte(line))
		block, err := aes.NewCipher(sum[:])
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		out = append(out, aead)
	}
	if len(out) == 0 {
		return nil, errors.New("no key-encryption key given")
	}
	return out, nil
}

// minKEKBytes is how much key material an encrypting KEK carries.
const minKEKBytes = 32

// kekPlaceholders are words of the values that examples and manifests ship
// (never usable, whatever their length).
var kekPlaceholders = []string{"replace", "changeme", "change-me", "placeholder"}

// checkKEK refuses a key-encryption key anyone could guess. encrypts is
// set for the first key, which must be base64 key material; the others
// only decrypt what is stored (rotating away from them), so they need only
// be what earlier releases accepted.
func checkKEK(line string, encrypts bool) error {
	const howTo = "make one with `openssl rand -base64 32`"
	if !encrypts {
		if len(line) < 32 {
			return fmt.Errorf("%d characters; at least 32", len(line))
		}
		return nil
	}
	lower := strings.ToLower(line)
	for _, p := range kekPlaceholders {
		if strings.Contains(lower, p) {
			return fmt.Errorf("a placeholder (it contains %q), not a key; %s", p, howTo)
		}
	}
	material, err := decodeBase64(line)
	if err != nil {
		return fmt.Errorf("not base64 key material; %s", howTo)
	}
	if len(material) < minKEKBytes {
		return fmt.Errorf("%d bytes of key material; at least %d (%s)", len(material), minKEKBytes, howTo)
	}
	// 32 random bytes hold about 30 distinct values; fewer than 16 means a
	// pattern, not a key.
	distinct := map[byte]bool{}
	for _, c := range material {
		distinct[c] = true
	}
	if len(distinct) < 16 {
		return fmt.Errorf("too little entropy (%d distinct values in %d bytes): a pattern, not a random key; %s", len(distinct), len(material), howTo)
	}
	return nil
}

// decodeBase64 reads standard or URL-safe base64, padded or not.
func decodeBase64(s string) ([]byte, error) {
	var err error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		var b []byte
		if b, err = enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, err
}

func (k KeyEncryptionKeys) seal(plain []byte, kid string) ([]byte, error) {
	if len(k) == 0 {
		return nil, errNoKEK
	}
	nonce := make([]byte, k[0].NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return k[0].Seal(nonce, nonce, plain, []byte(kid)), nil
}

// errNoKEK is the error of a store opened without key-encryption keys (by
// commands that manage clients or revocations only) when something reads
// or writes a signing key.
var errNoKEK = errors.New("no key-encryption key: signing keys are encrypted in the database; give --key-encryption-key-file (or TOLLGATE_KEY_ENCRYPTION_KEY)")

func (k KeyEncryptionKeys) open(sealed []byte, kid string) ([]byte, error) {
	if len(k) == 0 {
		return nil, errNoKEK
	}
	for _, aead := range k {
		n := aead.NonceSize()
		if len(sealed) < n {
			break
		}
		if plain, err := aead.Open(nil, sealed[:n], sealed[n:], []byte(kid)); err == nil {
			return plain, nil
		}
	}
	return nil, errors.New("cannot decrypt the private key with any key-encryption key given")
}
