// Package cratecorpus turns crate sources unpacked on disk, such as those
// Debian ships under /usr/share/cargo/registry/NAME-VERSION/ in its
// librust-*-dev packages, into publish requests, so that tests can check
// that crated accepts real crates as crates.io published them.
//
// A directory becomes a .crate the way cargo package lays one out (the
// files under "NAME-VERSION/", regular files only, in a stable order) and
// publish metadata the way cargo builds it from the normalized Cargo.toml.
// Debian's additions are kept except .cargo-checksum.json; a symbolic link
// becomes the file it points to, and one that points nowhere is left out.
package cratecorpus

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/crated/crated/cargo"
)

// DebianRegistry is where Debian's librust-*-dev packages put crate sources.
const DebianRegistry = "/usr/share/cargo/registry"

// Dirs returns the crate directories under root, sorted.
func Dirs(root string) ([]string, error) {
	ents, err := os.ReadDir(root)
	if err != nil {
		return nil, err
	}
	var dirs []string
	for _, e := range ents {
		p := filepath.Join(root, e.Name())
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			if _, err := os.Stat(filepath.Join(p, "Cargo.toml")); err == nil {
				dirs = append(dirs, p)
			}
		}
	}
	return dirs, nil
}

// ErrNotPackaged says a directory holds sources that cargo package would
// have changed before publishing, so they are not a crate as published.
var ErrNotPackaged = errors.New("not a crate as cargo packages it")

// Crate is one publish built from a directory.
type Crate struct {
	Name, Vers string
	Meta       []byte // the JSON metadata
	Tarball    []byte // the .crate
	// Deps are the names of the crates it depends on (normal and build
	// dependencies, any target), for closures.
	Deps []string
}

// pkgTable is the part of [package] the metadata copies.
type pkgTable struct {
	Name          string   `toml:"name"`
	Version       string   `toml:"version"`
	Authors       []string `toml:"authors"`
	Description   *string  `toml:"description"`
	Documentation *string  `toml:"documentation"`
	Homepage      *string  `toml:"homepage"`
	Readme        any      `toml:"readme"`
	Keywords      []string `toml:"keywords"`
	Categories    []string `toml:"categories"`
	License       *string  `toml:"license"`
	LicenseFile   *string  `toml:"license-file"`
	Repository    *string  `toml:"repository"`
	Links         *string  `toml:"links"`
	RustVersion   *string  `toml:"rust-version"`
}

// Build reads the crate in dir.
func Build(dir string) (*Crate, error) {
	// The walk below does not enter a root that is a symbolic link.
	dir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(filepath.Join(dir, "Cargo.toml"))
	if err != nil {
		return nil, err
	}
	var doc struct {
		Package pkgTable `toml:"package"`
	}
	if _, err := toml.Decode(string(raw), &doc); err != nil {
		return nil, fmt.Errorf("Cargo.toml: %w", err)
	}
	p := doc.Package
	tarball, err := tarDir(dir, p.Name+"-"+p.Version)
	if err != nil {
		return nil, err
	}
	// The dependencies and features as the registry reads them from the
	// same Cargo.toml, without any limit: the limits are the server's to
	// apply.
	huge := cargo.Limits{MaxCrate: 1 << 40, MaxUnpacked: 1 << 40, MaxEntries: 1 << 30, MaxPath: 1 << 20, MaxManifest: 1 << 30}
	pkg, err := cargo.InspectCrate(tarball, p.Name, p.Version, huge)
	if err != nil {
		return nil, fmt.Errorf("reading the built crate: %w", err)
	}
	m := pkg.Manifest
	deps := make([]map[string]any, 0, len(m.Dependencies))
	var names []string
	for _, d := range m.Dependencies {
		req := d.Req
		if req == "" {
			// A path-only dependency: cargo package drops it (dev) or
			// refuses to package (normal, build), so this Cargo.toml is
			// a source tree's, not a published crate's.
			return nil, fmt.Errorf("%w: the %s dependency %q has no version", ErrNotPackaged, d.Kind, d.Name)
		}
		nd := map[string]any{
			"name": d.PackageName(), "version_req": req, "features": nonNil(d.Features),
			"optional": d.Optional, "default_features": d.DefaultFeatures, "target": nil, "kind": d.Kind,
		}
		if d.Target != "" {
			nd["target"] = d.Target
		}
		if d.Package != "" {
			nd["explicit_name_in_toml"] = d.Name
		}
		// What cargo sends when it publishes to a registry other than
		// crates.io: the crates.io dependencies of a crates.io crate name
		// crates.io's index, which users of the registry replace with it
		// ([source.crates-io] replace-with).
		nd["registry"] = cargo.CratesIOIndexURL
		if d.RegistryIndex != "" {
			nd["registry"] = d.RegistryIndex
		}
		deps = append(deps, nd)
		if d.Kind != "dev" {
			names = append(names, d.PackageName())
		}
	}
	features := m.Features
	if features == nil {
		features = map[string][]string{}
	}
	var readme *string
	readmeFile, _ := p.Readme.(string)
	if readmeFile == "" && p.Readme == nil {
		readmeFile = "README.md"
	}
	if readmeFile != "" {
		if b, err := os.ReadFile(filepath.Join(dir, readmeFile)); err == nil {
			s := string(b)
			readme = &s
		} else {
			readmeFile = ""
		}
	}
	meta := map[string]any{
		"name": p.Name, "vers": p.Version, "deps": deps, "features": features,
		"authors": nonNil(p.Authors), "description": p.Description, "documentation": p.Documentation,
		"homepage": p.Homepage, "readme": readme, "readme_file": nilIfEmpty(readmeFile),
		"keywords": nonNil(p.Keywords), "categories": nonNil(p.Categories), "license": p.License,
		"license_file": p.LicenseFile, "repository": p.Repository, "badges": map[string]any{},
		"links": p.Links, "rust_version": p.RustVersion,
	}
	b, err := json.Marshal(meta)
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	return &Crate{Name: p.Name, Vers: p.Version, Meta: b, Tarball: tarball, Deps: slices.Compact(names)}, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func nilIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// tarDir packs the regular files under dir as root/..., as cargo package
// does: files only, sorted, with fixed metadata.
func tarDir(dir, root string) ([]byte, error) {
	type file struct {
		rel  string
		data []byte
		mode int64
	}
	var files []file
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == ".cargo-checksum.json" {
			return nil
		}
		st, err := os.Stat(p) // follows symbolic links
		if err != nil || !st.Mode().IsRegular() {
			return nil // a dangling link, or a link to a directory
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		mode := int64(0o644)
		if st.Mode()&0o111 != 0 {
			mode = 0o755
		}
		files = append(files, file{filepath.ToSlash(rel), b, mode})
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(files, func(a, b file) int { return strings.Compare(a.rel, b.rel) })
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	tw := tar.NewWriter(zw)
	for _, f := range files {
		h := &tar.Header{Name: root + "/" + f.rel, Mode: f.mode, Size: int64(len(f.data)), Typeflag: tar.TypeReg, Format: tar.FormatGNU}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
