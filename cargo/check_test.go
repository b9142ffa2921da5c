package cargo

import (
	"testing"
)

func TestCheckManifest(t *testing.T) {
	_, crate := realPublish(t)
	pkg, err := InspectCrate(crate, "tiny-crate", "0.1.0+build.5", DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	own := []string{ownIndexURL}
	for _, tc := range []struct {
		name   string
		mutate func(m *NewCrate, man *Manifest)
		msg    string
	}{
		{"real", func(m *NewCrate, man *Manifest) {}, ""},
		{"deps in another order", func(m *NewCrate, man *Manifest) { m.Deps[0], m.Deps[4] = m.Deps[4], m.Deps[0] }, ""},
		{"feature values in another order", func(m *NewCrate, man *Manifest) { man.Features["default"] = []string{"std"} }, ""},
		{"links differ", func(m *NewCrate, man *Manifest) { m.Links = ptr("other") }, "the `links` value of the upload metadata (`other`) does not match Cargo.toml in the crate (`tiny`)"},
		{"links missing", func(m *NewCrate, man *Manifest) { m.Links = nil }, "`links`"},
		{"rust_version differs", func(m *NewCrate, man *Manifest) { m.RustVersion = ptr("1.60") }, "`rust_version`"},
		{"feature added", func(m *NewCrate, man *Manifest) { m.Features["evil"] = nil }, "the features of the upload metadata do not match"},
		{"feature renamed", func(m *NewCrate, man *Manifest) { m.Features["evil"] = m.Features["std"]; delete(m.Features, "std") }, "the feature `evil` of the upload metadata is not in Cargo.toml"},
		{"feature value changed", func(m *NewCrate, man *Manifest) { m.Features["default"] = []string{"extra"} }, "the feature `default` of the upload metadata does not match"},
		{"dependency dropped", func(m *NewCrate, man *Manifest) { m.Deps = m.Deps[1:] }, "4 dependencies against 5"},
		{"dependency renamed", func(m *NewCrate, man *Manifest) { m.Deps[0].Name = "other-dep" }, "the normal dependency `other-dep` of the upload metadata does not match"},
		{"alias dropped", func(m *NewCrate, man *Manifest) { m.Deps[4].ExplicitNameInToml = nil }, "does not match any dependency"},
		{"kind changed", func(m *NewCrate, man *Manifest) { m.Deps[1].Kind = "normal" }, "does not match any dependency"},
		{"req changed", func(m *NewCrate, man *Manifest) { m.Deps[0].VersionReq = "^0.2" }, "does not match any dependency"},
		{"req spelled otherwise", func(m *NewCrate, man *Manifest) { m.Deps[0].VersionReq = "0.1" }, ""},
		{"optional changed", func(m *NewCrate, man *Manifest) { m.Deps[0].Optional = false }, "does not match any dependency"},
		{"default features changed", func(m *NewCrate, man *Manifest) { m.Deps[4].DefaultFeatures = true }, "does not match any dependency"},
		{"features changed", func(m *NewCrate, man *Manifest) { m.Deps[4].Features = nil }, "does not match any dependency"},
		{"target dropped", func(m *NewCrate, man *Manifest) { m.Deps[4].Target = nil }, "does not match any dependency"},
		{"crates.io dep claimed as ours", func(m *NewCrate, man *Manifest) { m.Deps[0].Registry = nil }, "the normal dependency `extra-dep` of the upload metadata does not match"},
		{"crates.io dep claimed as ours by URL", func(m *NewCrate, man *Manifest) { m.Deps[0].Registry = ptr(ownIndexURL) }, "does not match"},
		{"foreign dep moved", func(m *NewCrate, man *Manifest) { m.Deps[2].Registry = ptr("sparse+http://elsewhere/index/") }, "the dev dependency `helper`"},
		{"foreign dep spelled otherwise", func(m *NewCrate, man *Manifest) { m.Deps[2].Registry = ptr("http://other.invalid/index") }, ""},
		{"foreign dep claimed as crates.io", func(m *NewCrate, man *Manifest) { m.Deps[2].Registry = ptr(CratesIOIndexURL) }, "does not match"},
		{"own dep", func(m *NewCrate, man *Manifest) {
			m.Deps[2].Registry = nil
			man.Dependencies[4].RegistryIndex = ownIndexURL
		}, ""},
		{"own dep by an alias URL", func(m *NewCrate, man *Manifest) {
			m.Deps[2].Registry = nil
			man.Dependencies[4].RegistryIndex = "sparse+http://localhost:18777/index/"
		}, ""},
		{"registry by name", func(m *NewCrate, man *Manifest) {
			man.Dependencies[4].RegistryIndex = ""
			man.Dependencies[4].Registry = "other"
		}, ""},
		{"manifest req invalid", func(m *NewCrate, man *Manifest) { man.Dependencies[0].Req = "one" }, "Cargo.toml in the crate: dependency `extra-dep`: invalid version requirement `one`"},
	} {
		m := realMetadata(t)
		man := pkg.Manifest
		man.Dependencies = append([]ManifestDep(nil), man.Dependencies...)
		man.Features = map[string][]string{}
		for k, v := range pkg.Manifest.Features {
			man.Features[k] = v
		}
		tc.mutate(m, &man)
		code := ""
		if tc.msg != "" {
			code = invalid
		}
		wantCode(t, tc.name, CheckManifest(m, &man, own), code, tc.msg)
	}
}

// When this registry replaces crates.io for its users, a crates.io URL in
// the metadata is ours too.
func TestCheckManifestCratesIOReplacement(t *testing.T) {
	m := &NewCrate{Name: "a", Vers: "1.0.0", Deps: []NewCrateDep{{Name: "b", VersionReq: "^1", Kind: "normal", DefaultFeatures: true}}}
	man := &Manifest{Name: "a", Version: "1.0.0", Dependencies: []ManifestDep{{Name: "b", Req: "1", Kind: "normal", DefaultFeatures: true}}}
	if err := CheckManifest(m, man, []string{CratesIOIndexURL}); err != nil {
		t.Error(err)
	}
	wantCode(t, "not replacing", CheckManifest(m, man, []string{ownIndexURL}), invalid, "does not match")
}
