package cargo

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"strings"
	"testing"
)

// entry is one member of a test tarball. A zero Typeflag means a regular
// file with body as content.
type entry struct {
	name     string
	body     string
	typeflag byte
	size     int64 // declared size when body is not written (bombs)
	link     string
	pax      map[string]string
	format   tar.Format
}

func file(name, body string) entry { return entry{name: name, body: body} }

func dir(name string) entry { return entry{name: name, typeflag: tar.TypeDir} }

// tarball builds an uncompressed tar archive.
func tarball(t testing.TB, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: 0o644, Typeflag: e.typeflag, Linkname: e.link, PAXRecords: e.pax, Format: e.format}
		if e.typeflag == tar.TypeXGlobalHeader {
			h = &tar.Header{Typeflag: e.typeflag, PAXRecords: e.pax}
		}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(e.body))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatalf("WriteHeader(%s): %v", e.name, err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gz(t testing.TB, data []byte) []byte { return gzLevel(t, data, gzip.BestCompression) }

func gzLevel(t testing.TB, data []byte, level int) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, level)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// rawHeader returns a 512-byte tar header for a regular file with any
// declared size, without its data: the start of a bomb.
func rawHeader(t testing.TB, name string, size int64) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Typeflag: tar.TypeReg, Size: size, Format: tar.FormatGNU}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()[:512]
}

// zeroMembers returns n concatenated gzip members of 1 MiB of zeros each:
// about 1 KiB compressed per MiB, which gzip readers decompress as one
// stream. It is how a bomb is built without compressing gigabytes.
func zeroMembers(t testing.TB, n int) []byte {
	member := gz(t, make([]byte, 1<<20))
	return bytes.Repeat(member, n)
}

const fooManifest = "[package]\nname = \"foo\"\nversion = \"1.0.0\"\n"

func fooCrate(t testing.TB, extra ...entry) []byte {
	return gz(t, tarball(t, append([]entry{
		file("foo-1.0.0/Cargo.toml", fooManifest),
		file("foo-1.0.0/src/lib.rs", "pub fn f() {}\n"),
	}, extra...)...))
}

func TestInspectCrateReal(t *testing.T) {
	_, crate := realPublish(t)
	pkg, err := InspectCrate(crate, "tiny-crate", "0.1.0+build.5", DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if pkg.Files != 6 || pkg.UnpackedSize != 570+1559+890+7+12+210 {
		t.Errorf("Files %d, UnpackedSize %d", pkg.Files, pkg.UnpackedSize)
	}
	m := pkg.Manifest
	if m.Name != "tiny-crate" || m.Version != "0.1.0+build.5" || m.Links != "tiny" || m.RustVersion != "1.70" ||
		m.Description != "A tiny test crate" || m.License != "MIT OR Apache-2.0" || len(m.Features) != 4 {
		t.Errorf("manifest %+v", m)
	}
	want := []ManifestDep{
		{Name: "extra-dep", Req: "0.1", Kind: "normal", Optional: true, DefaultFeatures: true},
		{Name: "renamed", Package: "extra-dep", Req: "0.1.0", Kind: "normal", Target: "cfg(unix)", Optional: true, Features: []string{"fancy"}},
		{Name: "extra-dep", Req: "0.1", Kind: "build", DefaultFeatures: true},
		{Name: "extra-dep", Req: "=0.1.0", Kind: "dev", DefaultFeatures: true},
		{Name: "helper", Req: "0.1", Kind: "dev", DefaultFeatures: true, RegistryIndex: "sparse+http://other.invalid/index/"},
	}
	if len(m.Dependencies) != len(want) {
		t.Fatalf("dependencies %+v", m.Dependencies)
	}
	for i, d := range m.Dependencies {
		w := want[i]
		if d.Name != w.Name || d.Package != w.Package || d.Req != w.Req || d.Kind != w.Kind || d.Target != w.Target ||
			d.Optional != w.Optional || d.DefaultFeatures != w.DefaultFeatures || strings.Join(d.Features, ",") != strings.Join(w.Features, ",") ||
			d.RegistryIndex != w.RegistryIndex {
			t.Errorf("dependency %d = %+v, want %+v", i, d, w)
		}
	}
}

func TestInspectCrate(t *testing.T) {
	small := DefaultLimits()
	small.MaxEntries = 10
	small.MaxManifest = 200
	for _, tc := range []struct {
		name       string
		crate      func(t testing.TB) []byte
		crateName  string // default foo
		vers       string // default 1.0.0
		lim        *Limits
		code, msg  string
		files      int
		unpackSize int64
	}{
		{name: "ok", crate: func(t testing.TB) []byte { return fooCrate(t) }, files: 2, unpackSize: int64(len(fooManifest) + 14)},
		{name: "ok with directories", crate: func(t testing.TB) []byte {
			return gz(t, tarball(t, dir("foo-1.0.0/"), dir("foo-1.0.0/src/"), file("foo-1.0.0/Cargo.toml", fooManifest), entry{name: "foo-1.0.0", typeflag: tar.TypeDir}))
		}, files: 1, unpackSize: int64(len(fooManifest))},
		{name: "ok pax long name", crate: func(t testing.TB) []byte {
			return fooCrate(t, entry{name: "foo-1.0.0/" + strings.Repeat("d/", 100) + "f.rs", body: "x", format: tar.FormatPAX})
		}, files: 3, unpackSize: int64(len(fooManifest) + 15)},
		{name: "ok gnu long name", crate: func(t testing.TB) []byte {
			return fooCrate(t, entry{name: "foo-1.0.0/" + strings.Repeat("e", 200) + ".rs", body: "x", format: tar.FormatGNU})
		}, files: 3, unpackSize: int64(len(fooManifest) + 15)},
		{name: "ok nested Cargo.toml", crate: func(t testing.TB) []byte {
			return fooCrate(t, file("foo-1.0.0/tests/fixture/Cargo.toml", "not toml ["))
		}, files: 3, unpackSize: int64(len(fooManifest) + 14 + 10)},
		{name: "ok legacy lowercase manifest", crate: func(t testing.TB) []byte {
			return gz(t, tarball(t, file("foo-1.0.0/cargo.toml", fooManifest)))
		}, files: 1, unpackSize: int64(len(fooManifest))},
		{name: "ok build metadata", crateName: "foo", vers: "1.0.0+b.5", crate: func(t testing.TB) []byte {
			return gz(t, tarball(t, file("foo-1.0.0+b.5/Cargo.toml", "[package]\nname = \"foo\"\nversion = \"1.0.0+b.5\"\n")))
		}, files: 1, unpackSize: 45},

		// Paths.
		{name: "traversal", crate: func(t testing.TB) []byte { return fooCrate(t, file("foo-1.0.0/../evil.rs", "x")) },
			code: invalid, msg: "the crate contains a path with `..` `foo-1.0.0/../evil.rs`"},
		{name: "traversal first", crate: func(t testing.TB) []byte { return fooCrate(t, file("../foo-1.0.0/x", "x")) },
			code: invalid, msg: "with `..`"},
		{name: "traversal dir", crate: func(t testing.TB) []byte { return fooCrate(t, dir("foo-1.0.0/src/../../")) },
			code: invalid, msg: "with `..`"},
		{name: "absolute", crate: func(t testing.TB) []byte { return fooCrate(t, file("/etc/passwd", "x")) },
			code: invalid, msg: "absolute path `/etc/passwd`"},
		{name: "wrong prefix", crate: func(t testing.TB) []byte { return fooCrate(t, file("bar-1.0.0/x.rs", "x")) },
			code: invalid, msg: "`bar-1.0.0/x.rs` outside of `foo-1.0.0/`"},
		{name: "prefix without slash", crate: func(t testing.TB) []byte { return fooCrate(t, file("foo-1.0.0x/y.rs", "x")) },
			code: invalid, msg: "outside of"},
		{name: "root as a file", crate: func(t testing.TB) []byte { return fooCrate(t, file("foo-1.0.0", "x")) },
			code: invalid, msg: "outside of"},
		{name: "build metadata missing in prefix", vers: "1.0.0+b", crate: func(t testing.TB) []byte {
			return gz(t, tarball(t, file("foo-1.0.0/Cargo.toml", "[package]\nname = \"foo\"\nversion = \"1.0.0+b\"\n")))
		}, code: invalid, msg: "outside of `foo-1.0.0+b/`"},
		{name: "other case prefix", crate: func(t testing.TB) []byte { return fooCrate(t, file("Foo-1.0.0/x.rs", "x")) },
			code: invalid, msg: "outside of"},
		{name: "empty component", crate: func(t testing.TB) []byte { return fooCrate(t, file("foo-1.0.0//Cargo.toml", fooManifest)) },
			code: invalid, msg: "empty or `.` component"},
		{name: "dot component", crate: func(t testing.TB) []byte { return fooCrate(t, file("foo-1.0.0/./Cargo.toml", fooManifest)) },
			code: invalid, msg: "empty or `.` component"},
		{name: "file with trailing slash", crate: func(t testing.TB) []byte {
			return gz(t, cat(rawEntry("foo-1.0.0/Cargo.toml/", '0', 1, []byte("x")), rawEnd()))
		}, code: invalid, msg: "empty or `.` component"},
		{name: "not utf-8", crate: func(t testing.TB) []byte { return fooCrate(t, file("foo-1.0.0/\xff.rs", "x")) },
			code: invalid, msg: "not valid UTF-8"},
		{name: "path of 4096 bytes", crate: func(t testing.TB) []byte {
			return fooCrate(t, entry{name: longPath(4096), body: "x", format: tar.FormatPAX})
		}, files: 3, unpackSize: int64(len(fooManifest) + 15)},
		{name: "path of 6 KB", crate: func(t testing.TB) []byte {
			return fooCrate(t, entry{name: longPath(6000), body: "x", format: tar.FormatPAX})
		}, code: invalid, msg: "the crate contains a path longer than 4096 bytes: `foo-1.0.0/d000000010/"},
		{name: "path over a configured length", lim: &Limits{MaxPath: 25}, crate: func(t testing.TB) []byte {
			return fooCrate(t, file("foo-1.0.0/src/abcdefghi.rs", ""))
		}, code: invalid, msg: "longer than 25 bytes"},
		{name: "name of 255 bytes", crate: func(t testing.TB) []byte {
			return fooCrate(t, entry{name: "foo-1.0.0/" + strings.Repeat("n", 255), body: "x", format: tar.FormatPAX})
		}, files: 3, unpackSize: int64(len(fooManifest) + 15)},
		{name: "name of 256 bytes", crate: func(t testing.TB) []byte {
			return fooCrate(t, entry{name: "foo-1.0.0/" + strings.Repeat("n", 256) + "/x.rs", body: "x", format: tar.FormatPAX})
		}, code: invalid, msg: "a file or directory name longer than 255 bytes"},

		// Ambiguous archives: what unpacks must not depend on the tool, the
		// order or the file system.
		{name: "file twice", crate: func(t testing.TB) []byte {
			return fooCrate(t, file("foo-1.0.0/src/lib.rs", "pub fn evil() {}\n"))
		}, code: invalid, msg: "the crate contains the file `foo-1.0.0/src/lib.rs` more than once"},
		{name: "file twice, same content", crate: func(t testing.TB) []byte {
			return fooCrate(t, file("foo-1.0.0/src/lib.rs", "pub fn f() {}\n"))
		}, code: invalid, msg: "more than once"},
		{name: "file then directory entry", crate: func(t testing.TB) []byte {
			return fooCrate(t, dir("foo-1.0.0/src/lib.rs/"))
		}, code: invalid, msg: "the crate contains `foo-1.0.0/src/lib.rs/` both as a file and as a directory"},
		{name: "directory entry then file", crate: func(t testing.TB) []byte {
			return gz(t, tarball(t, dir("foo-1.0.0/x/"), file("foo-1.0.0/Cargo.toml", fooManifest), file("foo-1.0.0/x", "")))
		}, code: invalid, msg: "the crate contains `foo-1.0.0/x` both as a file and as a directory"},
		{name: "file inside a file", crate: func(t testing.TB) []byte {
			return fooCrate(t, file("foo-1.0.0/src/lib.rs/mod.rs", ""))
		}, code: invalid, msg: "the crate contains `foo-1.0.0/src/lib.rs/mod.rs` inside `src/lib.rs`, which is also a file"},
		{name: "file where files were", crate: func(t testing.TB) []byte {
			return fooCrate(t, file("foo-1.0.0/src", ""))
		}, code: invalid, msg: "the crate contains `foo-1.0.0/src` both as a file and as a directory"},
		{name: "files differing in case", crate: func(t testing.TB) []byte {
			return fooCrate(t, file("foo-1.0.0/src/LIB.rs", ""))
		}, code: invalid, msg: "the crate contains `foo-1.0.0/src/LIB.rs` and another path that differs from it only in case"},
		{name: "directories differing in case", crate: func(t testing.TB) []byte {
			return fooCrate(t, file("foo-1.0.0/Src/main.rs", ""))
		}, code: invalid, msg: "`foo-1.0.0/Src/main.rs` and another path that differs from it only in case"},
		{name: "directory entry differing in case", crate: func(t testing.TB) []byte {
			return fooCrate(t, dir("foo-1.0.0/SRC/"))
		}, code: invalid, msg: "differs from it only in case"},
		{name: "non-ASCII names differing in case", crate: func(t testing.TB) []byte {
			return fooCrate(t, file("foo-1.0.0/Ärger.txt", ""), file("foo-1.0.0/ärger.txt", ""))
		}, code: invalid, msg: "differs from it only in case"},
		{name: "ok directory entries repeated and after their files", crate: func(t testing.TB) []byte {
			return gz(t, tarball(t, dir("foo-1.0.0/"), dir("foo-1.0.0/src/"), file("foo-1.0.0/Cargo.toml", fooManifest),
				file("foo-1.0.0/src/lib.rs", ""), dir("foo-1.0.0/src/"), dir("foo-1.0.0/"), dir("foo-1.0.0/src/a/"), dir("foo-1.0.0/src/a")))
		}, files: 2, unpackSize: int64(len(fooManifest))},
		{name: "ok names sharing a prefix", crate: func(t testing.TB) []byte {
			return fooCrate(t, file("foo-1.0.0/src/lib.rs.orig", ""), file("foo-1.0.0/src/lib", ""), file("foo-1.0.0/src2/lib.rs", ""),
				file("foo-1.0.0/Cargo.toml.orig", ""), file("foo-1.0.0/Cargo.lock", ""))
		}, files: 7, unpackSize: int64(len(fooManifest) + 14)},
		{name: "too many directories", lim: &small, crate: func(t testing.TB) []byte {
			return fooCrate(t, file("foo-1.0.0/"+strings.Repeat("d/", 10)+"f.rs", ""))
		}, code: tooLarge, msg: "the crate has more than 10 directories"},

		// Entry types.
		{name: "symlink", crate: func(t testing.TB) []byte {
			return fooCrate(t, entry{name: "foo-1.0.0/link", typeflag: tar.TypeSymlink, link: "/etc/passwd"})
		}, code: invalid, msg: "a symbolic link, `foo-1.0.0/link`: only regular files and directories are allowed"},
		{name: "symlink to Cargo.toml", crate: func(t testing.TB) []byte {
			return gz(t, tarball(t, entry{name: "foo-1.0.0/Cargo.toml", typeflag: tar.TypeSymlink, link: "../../x"}))
		}, code: invalid, msg: "a symbolic link"},
		{name: "hardlink", crate: func(t testing.TB) []byte {
			return fooCrate(t, entry{name: "foo-1.0.0/hard", typeflag: tar.TypeLink, link: "foo-1.0.0/Cargo.toml"})
		}, code: invalid, msg: "a hard link"},
		{name: "char device", crate: func(t testing.TB) []byte {
			return fooCrate(t, entry{name: "foo-1.0.0/null", typeflag: tar.TypeChar})
		}, code: invalid, msg: "a device file"},
		{name: "block device", crate: func(t testing.TB) []byte {
			return fooCrate(t, entry{name: "foo-1.0.0/sda", typeflag: tar.TypeBlock})
		}, code: invalid, msg: "a device file"},
		{name: "fifo", crate: func(t testing.TB) []byte {
			return fooCrate(t, entry{name: "foo-1.0.0/pipe", typeflag: tar.TypeFifo})
		}, code: invalid, msg: "a FIFO"},
		{name: "contiguous file", crate: func(t testing.TB) []byte {
			return fooCrate(t, entry{name: "foo-1.0.0/c", typeflag: tar.TypeCont})
		}, code: invalid, msg: "unsupported type `7`"},
		{name: "pax global header", crate: func(t testing.TB) []byte {
			return fooCrate(t, entry{typeflag: tar.TypeXGlobalHeader, pax: map[string]string{"comment": "x"}})
		}, code: invalid, msg: "unsupported type `g`"},
		{name: "pax sparse file", crate: func(t testing.TB) []byte {
			// PAX sparse format 1.0: a sparse map (1 region: offset 0,
			// 1 byte) in the data, then the data, for a 1 MB file.
			sparseMap := append([]byte("1\n0\n1\n"), make([]byte, 512-6)...)
			return gz(t, cat(
				rawPAX([][2]string{{"GNU.sparse.major", "1"}, {"GNU.sparse.minor", "0"},
					{"GNU.sparse.name", "foo-1.0.0/sparse"}, {"GNU.sparse.realsize", "1000000"}}),
				rawEntry("foo-1.0.0/GNUSparseFile.0/sparse", '0', 513, append(sparseMap, 'x')),
				rawEnd()))
		}, code: invalid, msg: "a sparse file, `foo-1.0.0/sparse`"},
		{name: "old GNU sparse file", crate: func(t testing.TB) []byte {
			return gz(t, cat(rawEntry("foo-1.0.0/sparse", 'S', 0, nil), rawEnd()))
		}, code: invalid, msg: "a sparse file"},

		// The manifest.
		{name: "missing Cargo.toml", crate: func(t testing.TB) []byte {
			return gz(t, tarball(t, file("foo-1.0.0/src/lib.rs", "")))
		}, code: invalid, msg: "the crate has no Cargo.toml: expected `foo-1.0.0/Cargo.toml`"},
		{name: "two Cargo.toml differing in case", crate: func(t testing.TB) []byte {
			return fooCrate(t, file("foo-1.0.0/CARGO.toml", "[package]\nname = \"evil\"\n"))
		}, code: invalid, msg: "more than one Cargo.toml (`Cargo.toml` and `CARGO.toml`)"},
		{name: "Cargo.toml twice", crate: func(t testing.TB) []byte {
			return fooCrate(t, file("foo-1.0.0/Cargo.toml", fooManifest))
		}, code: invalid, msg: "more than one Cargo.toml"},
		{name: "lowercase and Cargo.toml", crate: func(t testing.TB) []byte {
			return gz(t, tarball(t, file("foo-1.0.0/cargo.toml", fooManifest), file("foo-1.0.0/Cargo.toml", fooManifest)))
		}, code: invalid, msg: "more than one Cargo.toml"},
		{name: "upper case only", crate: func(t testing.TB) []byte {
			return gz(t, tarball(t, file("foo-1.0.0/CARGO.TOML", fooManifest)))
		}, code: invalid, msg: "must be named Cargo.toml, found `foo-1.0.0/CARGO.TOML`"},
		{name: "Cargo.toml directory", crate: func(t testing.TB) []byte {
			return gz(t, tarball(t, dir("foo-1.0.0/Cargo.toml/"), file("foo-1.0.0/Cargo.toml/x", "")))
		}, code: invalid, msg: "a directory `foo-1.0.0/Cargo.toml/` where its Cargo.toml should be"},
		{name: "name mismatch", crateName: "bar", crate: func(t testing.TB) []byte {
			return gz(t, tarball(t, file("bar-1.0.0/Cargo.toml", fooManifest)))
		}, code: invalid, msg: "metadata name `bar` does not match the name `foo` in Cargo.toml"},
		{name: "name case mismatch", crateName: "Foo", crate: func(t testing.TB) []byte {
			return gz(t, tarball(t, file("Foo-1.0.0/Cargo.toml", fooManifest)))
		}, code: invalid, msg: "metadata name `Foo` does not match"},
		{name: "version mismatch", vers: "1.0.1", crate: func(t testing.TB) []byte {
			return gz(t, tarball(t, file("foo-1.0.1/Cargo.toml", fooManifest)))
		}, code: invalid, msg: "metadata version `1.0.1` does not match the version `1.0.0` in Cargo.toml"},
		{name: "build metadata mismatch", vers: "1.0.0+x", crate: func(t testing.TB) []byte {
			return gz(t, tarball(t, file("foo-1.0.0+x/Cargo.toml", fooManifest)))
		}, code: invalid, msg: "does not match the version"},
		{name: "manifest version invalid", crate: func(t testing.TB) []byte {
			return gz(t, tarball(t, file("foo-1.0.0/Cargo.toml", "[package]\nname = \"foo\"\nversion = \"1.0\"\n")))
		}, code: invalid, msg: "Cargo.toml in the crate: invalid version `1.0`"},
		{name: "no package", crate: func(t testing.TB) []byte {
			return gz(t, tarball(t, file("foo-1.0.0/Cargo.toml", "[workspace]\n")))
		}, code: invalid, msg: "has no [package] section"},
		{name: "no version", crate: func(t testing.TB) []byte {
			return gz(t, tarball(t, file("foo-1.0.0/Cargo.toml", "[package]\nname = \"foo\"\n")))
		}, code: invalid, msg: "has no `package.version`"},
		{name: "name not a string", crate: func(t testing.TB) []byte {
			return gz(t, tarball(t, file("foo-1.0.0/Cargo.toml", "[package]\nname = 1\nversion = \"1.0.0\"\n")))
		}, code: invalid, msg: "`package.name` must be a string"},
		{name: "invalid toml", crate: func(t testing.TB) []byte {
			return gz(t, tarball(t, file("foo-1.0.0/Cargo.toml", "[package\nname = \"foo\"\n")))
		}, code: invalid, msg: "failed to parse Cargo.toml in the crate"},
		{name: "workspace version", crate: func(t testing.TB) []byte {
			return gz(t, tarball(t, file("foo-1.0.0/Cargo.toml", "[package]\nname = \"foo\"\nversion.workspace = true\n")))
		}, code: invalid, msg: "still inherits from a workspace (`package.version.workspace = true`)"},
		{name: "workspace license", crate: func(t testing.TB) []byte {
			return gz(t, tarball(t, file("foo-1.0.0/Cargo.toml", fooManifest+"license = { workspace = true }\n")))
		}, code: invalid, msg: "`package.license.workspace = true`"},
		{name: "workspace dependency", crate: func(t testing.TB) []byte {
			return gz(t, tarball(t, file("foo-1.0.0/Cargo.toml", fooManifest+"[dependencies]\nserde = { workspace = true }\n")))
		}, code: invalid, msg: "`dependencies.serde.workspace = true`"},
		{name: "workspace target dependency", crate: func(t testing.TB) []byte {
			return gz(t, tarball(t, file("foo-1.0.0/Cargo.toml", fooManifest+"[target.'cfg(unix)'.dev-dependencies.libc]\nworkspace = true\n")))
		}, code: invalid, msg: "`target.cfg(unix).dev-dependencies.libc.workspace = true`"},
		{name: "workspace lints", crate: func(t testing.TB) []byte {
			return gz(t, tarball(t, file("foo-1.0.0/Cargo.toml", fooManifest+"[lints]\nworkspace = true\n")))
		}, code: invalid, msg: "`lints.workspace = true`"},
		{name: "metadata workspace key is data", crate: func(t testing.TB) []byte {
			return gz(t, tarball(t, file("foo-1.0.0/Cargo.toml", fooManifest+"[package.metadata.tool]\nworkspace = true\n")))
		}, files: 1, unpackSize: int64(len(fooManifest) + 41)},
		{name: "dependency wrong type", crate: func(t testing.TB) []byte {
			return gz(t, tarball(t, file("foo-1.0.0/Cargo.toml", fooManifest+"[dependencies]\nserde = 1\n")))
		}, code: invalid, msg: "dependency `dependencies.serde` must be a string or a table"},
		{name: "manifest too deep", crate: func(t testing.TB) []byte {
			return gz(t, tarball(t, file("foo-1.0.0/Cargo.toml", fooManifest+"x = "+strings.Repeat("[", 9)+strings.Repeat("]", 9)+"\n")))
		}, code: invalid, msg: "more than 8 deep"},
		{name: "manifest nesting at the limit", crate: func(t testing.TB) []byte {
			return gz(t, tarball(t, file("foo-1.0.0/Cargo.toml", fooManifest+"x = "+strings.Repeat("[", 8)+strings.Repeat("]", 8)+"\n[a.b.c.d.e.f.g.h.i]\nk = {a.b.c = 1, d = {e.f.g = 2}}\nl = 1.5\nm = [1.5, 2.5]\n")))
		}, files: 1, unpackSize: int64(len(fooManifest) + 97)},
		{name: "manifest long table name", crate: func(t testing.TB) []byte {
			return gz(t, tarball(t, file("foo-1.0.0/Cargo.toml", fooManifest+"[package.metadata."+strings.Repeat("a.", 30)+"b]\nx = 1\n[["+strings.Repeat("c.", 32)+"d]]\n")))
		}, files: 1, unpackSize: int64(len(fooManifest) + 157)},
		{name: "manifest too long table name", crate: func(t testing.TB) []byte {
			return gz(t, tarball(t, file("foo-1.0.0/Cargo.toml", fooManifest+"  [[package.metadata."+strings.Repeat("a.", 31)+"b]]\n")))
		}, code: invalid, msg: "a table name with more than 32 dots"},
		{name: "manifest dotted key after an array", crate: func(t testing.TB) []byte {
			return gz(t, tarball(t, file("foo-1.0.0/Cargo.toml", fooManifest+"x = [1]\n"+strings.Repeat("a.", 9)+"b = 1\n")))
		}, code: invalid, msg: "a dotted key with more than 8 dots"},
		{name: "manifest dotted key in inline table", crate: func(t testing.TB) []byte {
			return gz(t, tarball(t, file("foo-1.0.0/Cargo.toml", fooManifest+"x = {a.b.c.d = 1}\n")))
		}, code: invalid, msg: "more than 2 dots in an inline table"},
		{name: "manifest dotted key", crate: func(t testing.TB) []byte {
			return gz(t, tarball(t, file("foo-1.0.0/Cargo.toml", fooManifest+strings.Repeat("a.", 9)+"a = 1\n")))
		}, code: invalid, msg: "more than 8 dots"},
		{name: "manifest dots in strings are fine", crate: func(t testing.TB) []byte {
			return gz(t, tarball(t, file("foo-1.0.0/Cargo.toml", fooManifest+"description = \""+strings.Repeat(".", 40)+"[[[[\"\n# ....................{{{{\n")))
		}, files: 1, unpackSize: int64(len(fooManifest) + 88)},
		{name: "manifest too large", lim: &small, crate: func(t testing.TB) []byte {
			return gz(t, tarball(t, file("foo-1.0.0/Cargo.toml", fooManifest+"#"+strings.Repeat("x", 200)+"\n")))
		}, code: tooLarge, msg: "Cargo.toml in the crate is larger than 200 bytes"},

		// Sizes.
		{name: "too many entries", lim: &small, crate: func(t testing.TB) []byte {
			var es []entry
			for i := range 10 {
				es = append(es, file("foo-1.0.0/f"+string(rune('a'+i)), ""))
			}
			return fooCrate(t, es...)
		}, code: tooLarge, msg: "more than 10 files and directories"},
		{name: "crate too large", lim: &Limits{MaxCrate: 100, MaxUnpacked: 1 << 20, MaxEntries: 10}, crate: func(t testing.TB) []byte {
			return fooCrate(t, file("foo-1.0.0/big", strings.Repeat("x", 1000)))
		}, code: tooLarge, msg: "max upload size is: 100"},
		{name: "unpacked too large", lim: &Limits{MaxCrate: 1 << 20, MaxUnpacked: 4096, MaxEntries: 10}, crate: func(t testing.TB) []byte {
			return fooCrate(t, file("foo-1.0.0/big", strings.Repeat("x", 4000)))
		}, code: tooLarge, msg: "the crate unpacks to more than 4096 bytes"},

		// Broken archives.
		{name: "empty", crate: func(t testing.TB) []byte { return nil }, code: invalid, msg: "not a gzip file"},
		{name: "not gzip", crate: func(t testing.TB) []byte { return []byte("PK\x03\x04 zip") }, code: invalid, msg: "not a gzip file"},
		{name: "plain tar", crate: func(t testing.TB) []byte { return tarball(t, file("foo-1.0.0/Cargo.toml", fooManifest)) },
			code: invalid, msg: "not a gzip file"},
		{name: "gzip of garbage", crate: func(t testing.TB) []byte { return gz(t, bytes.Repeat([]byte("garbage!"), 100)) },
			code: invalid, msg: "not a valid .tar.gz archive"},
		{name: "gzip of nothing", crate: func(t testing.TB) []byte { return gz(t, nil) },
			code: invalid, msg: "the crate has no Cargo.toml"},
		{name: "truncated", crate: func(t testing.TB) []byte { c := fooCrate(t); return c[:len(c)/2] },
			code: invalid, msg: "not a valid .tar.gz archive"},
		{name: "bad checksum", crate: func(t testing.TB) []byte { c := fooCrate(t); c[len(c)-6] ^= 0xFF; return c },
			code: invalid, msg: "invalid checksum"},
		{name: "truncated tar", crate: func(t testing.TB) []byte {
			tb := tarball(t, file("foo-1.0.0/Cargo.toml", fooManifest))
			return gz(t, tb[:530]) // in the middle of Cargo.toml's data
		}, code: invalid, msg: "not a valid .tar.gz archive"},
		{name: "garbage after the gzip stream", crate: func(t testing.TB) []byte {
			return append(fooCrate(t), "garbage"...)
		}, code: invalid, msg: "7 bytes of unexpected data after its gzip stream"},
		{name: "archive continued in a second gzip member", crate: func(t testing.TB) []byte {
			tb := tarball(t, file("foo-1.0.0/Cargo.toml", fooManifest))
			return cat(gz(t, tb[:530]), gz(t, tb[530:]))
		}, code: invalid, msg: "not a valid .tar.gz archive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name, vers, lim := "foo", "1.0.0", DefaultLimits()
			if tc.crateName != "" {
				name = tc.crateName
			}
			if tc.vers != "" {
				vers = tc.vers
			}
			if tc.lim != nil {
				lim = *tc.lim
			}
			pkg, err := InspectCrate(tc.crate(t), name, vers, lim)
			wantCode(t, tc.name, err, tc.code, tc.msg)
			if err == nil && (pkg.Files != tc.files || pkg.UnpackedSize != tc.unpackSize) {
				t.Errorf("Files %d UnpackedSize %d, want %d %d", pkg.Files, pkg.UnpackedSize, tc.files, tc.unpackSize)
			}
		})
	}
}

// longPath returns a path of n bytes under foo-1.0.0/, in directories of
// ten characters.
func longPath(n int) string {
	p := "foo-1.0.0/"
	for len(p) < n-11 {
		p += fmt.Sprintf("d%09d/", len(p))[:10] + "/"
	}
	p += strings.Repeat("f", n-len(p))
	return p
}

// Gzip bombs: a small crate that expands to far more than MaxUnpacked must
// be refused after reading at most MaxUnpacked decompressed bytes, whether
// the tar headers announce the size or not.
func TestInspectCrateBombs(t *testing.T) {
	lim := DefaultLimits()
	lim.MaxUnpacked = 8 << 20
	zeros := make([]byte, 64<<20) // 64 MiB, about 64 KiB compressed
	small := tarball(t, file("foo-1.0.0/Cargo.toml", fooManifest))
	for _, tc := range []struct {
		name  string
		crate []byte
		code  string
		msg   string
	}{
		// One file announcing 1 GiB: refused at its header.
		{"declared", gzLevel(t, cat(rawHeader(t, "foo-1.0.0/Cargo.toml", 1<<30), zeros), gzip.BestSpeed), tooLarge, "unpacks to more than 8388608 bytes"},
		// Many files of 1 MiB each: refused when the sum passes the limit.
		{"many files", gzLevel(t, tarball(t, manyZeroFiles(16)...), gzip.BestSpeed), tooLarge, "unpacks to more than 8388608 bytes"},
		// A valid small archive followed by zeros after its end, in the
		// same gzip stream.
		{"after the archive", gzLevel(t, cat(small, zeros), gzip.BestSpeed), tooLarge, "unpacks to more than 8388608 bytes"},
		// Zero blocks only: the tar reader sees the end at once; the rest
		// is drained within the limit.
		{"zeros", gzLevel(t, zeros, gzip.BestSpeed), tooLarge, "unpacks to more than 8388608 bytes"},
		// Further gzip members are not read at all.
		{"more members", cat(gz(t, small), zeroMembers(t, 512)), invalid, "unexpected data after its gzip stream"},
	} {
		if len(tc.crate) > 1<<20 {
			t.Errorf("%s: the bomb is %d bytes, not small", tc.name, len(tc.crate))
		}
		pkg, unpacked, err := inspectCrate(tc.crate, "foo", "1.0.0", lim)
		wantCode(t, tc.name, err, tc.code, tc.msg)
		if pkg != nil || unpacked > lim.MaxUnpacked+1 {
			t.Errorf("%s: decompressed %d bytes, limit %d", tc.name, unpacked, lim.MaxUnpacked)
		}
	}
}

func manyZeroFiles(n int) []entry {
	es := []entry{file("foo-1.0.0/Cargo.toml", fooManifest)}
	zeros := string(make([]byte, 1<<20))
	for i := range n {
		es = append(es, file("foo-1.0.0/zeros"+strings.Repeat("0", i), zeros))
	}
	return es
}

// An archive of exactly MaxUnpacked decompressed bytes is accepted.
func TestInspectCrateExactLimit(t *testing.T) {
	tb := tarball(t, file("foo-1.0.0/Cargo.toml", fooManifest))
	lim := DefaultLimits()
	lim.MaxUnpacked = int64(len(tb))
	if _, err := InspectCrate(gz(t, tb), "foo", "1.0.0", lim); err != nil {
		t.Errorf("at the limit: %v", err)
	}
	lim.MaxUnpacked--
	_, err := InspectCrate(gz(t, tb), "foo", "1.0.0", lim)
	wantCode(t, "one byte over", err, tooLarge, "unpacks to more than")
}

func TestInspectCrateBadArguments(t *testing.T) {
	c := fooCrate(t)
	_, err := InspectCrate(c, "foo/../x", "1.0.0", DefaultLimits())
	wantCode(t, "name", err, invalid, "invalid crate name")
	_, err = InspectCrate(c, "foo", "1.0", DefaultLimits())
	wantCode(t, "version", err, invalid, "invalid version")
}

func BenchmarkInspectCrate(b *testing.B) {
	_, crate := realPublish(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(crate)))
	for b.Loop() {
		if _, err := InspectCrate(crate, "tiny-crate", "0.1.0+build.5", DefaultLimits()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseManifestHostile measures the worst Cargo.toml shapes found
// within the shape limits, at DefaultMaxManifest: what one hostile publish
// can cost in TOML parsing.
func BenchmarkParseManifestHostile(b *testing.B) {
	for name, line := range map[string]func(i int) string{
		"plain":  func(i int) string { return fmt.Sprintf("k%d = %d\n", i, i) },
		"dotted": func(i int) string { return fmt.Sprintf("%s%d = 1\n", strings.Repeat("a.", 8), i) },
		"inline": func(i int) string {
			return fmt.Sprintf("k%d = %s1%s\n", i, strings.Repeat("{a.b.c=", 7), strings.Repeat("}", 7))
		},
		"array-inline": func(i int) string {
			return fmt.Sprintf("k%d = [%s1%s]\n", i, strings.Repeat("{a.b.c=[", 3), strings.Repeat("]}", 3))
		},
	} {
		var sb strings.Builder
		sb.WriteString(fooManifest + "[package.metadata.a.b.c.d.e.f]\n")
		for i := 0; ; i++ {
			l := line(i)
			if sb.Len()+len(l) > DefaultMaxManifest {
				break
			}
			sb.WriteString(l)
		}
		data := []byte(sb.String())
		if _, err := parseManifest(data); err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := parseManifest(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
