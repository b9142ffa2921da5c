package httpapi

import (
	"net/http"
	"net/netip"
	"strings"
)

// clientAddr is the address of the client: the connection's peer, or,
// when the peer is a trusted proxy, the right-most address of
// X-Forwarded-For that is not a trusted proxy. Only the trusted part of the
// header is believed: a client can put anything at its left.
func (s *Server) clientAddr(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	addr := ap.Addr().Unmap()
	if !s.trusted(addr) {
		return addr
	}
	fwd := r.Header.Values("X-Forwarded-For")
	for i := len(fwd) - 1; i >= 0; i-- {
		hops := strings.Split(fwd[i], ",")
		for j := len(hops) - 1; j >= 0; j-- {
			a, err := netip.ParseAddr(strings.TrimSpace(hops[j]))
			if err != nil {
				// Garbage from a client or a misconfigured proxy: the
				// last trusted hop is the best we know.
				return addr
			}
			addr = a.Unmap()
			if !s.trusted(addr) {
				return addr
			}
		}
	}
	return addr
}

func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
