package verify

import (
	"crypto/rsa"
	"fmt"
	"math/big"

	"github.com/lestrrat-go/jwx/v2/jwk"
)

// MinRSABits is the smallest RSA modulus accepted for a signature key
// (NIST SP 800-131A, RFC 7518 §3.3): a 1024-bit key is within reach of a
// well-funded attacker, and a token it signed proves little.
const MinRSABits = 2048

// CheckKeyStrength refuses a key too weak to trust with signatures: an RSA
// key under MinRSABits. Elliptic-curve and Ed25519 keys come in fixed,
// strong sizes. The issuer applies the same rule to clients' keys.
func CheckKeyStrength(k jwk.Key) error {
	var raw any
	if err := k.Raw(&raw); err != nil {
		return fmt.Errorf("key %q: %w", k.KeyID(), err)
	}
	var modulus *big.Int
	switch key := raw.(type) {
	case *rsa.PublicKey:
		modulus = key.N
	case *rsa.PrivateKey:
		modulus = key.N
	}
	if modulus != nil && modulus.BitLen() < MinRSABits {
		return fmt.Errorf("key %q: RSA key of %d bits; at least %d are required", k.KeyID(), modulus.BitLen(), MinRSABits)
	}
	return nil
}
