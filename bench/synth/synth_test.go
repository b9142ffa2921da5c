package synth

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
)

func TestTarball(t *testing.T) {
	tests := []struct {
		name, vers, internal string
		code                 int
		minSize, maxSize     int
	}{
		{"small", "0.1.0", "", Small, 500, 4 << 10},
		{"large-crate", "1.2.3", "other-crate", Large, 15 << 10, 30 << 10},
		{"Mixed_Case-9", "0.4.3+build.5", "", Large, 15 << 10, 30 << 10},
		{"tiny", "0.0.1", "", 0, 200, 4 << 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New(tt.name, tt.vers, tt.code, tt.internal)
			tb := c.Tarball()
			if len(tb) < tt.minSize || len(tb) > tt.maxSize {
				t.Errorf(".crate is %d bytes, want %d..%d", len(tb), tt.minSize, tt.maxSize)
			}
			if !bytes.Equal(tb, New(tt.name, tt.vers, tt.code, tt.internal).Tarball()) {
				t.Error("two generations of the same crate differ")
			}
			files := untar(t, tb)
			prefix := tt.name + "-" + tt.vers + "/"
			for name := range files {
				if !strings.HasPrefix(name, prefix) {
					t.Errorf("entry %q is not under %q", name, prefix)
				}
			}
			for _, f := range []string{"Cargo.toml", "Cargo.toml.orig", "README.md", "src/lib.rs"} {
				if _, ok := files[prefix+f]; !ok {
					t.Errorf("no %s in the archive", f)
				}
			}
			var m struct {
				Package struct{ Name, Version string }
			}
			if _, err := toml.Decode(files[prefix+"Cargo.toml"], &m); err != nil {
				t.Fatalf("Cargo.toml: %v\n%s", err, files[prefix+"Cargo.toml"])
			}
			if m.Package.Name != tt.name || m.Package.Version != tt.vers {
				t.Errorf("Cargo.toml names %s %s, want %s %s", m.Package.Name, m.Package.Version, tt.name, tt.vers)
			}
			if _, err := toml.Decode(files[prefix+"Cargo.toml.orig"], &m); err != nil {
				t.Errorf("Cargo.toml.orig: %v", err)
			}
		})
	}
}

func untar(t *testing.T, b []byte) map[string]string {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	files := map[string]string{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag != tar.TypeReg {
			t.Errorf("%s: type %c, want a regular file", h.Name, h.Typeflag)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[h.Name] = string(body)
	}
}

func TestMetadataAndFrame(t *testing.T) {
	c := New("frame-test", "0.2.1", Small, "dep-crate")
	meta := c.Metadata()
	var m map[string]any
	if err := json.Unmarshal(meta, &m); err != nil {
		t.Fatal(err)
	}
	// PROTOCOL.md 4.2: every key is always present.
	for _, k := range []string{"name", "vers", "deps", "features", "authors", "description", "documentation", "homepage", "readme", "readme_file", "keywords", "categories", "license", "license_file", "repository", "badges", "links", "rust_version"} {
		if _, ok := m[k]; !ok {
			t.Errorf("metadata has no %q", k)
		}
	}
	internal := false
	for _, d := range m["deps"].([]any) {
		d := d.(map[string]any)
		for _, k := range []string{"optional", "default_features", "name", "features", "version_req", "target", "kind"} {
			if _, ok := d[k]; !ok {
				t.Errorf("dependency %v has no %q", d["name"], k)
			}
		}
		if d["name"] == "dep-crate" {
			internal = true
			if _, ok := d["registry"]; ok {
				t.Error("a dependency on this registry has a registry key")
			}
		}
	}
	if !internal {
		t.Error("the internal dependency is missing")
	}

	tb := c.Tarball()
	f := Frame(meta, tb)
	n := binary.LittleEndian.Uint32(f)
	if !bytes.Equal(f[4:4+n], meta) {
		t.Fatal("frame: metadata differs")
	}
	rest := f[4+n:]
	if m := binary.LittleEndian.Uint32(rest); int(m) != len(tb) || !bytes.Equal(rest[4:], tb) {
		t.Fatal("frame: tarball differs")
	}
}

func TestIndexLine(t *testing.T) {
	c := New("line-test", "1.0.0", Small, "")
	sum := sha256.Sum256(c.Tarball())
	cksum := hex.EncodeToString(sum[:])
	line := c.IndexLine(cksum, time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC))
	if bytes.IndexByte(line, '\n') >= 0 {
		t.Error("line has a newline")
	}
	var e struct {
		Name, Vers, Cksum, Pubtime string
		Deps                       []map[string]any
		Yanked                     *bool
	}
	if err := json.Unmarshal(line, &e); err != nil {
		t.Fatal(err)
	}
	if e.Name != "line-test" || e.Vers != "1.0.0" || e.Cksum != cksum || e.Yanked == nil || *e.Yanked {
		t.Errorf("entry = %+v", e)
	}
	if e.Pubtime != "2026-01-02T03:04:05Z" {
		t.Errorf("pubtime %q", e.Pubtime)
	}
	for _, d := range e.Deps {
		if _, ok := d["req"]; !ok {
			t.Errorf("dependency %v has no req", d)
		}
	}
	if len(line) < 300 || len(line) > 1500 {
		t.Errorf("line is %d bytes, want a few hundred like crates.io's", len(line))
	}
}

func TestNamesAndVersions(t *testing.T) {
	seen := map[string]bool{}
	dirs := map[string]bool{}
	for i := 0; i < 20000; i++ {
		n := Name(i)
		canon := strings.ReplaceAll(strings.ToLower(n), "-", "_")
		if seen[canon] {
			t.Fatalf("Name(%d) = %q repeats", i, n)
		}
		seen[canon] = true
		dirs[IndexPath(n)[:5]] = true
	}
	if len(dirs) < 200 {
		t.Errorf("names fall in only %d index directories", len(dirs))
	}
	tests := []struct {
		j    int
		want string
	}{{0, "0.1.0"}, {3, "0.1.3"}, {4, "0.2.0"}, {15, "0.4.3"}, {16, "1.1.0"}}
	for _, tt := range tests {
		if got := Version(tt.j); got != tt.want {
			t.Errorf("Version(%d) = %q, want %q", tt.j, got, tt.want)
		}
	}
	paths := []struct{ name, want string }{{"a", "1/a"}, {"ab", "2/ab"}, {"abc", "3/a/abc"}, {"Cargo", "ca/rg/cargo"}}
	for _, p := range paths {
		if got := IndexPath(p.name); got != p.want {
			t.Errorf("IndexPath(%q) = %q, want %q", p.name, got, p.want)
		}
	}
}
