package httpapi

// crates.io's read API, for the tools beside cargo that call it: crates.io
// API clients, dashboards, scripts, and Renovate's requests where it asks
// them (GET /api/v1/crates/{name}?include=, GET .../{version}; for a registry
// other than crates.io Renovate reads the index). The JSON shapes are crates.io's
// (its views: EncodableCrate, EncodableVersion, EncodableDependency) where
// crated has the data. A field crated does not keep (recent downloads,
// per-version downloads, a version's yank time, audit actions, edition) is
// left out or null, never made up.

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/crated/crated"
	"github.com/crated/crated/cargo"
)

// apiCrate is crates.io's EncodableCrate.
type apiCrate struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	UpdatedAt time.Time `json:"updated_at"`
	CreatedAt time.Time `json:"created_at"`
	// Versions, Keywords, Categories: null unless included.
	Versions   []int64  `json:"versions"`
	Keywords   []string `json:"keywords"`
	Categories []string `json:"categories"`
	// Badges are deprecated on crates.io, which always answers [].
	Badges    []struct{} `json:"badges"`
	Downloads int64      `json:"downloads"`
	// RecentDownloads: crated keeps no per-day counts.
	RecentDownloads  *int64       `json:"recent_downloads"`
	DefaultVersion   *string      `json:"default_version"`
	NumVersions      int          `json:"num_versions"`
	Yanked           bool         `json:"yanked"`
	MaxVersion       string       `json:"max_version"`
	NewestVersion    string       `json:"newest_version"`
	MaxStableVersion *string      `json:"max_stable_version"`
	Description      *string      `json:"description"`
	Homepage         *string      `json:"homepage"`
	Documentation    *string      `json:"documentation"`
	Repository       *string      `json:"repository"`
	Links            apiCrateLink `json:"links"`
}

// apiCrateLink holds the API paths (relative to the `api` URL of
// config.json, as on crates.io) that crated serves; crates.io's others
// (downloads, reverse dependencies, owner_team, owner_user) are left out.
type apiCrateLink struct {
	Versions *string `json:"versions"`
	Owners   string  `json:"owners"`
}

// apiVersion is crates.io's EncodableVersion.
type apiVersion struct {
	ID         int64     `json:"id"`
	Crate      string    `json:"crate"`
	Num        string    `json:"num"`
	DLPath     string    `json:"dl_path"`
	ReadmePath string    `json:"readme_path"`
	CreatedAt  time.Time `json:"created_at"`
	// UpdatedAt is left out: crates.io's is the time of the last yank or
	// unyank, which crated does not keep on the version.
	Features    map[string][]string `json:"features"`
	Yanked      bool                `json:"yanked"`
	LibLinks    *string             `json:"lib_links"`
	License     *string             `json:"license"`
	Links       apiVersionLinks     `json:"links"`
	CrateSize   int64               `json:"crate_size"`
	PublishedBy *apiUser            `json:"published_by"`
	Checksum    string              `json:"checksum"`
	RustVersion *string             `json:"rust_version"`
}

type apiVersionLinks struct {
	Dependencies string `json:"dependencies"`
}

// apiUser is crates.io's EncodablePublicUser, without the avatar and
// profile URL crated does not have.
type apiUser struct {
	ID    int64   `json:"id"`
	Login string  `json:"login"`
	Name  *string `json:"name"`
}

// apiDependency is crates.io's EncodableDependency, without its row id and
// the download count it leaves at 0 for forward dependencies.
type apiDependency struct {
	VersionID       int64    `json:"version_id"`
	CrateID         string   `json:"crate_id"`
	Req             string   `json:"req"`
	Optional        bool     `json:"optional"`
	DefaultFeatures bool     `json:"default_features"`
	Features        []string `json:"features"`
	Target          *string  `json:"target"`
	Kind            string   `json:"kind"`
	// Registry is the index URL of another registry (crates.io) the
	// dependency comes from; absent for this registry. Not in crates.io's
	// shape, where every dependency is on crates.io.
	Registry *string `json:"registry,omitempty"`
}

type apiKeyword struct {
	ID      string `json:"id"`
	Keyword string `json:"keyword"`
}

// apiCategory carries the slug only: crated keeps the categories as
// published, not crates.io's display names.
type apiCategory struct {
	ID   string `json:"id"`
	Slug string `json:"slug"`
}

// includes is the ?include= of GET /api/v1/crates/{name}, as crates.io reads
// it: absent means everything; a comma-separated list selects parts.
// Unknown parts are ignored (crates.io refuses them, but a tool asking for a
// part crates.io adds later should still get the rest).
type includes struct {
	versions, keywords, categories, defaultVersion bool
}

func parseIncludes(r *http.Request) includes {
	q, ok := r.URL.Query()["include"]
	if !ok {
		return includes{true, true, true, true}
	}
	var in includes
	for _, part := range strings.Split(strings.Join(q, ","), ",") {
		switch strings.TrimSpace(part) {
		case "full":
			in = includes{true, true, true, true}
		case "versions":
			in.versions = true
		case "keywords":
			in.keywords = true
		case "categories":
			in.categories = true
		case "default_version":
			in.defaultVersion = true
		}
		// "badges" and "downloads" select fields crated answers as [] and
		// null either way.
	}
	return in
}

// handleCrateInfo is GET /api/v1/crates/{name}.
func (s *Server) handleCrateInfo(w http.ResponseWriter, r *http.Request) error {
	in := parseIncludes(r)
	c, vs, err := s.svc.CrateVersions(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	newestFirst(vs)
	out := struct {
		Crate      apiCrate      `json:"crate"`
		Versions   []apiVersion  `json:"versions"`
		Keywords   []apiKeyword  `json:"keywords"`
		Categories []apiCategory `json:"categories"`
	}{Crate: s.crateJSON(c, vs)}
	switch {
	case in.versions:
		out.Crate.Versions = make([]int64, 0, len(vs))
		for _, v := range vs {
			out.Crate.Versions = append(out.Crate.Versions, v.ID)
		}
		out.Crate.Links.Versions = nil
		if out.Versions, err = s.versionsJSON(r, c, vs); err != nil {
			return err
		}
	case in.defaultVersion:
		// crates.io puts the default version alone under "versions".
		if dv := defaultVersion(vs); dv != nil {
			if out.Versions, err = s.versionsJSON(r, c, []*crated.Version{dv}); err != nil {
				return err
			}
		}
	}
	if in.keywords {
		out.Crate.Keywords = nonNil(c.Keywords)
		out.Keywords = make([]apiKeyword, 0, len(c.Keywords))
		for _, k := range c.Keywords {
			out.Keywords = append(out.Keywords, apiKeyword{ID: k, Keyword: k})
		}
	}
	if in.categories {
		out.Crate.Categories = nonNil(c.Categories)
		out.Categories = make([]apiCategory, 0, len(c.Categories))
		for _, k := range c.Categories {
			out.Categories = append(out.Categories, apiCategory{ID: k, Slug: k})
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// handleCrateVersions is GET /api/v1/crates/{name}/versions: every version,
// newest first (crates.io's sort=date), or highest first with sort=semver;
// per_page and page select a page.
func (s *Server) handleCrateVersions(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	perPage, err := intParam(q.Get("per_page"), 0)
	if err != nil {
		return err
	}
	page, err := intParam(q.Get("page"), 1)
	if err != nil {
		return err
	}
	c, vs, err := s.svc.CrateVersions(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	switch q.Get("sort") {
	case "semver":
		slices.SortStableFunc(vs, func(a, b *crated.Version) int { return strings.Compare(b.SortKey, a.SortKey) })
	case "", "date":
		newestFirst(vs)
	default:
		return crated.Errorf(crated.EINVALID, "invalid sort %q: expected `date` or `semver`", q.Get("sort"))
	}
	total := len(vs)
	var next *string
	if perPage > 0 {
		perPage = min(perPage, 100)
		page = max(page, 1)
		start := min((page-1)*perPage, total)
		end := min(start+perPage, total)
		vs = vs[start:end]
		if end < total {
			n := fmt.Sprintf("?per_page=%d&page=%d", perPage, page+1)
			if s := q.Get("sort"); s != "" {
				n += "&sort=" + s
			}
			next = &n
		}
	}
	out := struct {
		Versions []apiVersion `json:"versions"`
		Meta     struct {
			Total    int     `json:"total"`
			NextPage *string `json:"next_page"`
		} `json:"meta"`
	}{}
	if out.Versions, err = s.versionsJSON(r, c, vs); err != nil {
		return err
	}
	out.Meta.Total, out.Meta.NextPage = total, next
	writeJSON(w, http.StatusOK, out)
	return nil
}

// handleCrateVersion is GET /api/v1/crates/{name}/{version}.
func (s *Server) handleCrateVersion(w http.ResponseWriter, r *http.Request) error {
	c, v, err := s.svc.CrateVersion(r.Context(), r.PathValue("name"), r.PathValue("version"))
	if err != nil {
		return err
	}
	vs, err := s.versionsJSON(r, c, []*crated.Version{v})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct {
		Version apiVersion `json:"version"`
	}{vs[0]})
	return nil
}

// handleCrateDependencies is GET /api/v1/crates/{name}/{version}/dependencies,
// read from the version's index line.
func (s *Server) handleCrateDependencies(w http.ResponseWriter, r *http.Request) error {
	_, v, err := s.svc.CrateVersion(r.Context(), r.PathValue("name"), r.PathValue("version"))
	if err != nil {
		return err
	}
	e, err := cargo.ParseIndexLine(v.Entry)
	if err != nil {
		return err
	}
	deps := make([]apiDependency, 0, len(e.Deps))
	for _, d := range e.Deps {
		name := d.Name
		if d.Package != nil {
			name = *d.Package
		}
		kind := d.Kind
		if kind == "" {
			kind = "normal"
		}
		deps = append(deps, apiDependency{
			VersionID: v.ID, CrateID: name, Req: d.Req, Optional: d.Optional,
			DefaultFeatures: d.DefaultFeatures, Features: nonNil(d.Features),
			Target: d.Target, Kind: kind, Registry: d.Registry,
		})
	}
	writeJSON(w, http.StatusOK, struct {
		Dependencies []apiDependency `json:"dependencies"`
	}{deps})
	return nil
}

// handleCrateReadme is GET /api/v1/crates/{name}/{version}/readme. crates.io
// answers HTML it rendered at publish time; crated answers the README as
// published, as text/markdown. Rendering belongs to the web UI, which
// budgets and caches it; a render on an API request would let any client
// make the server render a large document at will, and publisher-written
// HTML served from the registry's origin would need the UI's sanitizer to be
// safe. Markdown as text is safe as it is and what a tool can use.
func (s *Server) handleCrateReadme(w http.ResponseWriter, r *http.Request) error {
	c, v, err := s.svc.CrateVersion(r.Context(), r.PathValue("name"), r.PathValue("version"))
	if err != nil {
		return err
	}
	if v.Readme == "" {
		return crated.Errorf(crated.ENOTFOUND, "crate `%s` version `%s` has no README", c.Name, v.Vers)
	}
	h := w.Header()
	h.Set("Content-Type", "text/markdown; charset=utf-8")
	// Belt and braces: a browser that renders it anyway runs nothing.
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	w.Write([]byte(v.Readme))
	return nil
}

// crateJSON maps a crate and its versions (any order) to crates.io's crate
// object, without the parts ?include= selects.
func (s *Server) crateJSON(c *crated.Crate, vs []*crated.Version) apiCrate {
	versionsLink := "/api/v1/crates/" + c.Name + "/versions"
	out := apiCrate{
		ID: c.Name, Name: c.Name, UpdatedAt: c.UpdatedAt.UTC(), CreatedAt: c.CreatedAt.UTC(),
		Badges: []struct{}{}, Downloads: c.Downloads, NumVersions: len(vs),
		Description: optional(c.Description), Homepage: optional(c.Homepage),
		Documentation: optional(c.Documentation), Repository: optional(c.Repository),
		Links: apiCrateLink{Versions: &versionsLink, Owners: "/api/v1/crates/" + c.Name + "/owners"},
	}
	if dv := defaultVersion(vs); dv != nil {
		out.DefaultVersion, out.Yanked = &dv.Vers, dv.Yanked
	}
	// crates.io computes these from the versions that are not yanked, and
	// answers "0.0.0" when there are none.
	var highest, newest, stable *crated.Version
	for _, v := range vs {
		if v.Yanked {
			continue
		}
		if highest == nil || v.SortKey > highest.SortKey {
			highest = v
		}
		if newest == nil || v.ID > newest.ID {
			newest = v
		}
		if !prerelease(v) && (stable == nil || v.SortKey > stable.SortKey) {
			stable = v
		}
	}
	out.MaxVersion, out.NewestVersion = "0.0.0", "0.0.0"
	if highest != nil {
		out.MaxVersion, out.NewestVersion = highest.Vers, newest.Vers
	}
	if stable != nil {
		out.MaxStableVersion = &stable.Vers
	}
	return out
}

// versionsJSON maps versions to crates.io's version objects, in order.
func (s *Server) versionsJSON(r *http.Request, c *crated.Crate, vs []*crated.Version) ([]apiVersion, error) {
	ids := make([]int64, 0, len(vs))
	for _, v := range vs {
		ids = append(ids, v.PublishedBy)
	}
	users, err := s.svc.Publishers(r.Context(), ids)
	if err != nil {
		return nil, err
	}
	out := make([]apiVersion, 0, len(vs))
	for _, v := range vs {
		e, err := cargo.ParseIndexLine(v.Entry)
		if err != nil {
			return nil, err
		}
		var man struct {
			License     *string `json:"license"`
			Links       *string `json:"links"`
			RustVersion *string `json:"rust_version"`
		}
		if len(v.Manifest) > 0 {
			if err := json.Unmarshal(v.Manifest, &man); err != nil {
				return nil, crated.Errorf(crated.EINTERNAL, "crate `%s` version `%s`: stored metadata: %v", c.Name, v.Vers, err)
			}
		}
		// The index line is the truth for what cargo sees; the manifest
		// copy only fills what the line does not carry (license).
		links, rustVersion := e.Links, e.RustVersion
		if links == nil {
			links = man.Links
		}
		if rustVersion == nil {
			rustVersion = man.RustVersion
		}
		base := "/api/v1/crates/" + c.Name + "/" + v.Vers
		av := apiVersion{
			ID: v.ID, Crate: c.Name, Num: v.Vers,
			DLPath: base + "/download", ReadmePath: base + "/readme",
			CreatedAt: v.PublishedAt.UTC(), Features: mergeFeatures(e.Features, e.Features2),
			Yanked: v.Yanked, LibLinks: links, License: man.License,
			Links:     apiVersionLinks{Dependencies: base + "/dependencies"},
			CrateSize: v.Size, Checksum: v.Cksum, RustVersion: rustVersion,
		}
		if u := users[v.PublishedBy]; u != nil {
			av.PublishedBy = &apiUser{ID: u.ID, Login: u.Login, Name: optional(u.Name)}
		}
		out = append(out, av)
	}
	return out, nil
}

// defaultVersion is crates.io's default version: the highest version that is
// not yanked and not a pre-release, else the highest not yanked, else the
// highest. nil when there are no versions.
func defaultVersion(vs []*crated.Version) *crated.Version {
	rank := func(v *crated.Version) int {
		switch {
		case v.Yanked:
			return 0
		case prerelease(v):
			return 1
		}
		return 2
	}
	var best *crated.Version
	for _, v := range vs {
		if best == nil || rank(v) > rank(best) || (rank(v) == rank(best) && v.SortKey > best.SortKey) {
			best = v
		}
	}
	return best
}

func prerelease(v *crated.Version) bool {
	pv, err := cargo.ParseVersion(v.Vers)
	return err == nil && pv.Pre != ""
}

// newestFirst orders versions newest first, as crates.io does: by id, which
// is publish order.
func newestFirst(vs []*crated.Version) {
	slices.SortStableFunc(vs, func(a, b *crated.Version) int { return cmp.Compare(b.ID, a.ID) })
}

// mergeFeatures is cargo's reading of features and features2: the values of
// a key in both are appended.
func mergeFeatures(f, f2 map[string][]string) map[string][]string {
	out := make(map[string][]string, len(f)+len(f2))
	for k, v := range f {
		out[k] = append([]string{}, v...)
	}
	for k, v := range f2 {
		out[k] = append(out[k], v...)
	}
	for k, v := range out {
		if v == nil {
			out[k] = []string{}
		}
	}
	return out
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
