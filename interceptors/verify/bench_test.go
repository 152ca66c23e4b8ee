package verify

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"math/big"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/tollgate-rpc/tollgate/internal/jwtest"
)

var benchAlgs = []jwa.SignatureAlgorithm{jwa.ES256, jwa.RS256, jwa.EdDSA}

// benchTokens returns n distinct tokens signed by one key of alg, and the
// verifier that trusts it.
func benchSetup(b *testing.B, alg jwa.SignatureAlgorithm, n int, opts ...Option) (*Verifier, *jwtest.Issuer, string, []string) {
	ti := jwtest.NewIssuer(b)
	kid := ti.AddKey(alg)
	v := newTestVerifier(b, []Issuer{{Issuer: ti.URL, Audiences: []string{"inventory"}}}, opts...)
	ctx := context.Background()
	if err := v.Ready(ctx); err != nil {
		b.Fatal(err)
	}
	tokens := make([]string, n)
	for i := range tokens {
		tokens[i] = ti.Sign(kid, nil, ti.Claims("inventory", map[string]any{"jti": fmt.Sprint(i)}))
	}
	return v, ti, kid, tokens
}

// BenchmarkVerifyCold verifies a token it has never seen each time: header
// and claims parsing, key lookup, signature, rules, and a cache insert.
func BenchmarkVerifyCold(b *testing.B) {
	for _, alg := range benchAlgs {
		b.Run(alg.String(), func(b *testing.B) {
			v, _, _, tokens := benchSetup(b, alg, 4096, WithCacheSize(16))
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if _, err := v.Verify(ctx, tokens[i%len(tokens)]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRawVerify is the signature check alone with the standard library:
// hash plus public-key verification of the same tokens.
func BenchmarkRawVerify(b *testing.B) {
	for _, alg := range benchAlgs {
		b.Run(alg.String(), func(b *testing.B) {
			_, ti, kid, tokens := benchSetup(b, alg, 64)
			pub := ti.Key(kid).Public()
			type parts struct{ input, sig []byte }
			ps := make([]parts, len(tokens))
			for i, tok := range tokens {
				j := strings.LastIndexByte(tok, '.')
				sig, _ := base64.RawURLEncoding.DecodeString(tok[j+1:])
				ps[i] = parts{[]byte(tok[:j]), sig}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				p := ps[i%len(ps)]
				var ok bool
				switch k := pub.(type) {
				case *ecdsa.PublicKey:
					h := sha256.Sum256(p.input)
					r, s := new(big.Int).SetBytes(p.sig[:32]), new(big.Int).SetBytes(p.sig[32:])
					ok = ecdsa.Verify(k, h[:], r, s)
				case *rsa.PublicKey:
					h := sha256.Sum256(p.input)
					ok = rsa.VerifyPKCS1v15(k, crypto.SHA256, h[:], p.sig) == nil
				case ed25519.PublicKey:
					ok = ed25519.Verify(k, p.input, p.sig)
				}
				if !ok {
					b.Fatal("signature did not verify")
				}
			}
		})
	}
}

// BenchmarkVerifyWarm verifies tokens already in the cache.
func BenchmarkVerifyWarm(b *testing.B) {
	v, _, _, tokens := benchSetup(b, jwa.ES256, 256)
	ctx := context.Background()
	for _, tok := range tokens {
		if _, err := v.Verify(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for i := range b.N {
			if _, err := v.Verify(ctx, tokens[i%len(tokens)]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if _, err := v.Verify(ctx, tokens[i%len(tokens)]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	})
}
