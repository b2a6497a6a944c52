// Package clientaddr says who a request comes from, for rate limits,
// connection caps and the security event log. Behind a reverse proxy the
// TCP peer is the proxy, and every client would share one rate-limit
// bucket; but a forwarding header is only a claim the sender makes, so it
// is believed only when the peer is a proxy the operator listed
// (--trusted-proxies). Otherwise anyone could name any address and rotate
// through fresh rate-limit buckets at will.
//
// Addresses are grouped into keys: an IPv4 address is its own key, an IPv6
// address is keyed by its /64, the smallest block a home or school network
// is given, so that one network cannot mint 2^64 fresh keys.
package clientaddr

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// IPv6KeyBits is the prefix an IPv6 address is grouped by: a /64 is the
// usual size of one subscriber's network, so rotating through its
// addresses gains an attacker nothing.
const IPv6KeyBits = 64

// MaxForwardedHops bounds how many X-Forwarded-For entries are walked: a
// real chain has a few proxies; a header of thousands is an attack on the
// parser.
const MaxForwardedHops = 16

// Resolver reads client addresses, trusting X-Forwarded-For only from the
// listed proxies. The zero Resolver trusts no proxy. It is safe for
// concurrent use; it is not changed after New.
type Resolver struct {
	trusted []netip.Prefix
}

// New returns a Resolver that believes X-Forwarded-For from peers inside
// trusted.
func New(trusted []netip.Prefix) *Resolver {
	return &Resolver{trusted: append([]netip.Prefix(nil), trusted...)}
}

// ParsePrefixes reads a comma-separated list of CIDR blocks or single
// addresses ("10.0.0.0/8, 192.168.1.2, fd00::/8"). An empty string is no
// proxies.
func ParsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if strings.Contains(f, "/") {
			p, err := netip.ParsePrefix(f)
			if err != nil {
				return nil, fmt.Errorf("trusted proxy %q: %w", f, err)
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q: want an address or a CIDR block such as 10.0.0.0/8", f)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

func (r *Resolver) isTrusted(a netip.Addr) bool {
	if r == nil {
		return false
	}
	for _, p := range r.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// peer is the TCP peer's address; invalid when RemoteAddr is not an IP
// (a unix socket).
func peer(req *http.Request) netip.Addr {
	host := req.RemoteAddr
	if h, _, err := net.SplitHostPort(req.RemoteAddr); err == nil {
		host = h
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap().WithZone("")
}

// Addr is the client's address: the peer's, or, when the peer is a trusted
// proxy, the rightmost X-Forwarded-For hop that is not itself a trusted
// proxy (the hops to its left were written by the client and prove
// nothing). A malformed hop stops the walk at the last trusted hop.
func (r *Resolver) Addr(req *http.Request) netip.Addr {
	a := peer(req)
	if !a.IsValid() || !r.isTrusted(a) {
		return a
	}
	var hops []string
	for _, h := range req.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(h, ",")...)
	}
	for i, n := len(hops)-1, 0; i >= 0 && n < MaxForwardedHops; i, n = i-1, n+1 {
		h, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return a
		}
		a = h.Unmap().WithZone("")
		if !r.isTrusted(a) {
			return a
		}
	}
	return a
}

// Key is the rate-limit key of the request's client (see KeyOf).
func (r *Resolver) Key(req *http.Request) string {
	a := r.Addr(req)
	if !a.IsValid() {
		// A unix socket peer: every such client is on this machine.
		return "local"
	}
	return KeyOf(a)
}

// KeyOf groups an address the way rate limits count it: IPv4 as is, IPv6
// by its /64 ("2001:db8:1:2::/64").
func KeyOf(a netip.Addr) string {
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.WithZone("").Prefix(IPv6KeyBits)
		return p.String()
	}
	return a.String()
}
