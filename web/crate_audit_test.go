package web

import (
	"net/http"
	"strings"
	"testing"
)

// TestCrateAuditLink: the crate page links its owners to the crate's audit
// log page (served under /me/ by httpapi, which asks for a token).
func TestCrateAuditLink(t *testing.T) {
	f := newFixture(t)
	f.fill(t)
	w := serve(t, newUI(f, Config{}, nil), "/crates/Foo-Bar")
	if w.Code != http.StatusOK || !strings.Contains(text(w), `<a href="/me/audit/Foo-Bar">Audit log</a>`) {
		t.Errorf("crate page has no audit log link: %d\n%s", w.Code, text(w))
	}
}
