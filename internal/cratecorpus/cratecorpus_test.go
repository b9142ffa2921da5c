package cratecorpus

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/crated/crated/cargo"
)

func write(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// A directory becomes a publish the registry accepts: the metadata agrees
// with the Cargo.toml in the crate, files are under NAME-VERSION/, links are
// followed, and Debian's checksum file is left out.
func TestBuild(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "demo-1.2.3")
	write(t, dir, map[string]string{
		"Cargo.toml": `[package]
name = "demo"
version = "1.2.3"
description = "A demo"
keywords = ["shared memory"]
readme = "README.md"

[dependencies.serde]
version = "1.0"
features = ["derive"]
optional = true

[dependencies.rnd]
version = "0.8"
package = "rand"

[target."cfg(windows)".dependencies.winapi]
version = "0.3"

[dev-dependencies.quickcheck]
version = "1"

[build-dependencies.cc]
version = "1.0"

[features]
default = ["serde"]
`,
		"README.md":            "# demo\n",
		"src/lib.rs":           "",
		".cargo-checksum.json": "{}",
	})
	if err := os.Symlink(filepath.Join(dir, "README.md"), filepath.Join(dir, "README-link.md")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "nowhere"), filepath.Join(dir, "dangling")); err != nil {
		t.Fatal(err)
	}
	dirs, err := Dirs(root)
	if err != nil || len(dirs) != 1 {
		t.Fatalf("Dirs = %v, %v", dirs, err)
	}
	c, err := Build(dirs[0])
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "demo" || c.Vers != "1.2.3" || !slices.Equal(c.Deps, []string{"cc", "rand", "serde", "winapi"}) {
		t.Errorf("crate %s %s deps %v", c.Name, c.Vers, c.Deps)
	}
	lim := cargo.DefaultLimits()
	meta, err := cargo.ParseMetadata(c.Meta)
	if err != nil {
		t.Fatal(err)
	}
	if err := meta.Validate(lim); err != nil {
		t.Fatal(err)
	}
	pkg, err := cargo.InspectCrate(c.Tarball, c.Name, c.Vers, lim)
	if err != nil {
		t.Fatal(err)
	}
	if err := cargo.CheckManifest(meta, &pkg.Manifest, []string{"sparse+http://registry.invalid/index/"}); err != nil {
		t.Fatal(err)
	}
	if meta.Readme == nil || *meta.Readme != "# demo\n" {
		t.Errorf("readme %v", meta.Readme)
	}
	zr, err := gzip.NewReader(bytes.NewReader(c.Tarball))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
	}
	want := []string{"demo-1.2.3/Cargo.toml", "demo-1.2.3/README-link.md", "demo-1.2.3/README.md", "demo-1.2.3/src/lib.rs"}
	if !slices.Equal(names, want) {
		t.Errorf("entries %q, want %q", names, want)
	}
}

// Sources cargo package would have changed are told apart.
func TestBuildNotPackaged(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tree-1.0.0")
	write(t, dir, map[string]string{
		"Cargo.toml": "[package]\nname = \"tree\"\nversion = \"1.0.0\"\n[dev-dependencies.testserver]\npath = \"testserver\"\n",
	})
	if _, err := Build(dir); !errors.Is(err, ErrNotPackaged) {
		t.Errorf("Build = %v, want ErrNotPackaged", err)
	}
}
