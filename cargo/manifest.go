package cargo

import (
	"cmp"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"
)

// Manifest is what the registry needs from the Cargo.toml inside a .crate:
// the package's identity, a few metadata fields and its dependencies, to
// compare with the publish metadata (CheckManifest). cargo normalizes the
// Cargo.toml it packages: no workspace inheritance, no path dependencies,
// dependencies as tables.
type Manifest struct {
	Name, Version string
	Links         string
	RustVersion   string
	Description   string
	License       string
	Features      map[string][]string
	// Dependencies from [dependencies], [dev-dependencies],
	// [build-dependencies] and their [target.'...'.*] variants, sorted by
	// kind, target and name.
	Dependencies []ManifestDep
}

// ManifestDep is one dependency of a Cargo.toml.
type ManifestDep struct {
	// Name is the key in the dependency table: the alias when renamed.
	Name string
	// Package is the real package name when renamed ("package = ..."), else "".
	Package string
	// Req is the version requirement as written ("0.1"), "" when absent.
	Req string
	// Kind is "normal", "dev" or "build".
	Kind string
	// Target is the cfg expression or triple of a [target.X] table, or "".
	Target          string
	Optional        bool
	DefaultFeatures bool
	Features        []string
	// RegistryIndex is the index URL of a dependency from another registry
	// ("registry-index", which cargo writes when normalizing), Registry the
	// registry's name as written by hand. Both "" for crates.io.
	RegistryIndex string
	Registry      string
}

// PackageName returns the real name of the dependency's package.
func (d *ManifestDep) PackageName() string {
	if d.Package != "" {
		return d.Package
	}
	return d.Name
}

// Limits on the shape of a Cargo.toml, checked before the TOML parser sees
// it. BurntSushi/toml spends time superlinear in the length of dotted keys,
// the more so inside nested inline tables: 1 MiB of 16-part keys takes 16 s,
// of 12-deep inline tables with dotted keys 19 s. Table headers are much
// cheaper, and they are what cargo writes: a normalized manifest turns
// every nested table, even package.metadata's inline ones, into a
// [long.dotted.header], so headers get a generous limit and keys a tight
// one. Within these limits the worst shapes found are about 10 times
// slower than a plain manifest (BenchmarkParseManifestHostile), and
// DefaultMaxManifest bounds a parse to a fraction of a second.
const (
	maxTOMLNesting      = 8  // open [ and { at once
	maxTOMLHeaderDots   = 32 // dots in one [table] or [[array]] header
	maxTOMLDots         = 8  // dots in one dotted key outside inline tables
	maxTOMLDotsInInline = 2  // dots in one dotted key inside an inline table
)

// inheritableFields are the [package] keys that may be inherited from a
// workspace ("version.workspace = true").
var inheritableFields = []string{
	"version", "authors", "description", "documentation", "readme", "homepage",
	"repository", "license", "license-file", "keywords", "categories",
	"publish", "edition", "rust-version", "exclude", "include",
}

// parseManifest parses the Cargo.toml of a crate.
// largeManifest is the size above which manifests are parsed one at a
// time; every manifest in Debian's corpus of real crates is smaller.
const largeManifest = 256 << 10

var largeManifestSlot = make(chan struct{}, 1)

func parseManifest(data []byte) (*Manifest, error) {
	if err := checkTOMLShape(data); err != nil {
		return nil, err
	}
	if len(data) > largeManifest {
		// Large manifests exist (crates with tens of thousands of
		// features), but hostile TOML of that size costs seconds of CPU
		// to parse: parse them one at a time, so that publishers of such
		// files can hold at most one core however many they send.
		largeManifestSlot <- struct{}{}
		defer func() { <-largeManifestSlot }()
	}
	var doc map[string]any
	if _, err := toml.Decode(string(data), &doc); err != nil {
		return nil, invalidf("failed to parse Cargo.toml in the crate: %s", tomlErrorLine(err))
	}
	pkg, ok := doc["package"].(map[string]any)
	if !ok {
		return nil, invalidf("Cargo.toml in the crate has no [package] section")
	}
	for _, f := range inheritableFields {
		if t, ok := pkg[f].(map[string]any); ok {
			if _, ok := t["workspace"]; ok {
				return nil, inheritanceError("package." + f + ".workspace")
			}
		}
	}
	if lints, ok := doc["lints"].(map[string]any); ok {
		if _, ok := lints["workspace"]; ok {
			return nil, inheritanceError("lints.workspace")
		}
	}

	m := &Manifest{}
	var err error
	if m.Name, err = manifestString(pkg, "package", "name", true); err != nil {
		return nil, err
	}
	if m.Version, err = manifestString(pkg, "package", "version", true); err != nil {
		return nil, err
	}
	if m.Links, err = manifestString(pkg, "package", "links", false); err != nil {
		return nil, err
	}
	if m.RustVersion, err = manifestString(pkg, "package", "rust-version", false); err != nil {
		return nil, err
	}
	if m.Description, err = manifestString(pkg, "package", "description", false); err != nil {
		return nil, err
	}
	if m.License, err = manifestString(pkg, "package", "license", false); err != nil {
		return nil, err
	}
	if m.Features, err = manifestFeatures(doc["features"]); err != nil {
		return nil, err
	}

	// Legacy spellings with '_' are still read by cargo.
	kinds := []struct{ key, kind string }{
		{"dependencies", "normal"},
		{"dev-dependencies", "dev"}, {"dev_dependencies", "dev"},
		{"build-dependencies", "build"}, {"build_dependencies", "build"},
	}
	for _, k := range kinds {
		if err := m.addDeps(doc[k.key], k.key, k.kind, ""); err != nil {
			return nil, err
		}
	}
	if t, ok := doc["target"]; ok {
		targets, ok := t.(map[string]any)
		if !ok {
			return nil, invalidf("Cargo.toml in the crate: `target` must be a table")
		}
		for _, name := range sortedKeys(targets) {
			tt, ok := targets[name].(map[string]any)
			if !ok {
				return nil, invalidf("Cargo.toml in the crate: `target.%s` must be a table", name)
			}
			for _, k := range kinds {
				if err := m.addDeps(tt[k.key], "target."+name+"."+k.key, k.kind, name); err != nil {
					return nil, err
				}
			}
		}
	}
	slices.SortStableFunc(m.Dependencies, func(a, b ManifestDep) int {
		return cmp.Or(kindRank(a.Kind)-kindRank(b.Kind), strings.Compare(a.Target, b.Target), strings.Compare(a.Name, b.Name))
	})
	return m, nil
}

func inheritanceError(key string) error {
	return invalidf("Cargo.toml in the crate still inherits from a workspace (`%s = true`): the manifest must be normalized, as `cargo package` and `cargo publish` do", key)
}

// tomlErrorLine returns the first line of a TOML parse error (the parser's
// long form quotes the input).
func tomlErrorLine(err error) string {
	s := err.Error()
	if pe, ok := err.(toml.ParseError); ok {
		s = pe.Error()
	}
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func manifestString(t map[string]any, table, key string, required bool) (string, error) {
	v, ok := t[key]
	if !ok {
		if required {
			return "", invalidf("Cargo.toml in the crate has no `%s.%s`", table, key)
		}
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", invalidf("Cargo.toml in the crate: `%s.%s` must be a string", table, key)
	}
	return s, nil
}

func manifestStrings(v any, what string) ([]string, error) {
	a, ok := v.([]any)
	if !ok {
		return nil, invalidf("Cargo.toml in the crate: `%s` must be an array of strings", what)
	}
	out := make([]string, len(a))
	for i, x := range a {
		s, ok := x.(string)
		if !ok {
			return nil, invalidf("Cargo.toml in the crate: `%s` must be an array of strings", what)
		}
		out[i] = s
	}
	return out, nil
}

func manifestFeatures(v any) (map[string][]string, error) {
	if v == nil {
		return map[string][]string{}, nil
	}
	t, ok := v.(map[string]any)
	if !ok {
		return nil, invalidf("Cargo.toml in the crate: `features` must be a table")
	}
	out := make(map[string][]string, len(t))
	for name, values := range t {
		vs, err := manifestStrings(values, "features."+name)
		if err != nil {
			return nil, err
		}
		out[name] = vs
	}
	return out, nil
}

func (m *Manifest) addDeps(v any, table, kind, target string) error {
	if v == nil {
		return nil
	}
	deps, ok := v.(map[string]any)
	if !ok {
		return invalidf("Cargo.toml in the crate: `%s` must be a table", table)
	}
	for _, name := range sortedKeys(deps) {
		d := ManifestDep{Name: name, Kind: kind, Target: target, DefaultFeatures: true}
		switch spec := deps[name].(type) {
		case string:
			d.Req = spec
		case map[string]any:
			if _, ok := spec["workspace"]; ok {
				return inheritanceError(table + "." + name + ".workspace")
			}
			where := table + "." + name
			var err error
			if d.Req, err = manifestString(spec, where, "version", false); err != nil {
				return err
			}
			if d.Package, err = manifestString(spec, where, "package", false); err != nil {
				return err
			}
			if d.RegistryIndex, err = manifestString(spec, where, "registry-index", false); err != nil {
				return err
			}
			if d.Registry, err = manifestString(spec, where, "registry", false); err != nil {
				return err
			}
			if d.Optional, err = manifestBool(spec, where, "optional", false); err != nil {
				return err
			}
			key := "default-features"
			if _, ok := spec[key]; !ok {
				key = "default_features"
			}
			if d.DefaultFeatures, err = manifestBool(spec, where, key, true); err != nil {
				return err
			}
			if f, ok := spec["features"]; ok {
				if d.Features, err = manifestStrings(f, where+".features"); err != nil {
					return err
				}
			}
		default:
			return invalidf("Cargo.toml in the crate: dependency `%s.%s` must be a string or a table", table, name)
		}
		m.Dependencies = append(m.Dependencies, d)
	}
	return nil
}

func manifestBool(t map[string]any, table, key string, def bool) (bool, error) {
	v, ok := t[key]
	if !ok {
		return def, nil
	}
	b, ok := v.(bool)
	if !ok {
		return def, invalidf("Cargo.toml in the crate: `%s.%s` must be a boolean", table, key)
	}
	return b, nil
}

// checkTOMLShape bounds what makes the TOML parser slow: nesting of arrays
// and inline tables, and the number of dots in one dotted key or header. It
// tracks strings and comments so that their content does not count.
// Outside strings, two or more dots between separators ('=', ',', brackets,
// braces, newline) can only be a dotted key: numbers and times have at most
// one. A '[' that starts a line opens a table header.
func checkTOMLShape(b []byte) error {
	depth, braces, dots := 0, 0, 0
	lineStart, header := true, false
	for i := 0; i < len(b); {
		c := b[i]
		wasLineStart := lineStart
		lineStart = c == '\n' || (lineStart && (c == ' ' || c == '\t'))
		switch c {
		case '#':
			for i < len(b) && b[i] != '\n' {
				i++
			}
			continue
		case '"', '\'':
			i = skipTOMLString(b, i)
			continue
		case '[', '{':
			if c == '[' && depth == 0 && wasLineStart {
				header = true
			}
			depth++
			if c == '{' {
				braces++
			}
			dots = 0
			if depth > maxTOMLNesting {
				return invalidf("Cargo.toml in the crate nests arrays or tables more than %d deep", maxTOMLNesting)
			}
		case ']', '}':
			if depth > 0 {
				depth--
			}
			if c == '}' && braces > 0 {
				braces--
			}
			if depth == 0 {
				header = false
			}
			dots = 0
		case '.':
			dots++
			switch {
			case header:
				if dots > maxTOMLHeaderDots {
					return invalidf("Cargo.toml in the crate has a table name with more than %d dots", maxTOMLHeaderDots)
				}
			case braces > 0:
				if dots > maxTOMLDotsInInline {
					return invalidf("Cargo.toml in the crate has a dotted key with more than %d dots in an inline table", maxTOMLDotsInInline)
				}
			case dots > maxTOMLDots:
				return invalidf("Cargo.toml in the crate has a dotted key with more than %d dots", maxTOMLDots)
			}
		case '=', ',', '\n':
			dots = 0
		}
		i++
	}
	return nil
}

// skipTOMLString returns the index after the string that starts at b[i]:
// basic strings in double quotes (with backslash escapes), literal strings
// in single quotes, and the multi-line forms with tripled quotes, whose
// closing delimiter may be followed by up to two more quotes that belong to
// the content. A single-line string also ends at a newline (invalid TOML,
// which the parser then reports).
func skipTOMLString(b []byte, i int) int {
	q := b[i]
	if i+2 < len(b) && b[i+1] == q && b[i+2] == q {
		i += 3
		for i < len(b) {
			switch {
			case b[i] == '\\' && q == '"':
				i += 2
			case b[i] == q:
				n := 0
				for i+n < len(b) && b[i+n] == q {
					n++
				}
				i += n
				if n >= 3 {
					return i
				}
			default:
				i++
			}
		}
		return len(b)
	}
	i++
	for i < len(b) {
		switch b[i] {
		case '\\':
			if q == '"' {
				i += 2
				continue
			}
		case q:
			return i + 1
		case '\n':
			return i
		}
		i++
	}
	return len(b)
}
