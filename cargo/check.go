package cargo

import (
	"slices"
	"strconv"
	"strings"
)

// CheckManifest cross-checks the publish metadata against the Cargo.toml
// found in the tarball (PROTOCOL.md 6.7): cargo builds both from the same
// normalized manifest, so a mismatch means a client is trying to make the
// index say something other than the crate. It compares links,
// rust_version, the features, and the dependencies as multisets of (name
// in Cargo.toml, real package, kind, target, requirement, optional,
// default features, enabled features, registry). Requirements are compared
// parsed ("0.1" in Cargo.toml is "^0.1" in the metadata).
//
// Registries: a metadata dependency without "registry" comes from this
// registry, and Cargo.toml then names it by a "registry-index" URL (the one
// the publishing user configured, which may be an alias of ours, so any
// URL but crates.io's is accepted); a foreign registry URL must equal the
// "registry-index"; the crates.io URL matches a dependency without
// "registry-index". A hand-written "registry = name" matches any registry.
// InspectCrate has already checked name and version.
func CheckManifest(m *NewCrate, man *Manifest, ownIndexURLs []string) error {
	if deref(m.Links) != man.Links {
		return invalidf("the `links` value of the upload metadata (%s) does not match Cargo.toml in the crate (%s)", show(deref(m.Links)), show(man.Links))
	}
	if deref(m.RustVersion) != man.RustVersion {
		return invalidf("the `rust_version` of the upload metadata (%s) does not match `rust-version` in Cargo.toml in the crate (%s)", show(deref(m.RustVersion)), show(man.RustVersion))
	}
	if len(m.Features) != len(man.Features) {
		return invalidf("the features of the upload metadata do not match Cargo.toml in the crate: %d features against %d", len(m.Features), len(man.Features))
	}
	for name, values := range m.Features {
		mv, ok := man.Features[name]
		if !ok {
			return invalidf("the feature %s of the upload metadata is not in Cargo.toml in the crate", show(name))
		}
		if !sameStringSet(values, mv) {
			return invalidf("the feature %s of the upload metadata does not match Cargo.toml in the crate", show(name))
		}
	}

	if len(m.Deps) != len(man.Dependencies) {
		return invalidf("the dependencies of the upload metadata do not match Cargo.toml in the crate: %d dependencies against %d", len(m.Deps), len(man.Dependencies))
	}
	// Group Cargo.toml's dependencies by everything but the registry.
	type candidate struct {
		dep  *ManifestDep
		used bool
	}
	byKey := make(map[string][]*candidate, len(man.Dependencies))
	for i := range man.Dependencies {
		d := &man.Dependencies[i]
		req := d.Req
		if req == "" {
			req = "*"
		}
		r, err := ParseRequirement(req)
		if err != nil {
			return withPrefix("Cargo.toml in the crate: dependency "+show(d.Name)+": ", err)
		}
		k := depKey(d.Name, d.Package, d.Kind, d.Target, r.String(), d.Optional, d.DefaultFeatures, d.Features)
		byKey[k] = append(byKey[k], &candidate{dep: d})
	}
	for i := range m.Deps {
		d := &m.Deps[i]
		name, pkg := d.Name, ""
		if d.ExplicitNameInToml != nil && *d.ExplicitNameInToml != "" {
			name, pkg = *d.ExplicitNameInToml, d.Name
		}
		kind := d.Kind
		if kind == "" {
			kind = "normal"
		}
		r, err := ParseRequirement(d.VersionReq)
		if err != nil {
			return withPrefix("dependency "+show(name)+": ", err)
		}
		k := depKey(name, pkg, kind, deref(d.Target), r.String(), d.Optional, d.DefaultFeatures, d.Features)
		found := false
		for _, c := range byKey[k] {
			if !c.used && sameRegistry(deref(d.Registry), c.dep, ownIndexURLs) {
				c.used, found = true, true
				break
			}
		}
		if !found {
			return invalidf("the %s dependency %s of the upload metadata does not match any dependency in Cargo.toml in the crate", kind, show(name))
		}
	}
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func sameStringSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// depKey joins a dependency's fields with NUL, which no field contains
// after validation.
func depKey(name, pkg, kind, target, req string, optional, defaultFeatures bool, features []string) string {
	f := slices.Clone(features)
	slices.Sort(f)
	return strings.Join([]string{name, pkg, kind, target, req,
		strconv.FormatBool(optional), strconv.FormatBool(defaultFeatures),
		strings.Join(f, "\x00")}, "\x00\x01")
}

// sameRegistry reports whether a metadata dependency's registry URL ("" for
// this registry) agrees with a Cargo.toml dependency (see CheckManifest).
func sameRegistry(metaURL string, d *ManifestDep, own []string) bool {
	if d.Registry != "" && d.RegistryIndex == "" {
		return true
	}
	isCratesIO := func(u string) bool {
		return normalizeIndexURL(u) == normalizeIndexURL(CratesIOIndexURL)
	}
	manifestCratesIO := d.RegistryIndex == "" || isCratesIO(d.RegistryIndex)
	switch {
	case metaURL == "" || IsOwnIndexURL(metaURL, own):
		return !manifestCratesIO || IsOwnIndexURL(CratesIOIndexURL, own)
	case isCratesIO(metaURL):
		return manifestCratesIO
	}
	return d.RegistryIndex != "" && normalizeIndexURL(d.RegistryIndex) == normalizeIndexURL(metaURL)
}
