// Package egress holds the rules every HTTP request that carries or fetches
// a credential follows (token requests, JWKS and discovery fetches, client
// key sets): where a URL may point, and which redirects are followed. A
// client secret, a client assertion or the keys that decide which tokens
// are genuine leave the process only over TLS, or in the clear to loopback,
// unless the caller names plaintext explicitly; a redirect never takes them
// off https, and a token request is never redirected at all (RFC 6749 has
// no redirects at the token endpoint, and a 307 would replay the secret).
package egress

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
)

// ErrPlaintext is wrapped by the errors of URLs that would send a
// credential in the clear off the machine.
var ErrPlaintext = errors.New("plaintext outside loopback")

// maxRedirects is how many redirects a key or discovery fetch follows, as
// net/http's default policy.
const maxRedirects = 10

// LoopbackHost reports whether host (no port) is localhost or a loopback
// address, where plaintext never leaves the machine.
func LoopbackHost(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}

// CheckURL accepts an absolute https URL, or an http URL whose host is
// loopback; an http URL elsewhere only when allowPlaintext is set. what
// names the URL in errors ("token URL", "JWKS URL").
func CheckURL(what, raw string, allowPlaintext bool) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Errorf("%s %q: want an absolute https URL", what, u.Redacted())
	}
	if u.Scheme == "http" && !LoopbackHost(u.Hostname()) && !allowPlaintext {
		return fmt.Errorf("%s %s is plain http to a host that is not loopback: %w", what, u.Redacted(), ErrPlaintext)
	}
	return nil
}

// CheckKeysURL refuses a JWKS URL configured for an https issuer that is
// plain http off loopback: the keys that decide which of its tokens are
// genuine would travel where anyone on the path could replace them.
func CheckKeysURL(issuer, jwksURL string) error {
	if !strings.HasPrefix(strings.ToLower(issuer), "https://") || strings.HasPrefix(strings.ToLower(jwksURL), "https://") {
		return nil
	}
	if CheckURL("JWKS URL", jwksURL, false) == nil {
		return nil
	}
	return fmt.Errorf("JWKS URL %s is plain http off loopback although the issuer %s is https", jwksURL, issuer)
}

// HTTPSOnly is a CheckRedirect policy for fetches of keys and metadata:
// it follows a redirect only to https, or to http on a loopback host from
// an http request (a local issuer), at most ten times.
func HTTPSOnly(req *http.Request, via []*http.Request) error {
	prev, to := via[len(via)-1].URL, req.URL
	switch {
	case len(via) >= maxRedirects:
		return fmt.Errorf("stopped after %d redirects", maxRedirects)
	case to.Scheme == "https":
		return nil
	case to.Scheme == "http" && prev.Scheme == "http" && LoopbackHost(to.Hostname()):
		return nil
	}
	return fmt.Errorf("refusing the redirect from %s to %s: it leaves https", prev.Redacted(), to.Redacted())
}

// NoRedirect is the CheckRedirect policy of token requests, which carry the
// client's credentials: no redirect is followed, and the 3xx answer is an
// error naming where it pointed.
func NoRedirect(req *http.Request, via []*http.Request) error {
	return fmt.Errorf("refusing the redirect from %s to %s: a token request is never redirected", via[len(via)-1].URL.Redacted(), req.URL.Redacted())
}

// Secure returns a copy of c (nil: a new client) whose redirects obey
// HTTPSOnly, and then c's own policy: for a client the caller supplied.
func Secure(c *http.Client) *http.Client {
	if c == nil {
		return &http.Client{CheckRedirect: HTTPSOnly}
	}
	out := *c
	own := out.CheckRedirect
	out.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if err := HTTPSOnly(req, via); err != nil || own == nil {
			return err
		}
		return own(req, via)
	}
	return &out
}

// NoRedirects returns a copy of c (nil: a new client) whose redirects obey
// NoRedirect, whatever its own policy: for a caller-supplied client making
// token requests.
func NoRedirects(c *http.Client) *http.Client {
	if c == nil {
		return &http.Client{CheckRedirect: NoRedirect}
	}
	out := *c
	out.CheckRedirect = NoRedirect
	return &out
}

// ErrNotPublic is wrapped by the errors of connections that PublicOnly
// refuses.
var ErrNotPublic = errors.New("not a public address")

// PublicOnly is a net.Dialer Control function that refuses to connect to
// loopback, private (RFC 1918, RFC 4193), link-local, CGNAT, unspecified or
// multicast addresses: for fetches from URLs that someone other than the
// operator chose (a client's jwks_uri), so that they cannot make the
// process reach its own admin port or the cluster's metadata service. It
// checks the address actually dialled, after DNS, so a name that resolves
// to such an address is refused too.
func PublicOnly(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("dial %s: %w", address, err)
	}
	ip := ap.Addr().Unmap()
	if ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() || cgnat.Contains(ip) {
		return fmt.Errorf("dial %s: %w", address, ErrNotPublic)
	}
	return nil
}

var cgnat = netip.MustParsePrefix("100.64.0.0/10")
