package web

import (
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crated/crated"
)

// homePage is "/".
type homePage struct {
	common
	Crates, Versions int64
	// Recent are the crates with the newest versions, Popular the most
	// downloaded ones.
	Recent, Popular []*crated.Crate
}

func (ui *UI) handleHome(w http.ResponseWriter, r *http.Request) error {
	p := homePage{common: ui.common(r, "")}
	p.HideSearch = true
	if ui.cfg.AuthRequired {
		ui.render(w, r, http.StatusOK, "private", privatePage{common: p.common})
		return nil
	}
	var err error
	if p.Crates, p.Versions, err = ui.reg.CountCrates(r.Context()); err != nil {
		return err
	}
	if p.Recent, err = ui.reg.RecentCrates(r.Context(), homeListSize); err != nil {
		return err
	}
	if p.Popular, err = ui.reg.PopularCrates(r.Context(), homeListSize); err != nil {
		return err
	}
	ui.render(w, r, http.StatusOK, "home", p)
	return nil
}

// searchPage is "/search".
type searchPage struct {
	common
	Results []*crated.Crate
	Total   int
	Page    int
	Pages   int
	// First and Last number the results shown, from 1.
	First, Last int
	PrevURL     string
	NextURL     string
}

func (ui *UI) handleSearch(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	text := strings.TrimSpace(q.Get("q"))
	page := 1
	if s := q.Get("page"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return crated.Errorf(crated.EINVALID, "The page number must be a whole number from 1 up.")
		}
		page = n
	}
	// The registry's search rules (length, encoding, page bounds) are the
	// API's: one set of rules for both.
	results, total, err := ui.reg.Search(r.Context(), text, page, searchPageSize)
	if err != nil {
		return err
	}
	title := "All crates"
	if text != "" {
		title = "Search results for “" + text + "”"
	}
	p := searchPage{
		common:  ui.common(r, title),
		Results: results,
		Total:   total,
		Page:    page,
		Pages:   (total + searchPageSize - 1) / searchPageSize,
	}
	p.Query = text
	if len(results) > 0 {
		p.First = (page-1)*searchPageSize + 1
		p.Last = p.First + len(results) - 1
	}
	if page > 1 {
		p.PrevURL = ui.searchURL(text, min(page-1, max(p.Pages, 1)))
	}
	if page < p.Pages {
		p.NextURL = ui.searchURL(text, page+1)
	}
	ui.render(w, r, http.StatusOK, "search", p)
	return nil
}

// cratePage is "/crates/{name}" and "/crates/{name}/{version}".
type cratePage struct {
	common
	Crate   *crated.Crate
	Version *crated.Version
	// IsMax is true when the version shown is the crate's default one.
	IsMax       bool
	PublishedBy string
	Versions    []versionRow
	Owners      []string
	Manifest    manifest
	Links       []link
	Deps        []depGroup
	Features    []feature
	Readme      template.HTML
	// ReadmeText is the README's Markdown, shown as plain text while its
	// rendering is not ready or when it cannot be rendered; ReadmePending
	// says which.
	ReadmeText    string
	ReadmePending bool
	// ReadmeTooLarge is set when a README exists but is not shown.
	ReadmeTooLarge bool
	Install        string
	CargoAdd       string
	DownloadURL    string
}

// versionRow is one line of the version list.
type versionRow struct {
	Vers        string
	URL         string
	PublishedAt time.Time
	Yanked      bool
	Downloads   int64
	Current     bool
}

func (ui *UI) handleCrate(w http.ResponseWriter, r *http.Request) error {
	name, vers := r.PathValue("name"), r.PathValue("version")
	c, versions, err := ui.reg.CrateVersions(r.Context(), name)
	if err != nil {
		return err
	}
	// Newest first by semver precedence, as cargo orders them; publish
	// order breaks ties (equal SortKeys cannot happen for distinct
	// versions, but a broken row must not make the list random).
	slices.SortStableFunc(versions, func(a, b *crated.Version) int {
		if c := strings.Compare(b.SortKey, a.SortKey); c != 0 {
			return c
		}
		return int(b.ID - a.ID)
	})

	var shown *crated.Version
	if vers == "" {
		shown = findVersion(versions, c.MaxVersion)
		if shown == nil && len(versions) > 0 {
			shown = versions[0]
		}
	} else {
		shown = findVersion(versions, vers)
		if shown == nil {
			// "1.0.0" for a version published as "1.0.0+build": the
			// same version to cargo, so send the reader there.
			for _, v := range versions {
				if versKey(v) == vers {
					http.Redirect(w, r, ui.versionURL(c.Name, v.Vers), http.StatusMovedPermanently)
					return nil
				}
			}
		}
	}
	if shown == nil {
		return crated.Errorf(crated.ENOTFOUND, "The crate “%s” has no version “%s”.", c.Name, vers)
	}
	// One URL per page: other spellings of the name redirect to the one the
	// crate was published with.
	if name != c.Name {
		target := ui.crateURL(c.Name)
		if vers != "" {
			target = ui.versionURL(c.Name, vers)
		}
		http.Redirect(w, r, target, http.StatusMovedPermanently)
		return nil
	}

	owners, err := ui.reg.Owners(r.Context(), c.Name)
	if err != nil {
		return err
	}
	publishers, err := ui.reg.Publishers(r.Context(), []int64{shown.PublishedBy})
	if err != nil {
		return err
	}
	p := cratePage{
		common:      ui.common(r, c.Name),
		Crate:       c,
		Version:     shown,
		IsMax:       shown.Vers == c.MaxVersion,
		Links:       makeLinks(c.Homepage, c.Repository, c.Documentation),
		DownloadURL: ui.prefix + "/api/v1/crates/" + url.PathEscape(c.Name) + "/" + url.PathEscape(shown.Vers) + "/download",
	}
	if vers != "" {
		p.Title = c.Name + " " + shown.Vers
	}
	for _, o := range owners {
		p.Owners = append(p.Owners, o.Login)
	}
	if u := publishers[shown.PublishedBy]; u != nil {
		p.PublishedBy = u.Login
	}
	for _, v := range versions {
		p.Versions = append(p.Versions, versionRow{
			Vers:        v.Vers,
			URL:         ui.versionURL(c.Name, v.Vers),
			PublishedAt: v.PublishedAt,
			Yanked:      v.Yanked,
			Downloads:   v.Downloads,
			Current:     v == shown,
		})
	}
	if p.Manifest, err = parseManifest(shown.Manifest); err != nil {
		ui.log.WarnContext(r.Context(), "web: unreadable manifest metadata", "crate", c.Name, "version", shown.Vers, "err", err)
	}
	if p.Deps, p.Features, err = parseEntry(shown.Entry, ui.crateURL); err != nil {
		ui.log.WarnContext(r.Context(), "web: unreadable index entry", "crate", c.Name, "version", shown.Vers, "err", err)
	}
	if shown.Readme != "" {
		var state readmeState
		p.Readme, state = ui.readme.get(r.Context(), shown.ID, shown.Readme)
		switch state {
		case readmePending, readmePlain:
			p.ReadmeText, p.ReadmePending = shown.Readme, state == readmePending
		case readmeTooLarge:
			p.ReadmeTooLarge = true
		}
	}
	p.Install = c.Name + ` = { version = "` + versKey(shown) + `", registry = "` + ui.cfg.RegistryName + `" }`
	p.CargoAdd = "cargo add " + c.Name + "@" + versKey(shown) + " --registry " + ui.cfg.RegistryName
	ui.render(w, r, http.StatusOK, "crate", p)
	return nil
}

func findVersion(vs []*crated.Version, vers string) *crated.Version {
	for _, v := range vs {
		if v.Vers == vers {
			return v
		}
	}
	return nil
}

// versKey is the version without build metadata: what a version requirement
// can name.
func versKey(v *crated.Version) string {
	if v.VersKey != "" {
		return v.VersKey
	}
	k, _, _ := strings.Cut(v.Vers, "+")
	return k
}

// URLs of the pages, with the BaseURL path in front.

func (ui *UI) crateURL(name string) string {
	return ui.prefix + "/crates/" + url.PathEscape(name)
}

func (ui *UI) userURL(login string) string {
	return ui.prefix + "/users/" + url.PathEscape(login)
}

func (ui *UI) versionURL(name, vers string) string {
	return ui.crateURL(name) + "/" + url.PathEscape(vers)
}

func (ui *UI) searchURL(text string, page int) string {
	v := url.Values{}
	if text != "" {
		v.Set("q", text)
	}
	if page > 1 {
		v.Set("page", strconv.Itoa(page))
	}
	if len(v) == 0 {
		return ui.prefix + "/search"
	}
	return ui.prefix + "/search?" + v.Encode()
}

// userPage is "/users/{login}".
type userPage struct {
	common
	User   *crated.User
	Crates []*crated.Crate
}

func (ui *UI) handleUser(w http.ResponseWriter, r *http.Request) error {
	u, crates, err := ui.reg.UserCrates(r.Context(), r.PathValue("login"))
	if err != nil {
		return err
	}
	ui.render(w, r, http.StatusOK, "user", userPage{common: ui.common(r, u.Login), User: u, Crates: crates})
	return nil
}
