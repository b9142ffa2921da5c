package cargo

import (
	"bytes"
	"encoding/json"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// IndexEntry is one line of a crate's index file (PROTOCOL.md 1.3). Line
// writes it with the keys in the order crates.io uses: name, vers, deps,
// cksum, features, [features2], yanked, [links], [rust_version], [pubtime],
// [v]. The JSON tags let encoding/json read a line back.
type IndexEntry struct {
	Name string     `json:"name"`
	Vers string     `json:"vers"`
	Deps []IndexDep `json:"deps"`
	// Cksum is the lowercase hex sha256 of the .crate file.
	Cksum    string              `json:"cksum"`
	Features map[string][]string `json:"features"`
	// Features2 holds the features that use "dep:" or "?/" syntax, or
	// enable one that does; nil when there are none. Cargo >= 1.19 merges it
	// into Features, older cargo never sees it.
	Features2   map[string][]string `json:"features2,omitempty"`
	Yanked      bool                `json:"yanked"`
	Links       *string             `json:"links,omitempty"`
	RustVersion *string             `json:"rust_version,omitempty"`
	// Pubtime is "2006-01-02T15:04:05Z" in UTC, "" to omit.
	Pubtime string `json:"pubtime,omitempty"`
	// V is the entry schema version: 2 when Features2 is set, else 0
	// (omitted, meaning 1).
	V int `json:"v,omitempty"`
}

// IndexDep is one dependency of an index entry. Line writes its keys in the
// order name, req, features, optional, default_features, target, kind,
// registry, [package].
type IndexDep struct {
	// Name is the name in the dependent's Cargo.toml: the alias when renamed.
	Name            string   `json:"name"`
	Req             string   `json:"req"`
	Features        []string `json:"features"`
	Optional        bool     `json:"optional"`
	DefaultFeatures bool     `json:"default_features"`
	Target          *string  `json:"target"`
	// Kind is "normal", "build" or "dev".
	Kind string `json:"kind"`
	// Registry is the index URL of a foreign registry, nil for this one.
	Registry *string `json:"registry"`
	// Package is the real package name when Name is an alias.
	Package *string `json:"package,omitempty"`
}

// PubtimeFormat is the only pubtime format cargo accepts: UTC, whole
// seconds (with fractions the whole entry is invalid to cargo).
const PubtimeFormat = "2006-01-02T15:04:05Z"

// CratesIOIndexURL is the index URL cargo sends for a crates.io dependency.
const CratesIOIndexURL = "https://github.com/rust-lang/crates.io-index"

// NewIndexEntry maps validated publish metadata to an index entry, as cargo's
// test registry and crates.io do (PROTOCOL.md 4.2):
//
//   - dep.name is the alias when renamed, dep.package then the real name;
//   - dep.registry is nil when absent or when it is one of ownIndexURLs
//     (compared without "sparse+" and trailing slashes, scheme and host
//     case-insensitively);
//   - dep.kind "normal" when empty; deps sorted as crates.io sorts them;
//   - features split crates.io-style into features and features2 (+ "v":2);
//   - yanked false; pubtime in PubtimeFormat, omitted if pubtime is zero.
//
// cksum must be computed by the server from the .crate bytes. The entry
// shares the metadata's feature slices; it does not modify them.
func NewIndexEntry(m *NewCrate, cksum string, pubtime time.Time, ownIndexURLs []string) *IndexEntry {
	e := &IndexEntry{
		Name:        m.Name,
		Vers:        m.Vers,
		Deps:        make([]IndexDep, 0, len(m.Deps)),
		Cksum:       cksum,
		Links:       nonEmpty(m.Links),
		RustVersion: nonEmpty(m.RustVersion),
	}
	if !pubtime.IsZero() {
		e.Pubtime = pubtime.UTC().Format(PubtimeFormat)
	}
	for i := range m.Deps {
		d := &m.Deps[i]
		id := IndexDep{
			Name:            d.Name,
			Req:             d.VersionReq,
			Features:        d.Features,
			Optional:        d.Optional,
			DefaultFeatures: d.DefaultFeatures,
			Target:          nonEmpty(d.Target),
			Kind:            d.Kind,
			Registry:        nonEmpty(d.Registry),
		}
		if d.ExplicitNameInToml != nil && *d.ExplicitNameInToml != "" {
			id.Name = *d.ExplicitNameInToml
			pkg := d.Name
			id.Package = &pkg
		}
		if id.Kind == "" {
			id.Kind = "normal"
		}
		if id.Registry != nil && IsOwnIndexURL(*id.Registry, ownIndexURLs) {
			id.Registry = nil
		}
		e.Deps = append(e.Deps, id)
	}
	slices.SortStableFunc(e.Deps, compareIndexDeps)
	e.Features, e.Features2 = SplitFeatures(m.Features)
	if e.Features2 != nil {
		e.V = 2
	}
	return e
}

func nonEmpty(s *string) *string {
	if s == nil || *s == "" {
		return nil
	}
	return s
}

// IsOwnIndexURL reports whether a dependency's registry URL names this
// registry: u equals one of own after removing a "sparse+" prefix and
// trailing slashes, with scheme and host compared case-insensitively.
func IsOwnIndexURL(u string, own []string) bool {
	nu := normalizeIndexURL(u)
	for _, o := range own {
		if normalizeIndexURL(o) == nu {
			return true
		}
	}
	return false
}

func normalizeIndexURL(u string) string {
	u = strings.TrimPrefix(u, "sparse+")
	u = strings.TrimRight(u, "/")
	// Lowercase "scheme://host[:port]", keep the path as it is.
	if i := strings.Index(u, "://"); i >= 0 {
		end := len(u)
		if j := strings.IndexByte(u[i+3:], '/'); j >= 0 {
			end = i + 3 + j
		}
		u = strings.ToLower(u[:end]) + u[end:]
	}
	return u
}

// kindRank orders dependency kinds as crates.io's DependencyKind enum:
// normal, build, dev.
func kindRank(k string) int {
	switch k {
	case "build":
		return 1
	case "dev":
		return 2
	}
	return 0
}

// compareIndexDeps is crates.io's order of index dependencies: by name,
// kind, req, optional, default_features, target, package, features, so
// that a normal dependency comes before a dev or build dependency of the
// same name (old cargo versions depend on it).
func compareIndexDeps(a, b IndexDep) int {
	if c := strings.Compare(a.Name, b.Name); c != 0 {
		return c
	}
	if c := kindRank(a.Kind) - kindRank(b.Kind); c != 0 {
		return c
	}
	if c := strings.Compare(a.Req, b.Req); c != 0 {
		return c
	}
	if c := compareBool(a.Optional, b.Optional); c != 0 {
		return c
	}
	if c := compareBool(a.DefaultFeatures, b.DefaultFeatures); c != 0 {
		return c
	}
	if c := compareOptString(a.Target, b.Target); c != 0 {
		return c
	}
	if c := compareOptString(a.Package, b.Package); c != 0 {
		return c
	}
	return slices.Compare(a.Features, b.Features)
}

func compareBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}

// compareOptString orders like Rust's Option<String>: None first.
func compareOptString(a, b *string) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	return strings.Compare(*a, *b)
}

// SplitFeatures splits a feature map as crates.io does: a feature whose
// values use "dep:" or "?/" syntax goes to features2, and so does a feature
// that enables (transitively) a feature in features2; the rest stays in
// features. features2 is nil when empty; features is never nil.
func SplitFeatures(all map[string][]string) (features, features2 map[string][]string) {
	features = make(map[string][]string, len(all))
	for name, values := range all {
		if slices.ContainsFunc(values, hasFeatures2Syntax) {
			if features2 == nil {
				features2 = make(map[string][]string)
			}
			features2[name] = values
		} else {
			features[name] = values
		}
	}
	// Move features that enable a features2 feature until nothing moves.
	// Each pass moves at least one feature, so there are at most
	// len(features)+1 passes.
	for moved := features2 != nil; moved; {
		moved = false
		for name, values := range features {
			for _, v := range values {
				if _, ok := features2[v]; ok {
					features2[name] = values
					delete(features, name)
					moved = true
					break
				}
			}
		}
	}
	return features, features2
}

func hasFeatures2Syntax(v string) bool {
	return strings.HasPrefix(v, "dep:") || strings.Contains(v, "?/")
}

// Line returns the entry as one compact JSON line without a trailing
// newline, byte for byte as crates.io writes it: keys in crates.io's order,
// feature maps sorted by key, strings escaped as serde_json escapes them
// (only '"', '\\' and control characters; no HTML escaping).
func (e *IndexEntry) Line() []byte {
	b := make([]byte, 0, 256+160*len(e.Deps))
	b = append(b, `{"name":`...)
	b = appendJSONString(b, e.Name)
	b = append(b, `,"vers":`...)
	b = appendJSONString(b, e.Vers)
	b = append(b, `,"deps":[`...)
	for i := range e.Deps {
		if i > 0 {
			b = append(b, ',')
		}
		b = e.Deps[i].appendJSON(b)
	}
	b = append(b, `],"cksum":`...)
	b = appendJSONString(b, e.Cksum)
	b = append(b, `,"features":`...)
	b = appendFeatureMap(b, e.Features)
	if e.Features2 != nil {
		b = append(b, `,"features2":`...)
		b = appendFeatureMap(b, e.Features2)
	}
	b = append(b, `,"yanked":`...)
	b = strconv.AppendBool(b, e.Yanked)
	if e.Links != nil {
		b = append(b, `,"links":`...)
		b = appendJSONString(b, *e.Links)
	}
	if e.RustVersion != nil {
		b = append(b, `,"rust_version":`...)
		b = appendJSONString(b, *e.RustVersion)
	}
	if e.Pubtime != "" {
		b = append(b, `,"pubtime":`...)
		b = appendJSONString(b, e.Pubtime)
	}
	if e.V != 0 {
		b = append(b, `,"v":`...)
		b = strconv.AppendInt(b, int64(e.V), 10)
	}
	return append(b, '}')
}

// MarshalJSON makes encoding/json write the entry as Line does.
func (e *IndexEntry) MarshalJSON() ([]byte, error) { return e.Line(), nil }

func (d *IndexDep) appendJSON(b []byte) []byte {
	b = append(b, `{"name":`...)
	b = appendJSONString(b, d.Name)
	b = append(b, `,"req":`...)
	b = appendJSONString(b, d.Req)
	b = append(b, `,"features":`...)
	b = appendStringArray(b, d.Features)
	b = append(b, `,"optional":`...)
	b = strconv.AppendBool(b, d.Optional)
	b = append(b, `,"default_features":`...)
	b = strconv.AppendBool(b, d.DefaultFeatures)
	b = append(b, `,"target":`...)
	b = appendOptString(b, d.Target)
	b = append(b, `,"kind":`...)
	b = appendJSONString(b, d.Kind)
	b = append(b, `,"registry":`...)
	b = appendOptString(b, d.Registry)
	if d.Package != nil {
		b = append(b, `,"package":`...)
		b = appendJSONString(b, *d.Package)
	}
	return append(b, '}')
}

func appendOptString(b []byte, s *string) []byte {
	if s == nil {
		return append(b, "null"...)
	}
	return appendJSONString(b, *s)
}

func appendStringArray(b []byte, a []string) []byte {
	b = append(b, '[')
	for i, s := range a {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, s)
	}
	return append(b, ']')
}

func appendFeatureMap(b []byte, m map[string][]string) []byte {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys) // byte order, as Rust's BTreeMap<String, _>
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		b = appendStringArray(b, m[k])
	}
	return append(b, '}')
}

const hexDigits = "0123456789abcdef"

// appendJSONString writes s as a JSON string the way serde_json does.
// Invalid UTF-8 (which validated input never has) becomes U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b = append(b, s[start:i]...)
				b = append(b, `\ufffd`...)
				i++
				start = i
				continue
			}
			i += size
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"':
			b = append(b, `\"`...)
		case '\\':
			b = append(b, `\\`...)
		case '\b':
			b = append(b, `\b`...)
		case '\f':
			b = append(b, `\f`...)
		case '\n':
			b = append(b, `\n`...)
		case '\r':
			b = append(b, `\r`...)
		case '\t':
			b = append(b, `\t`...)
		default:
			b = append(b, `\u00`...)
			b = append(b, hexDigits[c>>4], hexDigits[c&0xF])
		}
		i++
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// ParseIndexLine reads one index line back into an IndexEntry. It is for
// lines this package wrote (or a mirrored upstream's): unknown keys are
// ignored, and yanked null reads as false.
func ParseIndexLine(line []byte) (*IndexEntry, error) {
	e := new(IndexEntry)
	if err := json.Unmarshal(line, e); err != nil {
		return nil, invalidf("invalid index line: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	return e, nil
}

// SetYanked returns a copy of a stored index line with its top-level
// "yanked" value set, leaving every other byte as it was (so the line keeps
// crates.io's key order and cksum etc. are untouched). Every top-level
// "yanked" key is rewritten; when there is none, one is added after
// "features2" or "features", or at the end. The line must be one JSON
// object.
func SetYanked(line []byte, yanked bool) ([]byte, error) {
	value := "false"
	if yanked {
		value = "true"
	}
	type span struct{ start, end int64 }
	var yankedSpans []span
	var after int64 = -1 // end of the value of "features2" or "features"
	afterIsFeatures2 := false

	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return nil, invalidf("invalid index line: expected a JSON object")
	}
	keys := 0
	for dec.More() {
		keys++
		tok, err := dec.Token()
		if err != nil {
			return nil, invalidf("invalid index line: %s", strings.TrimPrefix(err.Error(), "json: "))
		}
		key, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, invalidf("invalid index line: %s", strings.TrimPrefix(err.Error(), "json: "))
		}
		end := dec.InputOffset()
		start := end - int64(len(raw))
		switch key {
		case "yanked":
			yankedSpans = append(yankedSpans, span{start, end})
		case "features2":
			after, afterIsFeatures2 = end, true
		case "features":
			if !afterIsFeatures2 {
				after = end
			}
		}
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, invalidf("invalid index line: expected a JSON object")
	}
	closing := dec.InputOffset() - 1
	if _, err := dec.Token(); err != io.EOF {
		return nil, invalidf("invalid index line: unexpected data after the JSON object")
	}

	out := make([]byte, 0, len(line)+16)
	if len(yankedSpans) == 0 {
		at := after
		if at < 0 {
			at = closing
		}
		out = append(out, line[:at]...)
		if keys > 0 {
			out = append(out, ',')
		}
		out = append(out, `"yanked":`...)
		out = append(out, value...)
		return append(out, line[at:]...), nil
	}
	prev := int64(0)
	for _, s := range yankedSpans {
		out = append(out, line[prev:s.start]...)
		out = append(out, value...)
		prev = s.end
	}
	return append(out, line[prev:]...), nil
}
