package cargo

import (
	"encoding/json"
	"errors"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// NewCrate is the JSON metadata of a publish (cargo's NewCrate, PROTOCOL.md
// 4.2). cargo always sends every key; nullable strings are pointers so that
// an absent value (null) differs from an empty one. Unknown keys are
// ignored.
type NewCrate struct {
	Name     string              `json:"name"`
	Vers     string              `json:"vers"`
	Deps     []NewCrateDep       `json:"deps"`
	Features map[string][]string `json:"features"`
	Authors  []string            `json:"authors"`

	Description   *string `json:"description"`
	Documentation *string `json:"documentation"`
	Homepage      *string `json:"homepage"`
	// Readme is the README's content, ReadmeFile its path in the package.
	Readme      *string `json:"readme"`
	ReadmeFile  *string `json:"readme_file"`
	License     *string `json:"license"`
	LicenseFile *string `json:"license_file"`
	Repository  *string `json:"repository"`
	Links       *string `json:"links"`
	RustVersion *string `json:"rust_version"`

	Keywords   []string                     `json:"keywords"`
	Categories []string                     `json:"categories"`
	Badges     map[string]map[string]string `json:"badges"`
}

// NewCrateDep is one dependency in the publish metadata (cargo's
// NewCrateDependency).
type NewCrateDep struct {
	// Name is the real package name, also when the dependency is renamed.
	Name string `json:"name"`
	// VersionReq is the requirement as cargo normalized it ("^0.1").
	VersionReq      string   `json:"version_req"`
	Features        []string `json:"features"`
	Optional        bool     `json:"optional"`
	DefaultFeatures bool     `json:"default_features"`
	// Target is a cfg expression or target triple, nil for all targets.
	Target *string `json:"target"`
	// Kind is "normal", "dev" or "build".
	Kind string `json:"kind"`
	// Registry is the index URL of a foreign registry; absent when the
	// dependency comes from the registry being published to.
	Registry *string `json:"registry,omitempty"`
	// ExplicitNameInToml is the alias a renamed dependency has in
	// Cargo.toml.
	ExplicitNameInToml *string `json:"explicit_name_in_toml,omitempty"`
}

// ParseMetadata decodes the JSON metadata of a publish. It rejects bytes
// that are not UTF-8 (encoding/json would silently replace them) and JSON
// that does not fit NewCrate, with a message that names the field. It does
// not check the content: call Validate.
func ParseMetadata(b []byte) (*NewCrate, error) {
	if !utf8.Valid(b) {
		return nil, invalidf("json body was not valid utf-8")
	}
	m := new(NewCrate)
	if err := json.Unmarshal(b, m); err != nil {
		return nil, jsonError(err)
	}
	return m, nil
}

// jsonError turns an encoding/json error into a message about the upload
// rather than about Go types.
func jsonError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return invalidf("invalid upload request: malformed JSON at byte %d: %s", syn.Offset, strings.TrimPrefix(syn.Error(), "json: "))
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return invalidf("invalid upload request: expected a JSON object, found %s", typ.Value)
		}
		return invalidf("invalid upload request: field `%s` has the wrong type: found %s, expected %s", field, typ.Value, jsonTypeName(typ.Type.Kind().String()))
	}
	return invalidf("invalid upload request: %s", strings.TrimPrefix(err.Error(), "json: "))
}

func jsonTypeName(kind string) string {
	switch kind {
	case "string", "bool":
		return kind
	case "slice":
		return "array"
	case "map", "struct":
		return "object"
	}
	return kind
}

// Validate checks everything PROTOCOL.md sections 5 and 6 ask of the
// metadata, with crates.io's rules and the limits of lim (zero fields are
// defaults, see Limits):
//
//   - name: ValidateName, and not one of lim.ReservedNames; vers: strict
//     semver, at most lim.MaxVersionLength characters;
//   - deps: at most lim.MaxDependencies; real names follow the crate-name
//     rule, aliases may also start with '_'; the requirement passes
//     ValidateRequirement (so no bare "*"); kind is normal, dev or build;
//     the features they enable pass ValidateFeature;
//   - features: at most lim.MaxFeatures, each with at most
//     lim.MaxFeatureValues values; names pass ValidateFeatureName, values
//     ValidateFeature;
//   - description: at most lim.MaxDescription characters;
//   - keywords: at most lim.MaxKeywords, each 1 to lim.MaxKeywordLength
//     characters without control characters; categories: at most
//     lim.MaxCategories;
//   - links: a plain library name; rust_version: 1 to 3 dot-separated
//     numbers ("1.70");
//   - homepage, documentation, repository: http:// or https:// URLs.
//
// It returns the first problem found.
func (m *NewCrate) Validate(lim Limits) error {
	lim = lim.WithDefaults()
	if err := ValidateName(m.Name); err != nil {
		return err
	}
	if lim.IsReserved(m.Name) {
		return invalidf("the name %s is reserved and cannot be used as a crate name", show(m.Name))
	}
	if len(m.Vers) > lim.MaxVersionLength {
		return invalidf("invalid version %s: it is longer than %d characters", show(m.Vers), lim.MaxVersionLength)
	}
	if _, err := ParseVersion(m.Vers); err != nil {
		return err
	}
	if len(m.Deps) > lim.MaxDependencies {
		return invalidf("too many dependencies: %d, the limit is %d", len(m.Deps), lim.MaxDependencies)
	}
	for i := range m.Deps {
		if err := m.Deps[i].validate(); err != nil {
			return err
		}
	}
	if err := validateFeatures(m.Features, lim); err != nil {
		return err
	}
	if m.Description != nil && len(*m.Description) > lim.MaxDescription &&
		utf8.RuneCountInString(*m.Description) > lim.MaxDescription {
		return invalidf("the description is too long: %d characters, the limit is %d", utf8.RuneCountInString(*m.Description), lim.MaxDescription)
	}
	if len(m.Keywords) > lim.MaxKeywords {
		return invalidf("expected at most %d keywords per crate, found %d", lim.MaxKeywords, len(m.Keywords))
	}
	for _, kw := range m.Keywords {
		if err := validateKeyword(kw, lim.MaxKeywordLength); err != nil {
			return err
		}
	}
	if len(m.Categories) > lim.MaxCategories {
		return invalidf("expected at most %d categories per crate, found %d", lim.MaxCategories, len(m.Categories))
	}
	if m.Links != nil {
		if err := validateLinks(*m.Links); err != nil {
			return err
		}
	}
	if m.RustVersion != nil {
		if err := validateRustVersion(*m.RustVersion); err != nil {
			return err
		}
	}
	for _, u := range []struct {
		field string
		value *string
	}{{"homepage", m.Homepage}, {"documentation", m.Documentation}, {"repository", m.Repository}} {
		if u.value != nil {
			if err := validateURL(u.field, *u.value); err != nil {
				return err
			}
		}
	}
	return nil
}

func (d *NewCrateDep) validate() error {
	if err := validateDependencyName(d.Name); err != nil {
		return err
	}
	name := d.Name
	if d.ExplicitNameInToml != nil {
		if err := validateDependencyAlias(*d.ExplicitNameInToml); err != nil {
			return err
		}
		name = *d.ExplicitNameInToml
	}
	if err := ValidateRequirement(d.VersionReq); err != nil {
		return withPrefix("dependency "+show(name)+": ", err)
	}
	switch d.Kind {
	case "", "normal", "dev", "build":
	default:
		return invalidf("dependency %s has an unknown kind %s: expected normal, dev or build", show(name), show(d.Kind))
	}
	for _, f := range d.Features {
		if err := ValidateFeature(f); err != nil {
			return withPrefix("dependency "+show(name)+": ", err)
		}
	}
	if d.Target != nil && !isPlainText(*d.Target) {
		return invalidf("dependency %s has an invalid target %s", show(name), show(*d.Target))
	}
	if d.Registry != nil && *d.Registry != "" && !isPlainText(*d.Registry) {
		return invalidf("dependency %s has an invalid registry %s", show(name), show(*d.Registry))
	}
	return nil
}

// isPlainText reports whether s is non-empty and has no control characters:
// the shape of a target ("cfg(unix)") or a registry URL.
func isPlainText(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

func validateFeatures(features map[string][]string, lim Limits) error {
	if len(features) > lim.MaxFeatures {
		return invalidf("too many features: %d, the limit is %d", len(features), lim.MaxFeatures)
	}
	// In key order, so that the error reported for several bad features
	// does not change from one attempt to the next.
	for _, name := range slices.Sorted(maps.Keys(features)) {
		values := features[name]
		if err := ValidateFeatureName(name); err != nil {
			return err
		}
		if len(values) > lim.MaxFeatureValues {
			return invalidf("feature %s has too many values: %d, the limit is %d", show(name), len(values), lim.MaxFeatureValues)
		}
		for _, v := range values {
			if err := ValidateFeature(v); err != nil {
				return err
			}
		}
	}
	return nil
}

// validateLinks checks the name of the native library a package links:
// 1 to 255 bytes, ASCII letters, digits, '_', '-', '.' and '+' (library
// names such as "git2", "python3.11" or "stdc++").
func validateLinks(s string) error {
	if s == "" || len(s) > 255 {
		return invalidf("invalid `links` value %s: expected the name of a native library", show(s))
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isNameByte(c) && c != '.' && c != '+' {
			return invalidf("invalid `links` value %s: expected the name of a native library", show(s))
		}
	}
	return nil
}

// validateRustVersion checks rust-version: a version without operator or
// pre-release, 1 to 3 dot-separated numbers without leading zeros.
func validateRustVersion(s string) error {
	parts := strings.Split(s, ".")
	ok := len(parts) <= 3
	for _, p := range parts {
		if !ok {
			break
		}
		_, err := strconv.ParseUint(p, 10, 64)
		ok = err == nil && isNumericIdent(p) && (p == "0" || p[0] != '0')
	}
	if !ok {
		return invalidf("invalid rust-version %s: expected a version made of 1 to 3 numbers, such as `1.70`", show(s))
	}
	return nil
}

// validateURL checks homepage, documentation and repository: an absolute
// http:// or https:// URL with a host.
func validateURL(field, s string) error {
	if !strings.HasPrefix(s, "http://") && !strings.HasPrefix(s, "https://") {
		return invalidf("URL for field `%s` must begin with http:// or https:// (url: %s)", field, show(s))
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return invalidf("`%s` is not a valid url: %s", field, show(s))
	}
	return nil
}
