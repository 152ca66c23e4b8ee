// Package trust turns what an operator writes — flags for one issuer, or a
// YAML trust file for several — into the verifier's [verify.Issuer] list,
// with each issuer's profile filling in what the operator left out.
package trust

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"slices"
	"strings"

	"github.com/tollgate-rpc/tollgate/interceptors/verify"
	"github.com/tollgate-rpc/tollgate/internal/egress"
	"gopkg.in/yaml.v3"
)

// Spec is one trusted issuer as configured. Nil fields are the profile's.
type Spec struct {
	Issuer  string `yaml:"issuer"`
	JWKSURL string `yaml:"jwks_url"`
	// RevocationFeedURL is a Tollgate issuer's revocation feed, for an
	// issuer whose keys are configured by name (jwks_url); with discovery
	// it is found there.
	RevocationFeedURL string   `yaml:"revocation_feed_url"`
	Audiences         []string `yaml:"audiences"`
	Profile           string   `yaml:"profile"`
	AllowJWTType      *bool    `yaml:"allow_jwt_type"`
	ScopeClaims       []string `yaml:"scope_claims"`
	ClientIDClaims    []string `yaml:"client_id_claims"`
	RequiredClaims    []string `yaml:"required_claims"`
	// ClientOptional accepts tokens that name no client; by default a
	// token from which no client ID is found is refused.
	ClientOptional bool `yaml:"client_optional"`
}

// MaxFileBytes bounds a trust file: a list of issuers, not a data dump.
const MaxFileBytes = 1 << 20

// File is a trust file: `issuers:`, a list of Specs.
type File struct {
	Issuers []Spec `yaml:"issuers"`
}

// Resolve applies the spec's profile (tollgate when none is named) and the
// explicit fields over it.
func (s Spec) Resolve() (verify.Issuer, error) {
	name := s.Profile
	if name == "" {
		name = "tollgate"
	}
	p, ok := verify.LookupProfile(name)
	if !ok {
		return verify.Issuer{}, fmt.Errorf("unknown issuer profile %q (the profiles: %s)", name, strings.Join(verify.ProfileNames(), ", "))
	}
	if s.Issuer == "" {
		return verify.Issuer{}, errors.New("issuer: missing")
	}
	if u, err := url.Parse(s.Issuer); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return verify.Issuer{}, fmt.Errorf("issuer %q: not an http(s) URL", s.Issuer)
	}
	if p.Name == "auth0" && !strings.HasSuffix(s.Issuer, "/") {
		s.Issuer += "/" // Auth0's iss is the tenant URL with its trailing slash
	}
	if len(s.Audiences) == 0 {
		return verify.Issuer{}, fmt.Errorf("issuer %s: audiences: at least one", s.Issuer)
	}
	if err := egress.CheckKeysURL(s.Issuer, s.JWKSURL); s.JWKSURL != "" && err != nil {
		return verify.Issuer{}, fmt.Errorf("jwks_url: %w", err)
	}
	if err := egress.CheckKeysURL(s.Issuer, s.RevocationFeedURL); s.RevocationFeedURL != "" && err != nil {
		return verify.Issuer{}, fmt.Errorf("revocation_feed_url: %w", err)
	}
	is := p.Apply(verify.Issuer{Issuer: s.Issuer, JWKSURL: s.JWKSURL, RevocationFeedURL: s.RevocationFeedURL, Audiences: slices.Clone(s.Audiences),
		ScopeClaims: slices.Clone(s.ScopeClaims), ClientIDClaims: slices.Clone(s.ClientIDClaims), RequiredClaims: slices.Clone(s.RequiredClaims)})
	if s.AllowJWTType != nil { // explicit, even false, beats the profile
		is.AllowJWTType = *s.AllowJWTType
	}
	is.ClientOptional = s.ClientOptional
	return is, nil
}

// Load reads a trust file, refusing unknown fields, with the line of what
// is wrong named.
func Load(path string) ([]verify.Issuer, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("trust file: %w", err)
	}
	defer file.Close()
	data, err := io.ReadAll(io.LimitReader(file, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("trust file %s: %w", path, err)
	}
	if len(data) > MaxFileBytes {
		return nil, fmt.Errorf("trust file %s: larger than %d bytes", path, MaxFileBytes)
	}
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("trust file %s: empty; want an issuers: list", path)
		}
		return nil, fmt.Errorf("trust file %s: %w", path, err)
	}
	var f File
	strict := yaml.NewDecoder(bytes.NewReader(data))
	strict.KnownFields(true)
	if err := strict.Decode(&f); err != nil {
		return nil, fmt.Errorf("trust file %s: %w", path, err)
	}
	var more yaml.Node
	if err := strict.Decode(&more); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("trust file %s: more than one YAML document; put every issuer in the first one's issuers: list", path)
	}
	if len(f.Issuers) == 0 {
		return nil, fmt.Errorf("trust file %s: no issuers; want an issuers: list", path)
	}
	lines := issuerLines(&root)
	var out []verify.Issuer
	seen := map[string]bool{}
	for i, spec := range f.Issuers {
		where := fmt.Sprintf("trust file %s: issuers[%d]", path, i)
		if i < len(lines) {
			where = fmt.Sprintf("trust file %s: line %d: issuers[%d]", path, lines[i], i)
		}
		is, err := spec.Resolve()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		if seen[is.Issuer] {
			return nil, fmt.Errorf("%s: issuer %s listed twice", where, is.Issuer)
		}
		seen[is.Issuer] = true
		out = append(out, is)
	}
	return out, nil
}

// issuerLines returns the line of each entry of the issuers list.
func issuerLines(root *yaml.Node) []int {
	if root.Kind != yaml.DocumentNode || len(root.Content) == 0 {
		return nil
	}
	m := root.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == "issuers" {
			var lines []int
			for _, e := range m.Content[i+1].Content {
				lines = append(lines, e.Line)
			}
			return lines
		}
	}
	return nil
}

// SplitList splits a comma-separated flag value, dropping blanks; nil when
// the value is empty, so that an unset flag leaves the profile's default.
func SplitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
