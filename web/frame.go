package web

import (
	"html/template"
	"net/http"
)

// Page renders content, HTML that another package wrote (the /me login
// pages of httpapi and oidc), inside the site's layout, so that every page
// a browser sees has the same header, navigation and colours. Headers the
// caller set first (a stricter Content-Security-Policy, Cache-Control:
// no-store for a page with a token) are kept.
func (ui *UI) Page(w http.ResponseWriter, r *http.Request, status int, title string, content template.HTML) {
	h := w.Header()
	for k, v := range securityHeaders {
		if h.Get(k) == "" {
			h.Set(k, v)
		}
	}
	ui.render(w, r, status, "frame", framePage{common: ui.common(r, title), Content: content})
}

// NotFound is the 404 page of a browser that asked for a path nobody
// serves.
func (ui *UI) NotFound(w http.ResponseWriter, r *http.Request) {
	setSecurityHeaders(w)
	ui.render(w, r, http.StatusNotFound, "error", errorPage{
		common:  ui.common(r, "Not found"),
		Status:  http.StatusNotFound,
		Message: "There is no page at this address.",
	})
}

// framePage is a page whose content another package rendered.
type framePage struct {
	common
	Content template.HTML
}

// handleFavicon serves the icon at the address browsers try without a
// link: the SVG, which every current browser accepts there.
func (ui *UI) handleFavicon(w http.ResponseWriter, r *http.Request) {
	r.SetPathValue("file", "icon.svg")
	ui.handleStatic(w, r)
}
