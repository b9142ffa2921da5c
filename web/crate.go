package web

import (
	"encoding/json"
	"net/url"
	"sort"
	"strings"
)

// indexEntry is the part of a sparse-index line the crate page shows.
type indexEntry struct {
	Deps      []indexDep          `json:"deps"`
	Features  map[string][]string `json:"features"`
	Features2 map[string][]string `json:"features2"`
}

// indexDep is one dependency as the index records it. Name is the name the
// dependent crate uses (an alias when Package is set).
type indexDep struct {
	Name            string   `json:"name"`
	Req             string   `json:"req"`
	Features        []string `json:"features"`
	Optional        bool     `json:"optional"`
	DefaultFeatures *bool    `json:"default_features"`
	Target          *string  `json:"target"`
	Kind            *string  `json:"kind"`
	Registry        *string  `json:"registry"`
	Package         *string  `json:"package"`
}

// manifest is the metadata the publish kept besides the index line
// (crated.Version.Manifest).
type manifest struct {
	Authors     []string `json:"authors"`
	License     string   `json:"license"`
	LicenseFile string   `json:"license_file"`
	Links       string   `json:"links"`
	RustVersion string   `json:"rust_version"`
	ReadmeFile  string   `json:"readme_file"`
}

// dependency is a dependency as the page shows it.
type dependency struct {
	// Name is the real package name; Alias the name used in code when the
	// dependency is renamed.
	Name     string
	Alias    string
	Req      string
	Optional bool
	Target   string
	Features []string
	// URL is the dependency's crate page: on this registry, or on
	// crates.io; empty for another registry.
	URL string
	// Registry names a registry other than this one ("crates.io" or its
	// index URL).
	Registry string
}

// depGroup is the dependencies of one kind.
type depGroup struct {
	Kind  string // "Normal", "Build", "Dev"
	Items []dependency
}

// feature is one feature with what it enables.
type feature struct {
	Name    string
	Enables []string
}

// crates.io's index URLs as they appear in the registry field of a
// dependency published to another registry.
var cratesIOIndexes = map[string]bool{
	"https://github.com/rust-lang/crates.io-index": true,
	"sparse+https://index.crates.io/":              true,
}

// parseEntry reads the dependencies and features of an index line. A line
// that does not parse yields nothing rather than an error page: the rest of
// the page is still worth showing.
func parseEntry(line []byte, crateURL func(string) string) ([]depGroup, []feature, error) {
	var e indexEntry
	if len(line) == 0 {
		return nil, nil, nil
	}
	if err := json.Unmarshal(line, &e); err != nil {
		return nil, nil, err
	}
	return groupDeps(e.Deps, crateURL), mergeFeatures(e.Features, e.Features2), nil
}

// groupDeps sorts dependencies by kind, then by name.
func groupDeps(deps []indexDep, crateURL func(string) string) []depGroup {
	groups := []depGroup{
		{Kind: "Normal"},
		{Kind: "Build"},
		{Kind: "Dev"},
	}
	for _, d := range deps {
		dep := dependency{Name: d.Name, Req: d.Req, Optional: d.Optional, Features: d.Features}
		if d.Package != nil && *d.Package != "" && *d.Package != d.Name {
			dep.Name, dep.Alias = *d.Package, d.Name
		}
		if d.Target != nil {
			dep.Target = *d.Target
		}
		switch {
		case d.Registry == nil || *d.Registry == "":
			dep.URL = crateURL(dep.Name)
		case cratesIOIndexes[*d.Registry]:
			dep.Registry = "crates.io"
			dep.URL = "https://crates.io/crates/" + url.PathEscape(dep.Name)
		default:
			dep.Registry = *d.Registry
		}
		i := 0 // "normal", also when kind is absent (old index lines)
		if d.Kind != nil {
			switch *d.Kind {
			case "build":
				i = 1
			case "dev":
				i = 2
			}
		}
		groups[i].Items = append(groups[i].Items, dep)
	}
	var out []depGroup
	for _, g := range groups {
		if len(g.Items) == 0 {
			continue
		}
		sort.SliceStable(g.Items, func(i, j int) bool { return g.Items[i].Name < g.Items[j].Name })
		out = append(out, g)
	}
	return out
}

// mergeFeatures joins the two feature maps of an index line (features2
// holds the ones using newer syntax) and orders them with "default" first.
func mergeFeatures(maps ...map[string][]string) []feature {
	all := map[string][]string{}
	for _, m := range maps {
		for k, v := range m {
			all[k] = append(all[k], v...)
		}
	}
	out := make([]feature, 0, len(all))
	for k, v := range all {
		out = append(out, feature{Name: k, Enables: v})
	}
	sort.Slice(out, func(i, j int) bool {
		if (out[i].Name == "default") != (out[j].Name == "default") {
			return out[i].Name == "default"
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// parseManifest reads a version's extra metadata; empty input is no
// metadata.
func parseManifest(b []byte) (manifest, error) {
	var m manifest
	if len(b) == 0 {
		return m, nil
	}
	err := json.Unmarshal(b, &m)
	return m, err
}

// link is one of a crate's URLs. Href is set only for http(s) URLs: anything
// else is shown as text, never followed.
type link struct {
	Label string
	Text  string
	Href  string
}

func makeLinks(homepage, repository, documentation string) []link {
	var out []link
	for _, l := range []struct{ label, raw string }{
		{"Homepage", homepage},
		{"Repository", repository},
		{"Documentation", documentation},
	} {
		raw := strings.TrimSpace(l.raw)
		if raw == "" {
			continue
		}
		out = append(out, link{Label: l.label, Text: displayURL(raw), Href: safeURL(raw)})
	}
	return out
}

// safeURL returns raw when it is an absolute http(s) URL with a host, and ""
// otherwise.
func safeURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return ""
	}
	return u.String()
}

// displayURL shortens a URL for display: the scheme and a trailing slash add
// nothing.
func displayURL(raw string) string {
	s := strings.TrimPrefix(strings.TrimPrefix(raw, "https://"), "http://")
	return strings.TrimSuffix(s, "/")
}
