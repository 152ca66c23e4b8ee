// Package tcpproxy is a TCP proxy on loopback for fault tests: it stands
// between a process and a dependency (a database, an issuer) and cuts,
// freezes or restores the path on the test's command.
package tcpproxy

import (
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
)

// Proxy is a TCP proxy on loopback in front of a server (a database, an
// issuer), for fault tests: Cut makes the server unreachable (connections open are closed,
// new ones are closed as they arrive), Freeze makes it hang (connections
// stay open, nothing passes, as a server stopped with SIGSTOP), Restore
// brings it back. The shared database itself is never stopped.
type Proxy struct {
	// URL is u with the proxy's address as its host.
	URL string

	lis    net.Listener
	target string

	mu    sync.Mutex
	cut   bool
	gate  chan struct{} // closed while bytes may pass
	conns map[net.Conn]bool
}

// New starts a proxy to the server of URL u (any scheme: the host and
// port are what count), closed when the test ends.
func New(tb testing.TB, u string) *Proxy {
	tb.Helper()
	parsed, err := url.Parse(u)
	if err != nil {
		tb.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	p := &Proxy{lis: lis, target: parsed.Host, conns: map[net.Conn]bool{}, gate: make(chan struct{})}
	close(p.gate)
	parsed.Host = lis.Addr().String()
	p.URL = parsed.String()
	go p.serve()
	tb.Cleanup(func() {
		lis.Close()
		p.Restore() // release goroutines held by a freeze
		p.Cut()
	})
	return p
}

func (p *Proxy) serve() {
	for {
		c, err := p.lis.Accept()
		if err != nil {
			return
		}
		if !p.track(c) {
			c.Close()
			continue
		}
		go p.pipe(c)
	}
}

func (p *Proxy) pipe(c net.Conn) {
	up, err := net.Dial("tcp", p.target)
	if err != nil || !p.track(up) {
		c.Close()
		if up != nil {
			up.Close()
		}
		return
	}
	done := make(chan struct{}, 2)
	go func() { p.copy(up, c); done <- struct{}{} }()
	go func() { p.copy(c, up); done <- struct{}{} }()
	<-done
	c.Close()
	up.Close()
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, up)
	p.mu.Unlock()
}

// Addr is the proxy's address, host:port.
func (p *Proxy) Addr() string { return p.lis.Addr().String() }

// copy forwards from src to dst, holding each chunk while frozen.
func (p *Proxy) copy(dst io.Writer, src io.Reader) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			gate := p.gate
			p.mu.Unlock()
			<-gate
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// track records c unless the proxy is cut.
func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cut {
		return false
	}
	p.conns[c] = true
	return true
}

// Cut closes every proxied connection and refuses new ones until Restore.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = true
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

// Freeze holds every byte in both directions until Restore: the server
// neither answers nor closes anything.
func (p *Proxy) Freeze() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.gate:
		p.gate = make(chan struct{})
	default: // already frozen
	}
}

// Restore accepts connections again and lets held bytes pass.
func (p *Proxy) Restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = false
	select {
	case <-p.gate:
	default:
		close(p.gate)
	}
}
