package app

import "net"

// Addr is the address the server listens on, with the real port when the
// configuration asked for port 0; nil before Open.
func (m *Main) Addr() net.Addr {
	if m.ln == nil {
		return nil
	}
	return m.ln.Addr()
}
