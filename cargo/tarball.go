package cargo

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/klauspost/compress/gzip"
)

// Package is what InspectCrate learned from a .crate file.
type Package struct {
	Manifest Manifest
	// Files is the number of regular files in the archive.
	Files int
	// UnpackedSize is the sum of the sizes of the regular files.
	UnpackedSize int64
}

// gzipReaders reuses gzip readers (and their 32 KiB flate windows) across
// publishes.
var gzipReaders sync.Pool

// errUnpackedTooLarge is returned by countingReader past its limit.
var errUnpackedTooLarge = errors.New("decompressed size limit reached")

// countingReader counts the decompressed bytes and stops at max: the tar
// reader reads everything through it, headers and skipped file data too.
type countingReader struct {
	r        io.Reader
	n, max   int64
	exceeded bool
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.n > c.max {
		c.exceeded = true
		return 0, errUnpackedTooLarge
	}
	// Allow one byte past max to tell "exactly max" from "more".
	if rem := c.max - c.n + 1; int64(len(p)) > rem {
		p = p[:rem]
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.n > c.max {
		c.exceeded = true
		return n, errUnpackedTooLarge
	}
	return n, err
}

// InspectCrate checks a .crate file (gzip-compressed tar) the way a strict
// registry must before accepting it (PROTOCOL.md 6.5 and 6.6) and returns
// its manifest:
//
//   - at most lim.MaxCrate bytes; the decompressed stream at most
//     lim.MaxUnpacked bytes, checked against each entry's declared size
//     before its data is decompressed and against the bytes actually
//     decompressed, so a gzip bomb stops early; at most lim.MaxEntries
//     entries, and as many distinct directories;
//   - every entry is a regular file or a directory (no symlinks, hard
//     links, devices, FIFOs, sparse files) under "{name}-{vers}/", where
//     vers is the normalized version including build metadata; its path is
//     UTF-8, relative, without "..", "." or empty components (pax and GNU
//     long names are resolved by archive/tar; the final name is checked),
//     at most lim.MaxPath bytes long, each name in it at most 255 bytes;
//   - no ambiguity in what unpacks (pathSet): no file twice, no path both a
//     file and a directory, no two paths differing only in case;
//   - exactly one "{name}-{vers}/Cargo.toml": no second one differing only
//     in case, the legacy "cargo.toml" accepted when it is the only one; at
//     most lim.MaxManifest bytes; a [package] whose name equals name and
//     whose version equals vers as semver; no workspace inheritance left.
//
// The archive is streamed: only Cargo.toml and a hash per distinct path are
// held in memory. name and vers are those of the (validated) publish
// metadata; zero fields of lim are defaults (Limits.WithDefaults).
func InspectCrate(crate []byte, name, vers string, lim Limits) (*Package, error) {
	pkg, _, err := inspectCrate(crate, name, vers, lim)
	return pkg, err
}

// inspectCrate is InspectCrate that also says how many decompressed bytes
// it read, for tests to check that a bomb was stopped early.
func inspectCrate(crate []byte, name, vers string, lim Limits) (_ *Package, unpacked int64, err error) {
	lim = lim.WithDefaults()
	var cr *countingReader
	defer func() {
		if cr != nil {
			unpacked = cr.n
		}
	}()
	if int64(len(crate)) > lim.MaxCrate {
		return nil, 0, CrateTooLarge(lim.MaxCrate, int64(len(crate)))
	}
	if err := validateIdent("crate", name, false); err != nil {
		return nil, 0, err
	}
	v, err := ParseVersion(vers)
	if err != nil {
		return nil, 0, err
	}
	root := name + "-" + v.String()

	zr, _ := gzipReaders.Get().(*gzip.Reader)
	if zr == nil {
		zr = new(gzip.Reader)
	}
	defer func() {
		// Drop the reference to crate before pooling the reader.
		_ = zr.Reset(bytes.NewReader(nil))
		gzipReaders.Put(zr)
	}()
	br := bytes.NewReader(crate)
	if err := zr.Reset(br); err != nil {
		return nil, 0, invalidf("the crate file is not a gzip file: %s", gzipErrorText(err))
	}
	// One gzip member, as cargo reads it (flate2's GzDecoder stops after
	// the first): an archive continued in a second member would pass here
	// and fail to unpack for every user.
	zr.Multistream(false)
	cr = &countingReader{r: zr, max: lim.MaxUnpacked}
	tr := tar.NewReader(cr)
	readError := func(err error) error {
		if cr.exceeded {
			return tooLargef("the crate unpacks to more than %d bytes", lim.MaxUnpacked)
		}
		return invalidf("the crate file is not a valid .tar.gz archive: %s", gzipErrorText(err))
	}

	pkg := &Package{}
	paths := newPathSet(lim.MaxEntries)
	entries := 0
	var manifest []byte
	var manifestNames []string
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, 0, readError(err)
		}
		entries++
		if entries > lim.MaxEntries {
			return nil, 0, tooLargef("the crate has more than %d files and directories", lim.MaxEntries)
		}
		isDir := hdr.Typeflag == tar.TypeDir
		if err := checkEntryType(hdr); err != nil {
			return nil, 0, err
		}
		if len(hdr.Name) > lim.MaxPath {
			return nil, 0, invalidf("the crate contains a path longer than %d bytes: %s", lim.MaxPath, show(hdr.Name))
		}
		rest, err := checkEntryPath(hdr.Name, root, isDir)
		if err != nil {
			return nil, 0, err
		}
		if strings.EqualFold(rest, "Cargo.toml") {
			if isDir {
				return nil, 0, invalidf("the crate has a directory %s where its Cargo.toml should be", show(hdr.Name))
			}
			manifestNames = append(manifestNames, rest)
			if len(manifestNames) > 1 {
				return nil, 0, invalidf("the crate has more than one Cargo.toml (%s and %s): file names may not differ only in case",
					show(manifestNames[0]), show(manifestNames[1]))
			}
		}
		if rest != "" {
			if err := paths.add(rest, hdr.Name, isDir); err != nil {
				return nil, 0, err
			}
		}
		if isDir {
			continue
		}
		if hdr.Size > lim.MaxUnpacked-cr.n {
			return nil, 0, tooLargef("the crate unpacks to more than %d bytes", lim.MaxUnpacked)
		}
		pkg.Files++
		pkg.UnpackedSize += hdr.Size
		if rest == "Cargo.toml" || rest == "cargo.toml" {
			if hdr.Size > lim.MaxManifest {
				return nil, 0, tooLargef("Cargo.toml in the crate is larger than %d bytes", lim.MaxManifest)
			}
			manifest = make([]byte, hdr.Size)
			if _, err := io.ReadFull(tr, manifest); err != nil {
				return nil, 0, readError(err)
			}
		}
	}
	// Read what follows the end of the tar archive in the gzip stream,
	// within the same limit, so that the gzip checksum is verified and
	// nothing unbounded hides after the archive.
	if _, err := io.Copy(io.Discard, cr); err != nil {
		return nil, 0, readError(err)
	}
	if br.Len() > 0 {
		return nil, 0, invalidf("the crate file has %d bytes of unexpected data after its gzip stream", br.Len())
	}

	switch {
	case len(manifestNames) == 0:
		return nil, 0, invalidf("the crate has no Cargo.toml: expected %s", show(root+"/Cargo.toml"))
	case manifest == nil:
		return nil, 0, invalidf("the crate's manifest must be named Cargo.toml, found %s", show(root+"/"+manifestNames[0]))
	}
	m, err := parseManifest(manifest)
	if err != nil {
		return nil, 0, err
	}
	if m.Name != name {
		return nil, 0, invalidf("metadata name %s does not match the name %s in Cargo.toml", show(name), show(m.Name))
	}
	mv, err := ParseVersion(m.Version)
	if err != nil {
		return nil, 0, withPrefix("Cargo.toml in the crate: ", err)
	}
	if mv != v {
		return nil, 0, invalidf("metadata version %s does not match the version %s in Cargo.toml", show(vers), show(m.Version))
	}
	pkg.Manifest = *m
	return pkg, 0, nil
}

// gzipErrorText returns the text of a decompression or tar error without
// the package prefixes.
func gzipErrorText(err error) string {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return "unexpected end of data"
	}
	s := err.Error()
	for _, p := range []string{"gzip: ", "flate: ", "archive/tar: "} {
		s = strings.TrimPrefix(s, p)
	}
	return s
}

// checkEntryType allows only regular files and directories.
func checkEntryType(hdr *tar.Header) error {
	var kind string
	switch hdr.Typeflag {
	case tar.TypeReg:
		for k := range hdr.PAXRecords {
			if strings.HasPrefix(k, "GNU.sparse.") {
				kind = "a sparse file"
				break
			}
		}
	case tar.TypeDir:
	case tar.TypeSymlink:
		kind = "a symbolic link"
	case tar.TypeLink:
		kind = "a hard link"
	case tar.TypeChar, tar.TypeBlock:
		kind = "a device file"
	case tar.TypeFifo:
		kind = "a FIFO"
	case tar.TypeGNUSparse:
		kind = "a sparse file"
	default:
		kind = "an entry of unsupported type " + show(string(rune(hdr.Typeflag)))
	}
	if kind == "" {
		return nil
	}
	return invalidf("the crate contains %s, %s: only regular files and directories are allowed", kind, show(hdr.Name))
}

// checkEntryPath checks an entry's path and returns it relative to root ("" for
// the root directory itself).
func checkEntryPath(p, root string, isDir bool) (string, error) {
	if !utf8.ValidString(p) {
		return "", invalidf("the crate contains a path that is not valid UTF-8: %s", show(p))
	}
	if strings.HasPrefix(p, "/") {
		return "", invalidf("the crate contains an absolute path %s", show(p))
	}
	for c := range strings.SplitSeq(p, "/") {
		if c == ".." {
			return "", invalidf("the crate contains a path with `..` %s", show(p))
		}
	}
	if isDir {
		p = strings.TrimSuffix(p, "/")
		if p == root {
			return "", nil
		}
	}
	if len(p) <= len(root) || p[len(root)] != '/' || p[:len(root)] != root {
		return "", invalidf("the crate contains %s outside of %s: every file must be under that directory", show(p), show(root+"/"))
	}
	rest := p[len(root)+1:]
	for c := range strings.SplitSeq(rest, "/") {
		if c == "" || c == "." {
			return "", invalidf("the crate contains a path with an empty or `.` component %s", show(p))
		}
		if len(c) > maxComponentLength {
			return "", invalidf("the crate contains a file or directory name longer than %d bytes, which no common file system can hold: %s", maxComponentLength, show(p))
		}
	}
	return rest, nil
}
