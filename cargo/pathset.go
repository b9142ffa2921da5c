package cargo

import (
	"hash/maphash"
	"strings"
)

// maxComponentLength is the longest file or directory name in a crate, in
// bytes: NAME_MAX on Linux and the usual limit of every file system cargo
// unpacks into (ext4, APFS, NTFS); a longer name fails to unpack for every
// user, so it is not a limit an operator could usefully raise.
const maxComponentLength = 255

// pathInfo is what a pathSet knows of one path, keyed by its case-folded
// form.
type pathInfo struct {
	dir bool
	// spelling is the hash of the path as written, to tell "the same path
	// again" from "another path differing only in case".
	spelling uint64
}

// pathSet finds the entries of an archive that unpack ambiguously: a file
// given twice (tar readers keep the last copy, so what cargo builds is not
// what a reviewer reading the first one sees), a path that is both a file
// and a directory (unpacking fails, or depends on the order), and two paths
// that differ only in case (one overwrites the other on the
// case-insensitive file systems of Windows and macOS). A directory entry
// repeated is harmless and accepted, and the parents of a file need no
// entry of their own: cargo package writes files only.
//
// Paths are held as 64-bit hashes with a per-set random seed, so that a set
// costs the same for a 4 KB path as for "src/lib.rs" and a client cannot
// aim for a collision; a chance collision (about 1e-11 for 20000 paths)
// could only make a crate be refused. The directories a set learns from
// the parents of files are bounded by maxDirs, so that deep paths cannot
// make it grow past the entry limit.
type pathSet struct {
	seed    maphash.Seed
	paths   map[uint64]pathInfo
	dirs    int
	maxDirs int
}

func newPathSet(maxDirs int) *pathSet {
	return &pathSet{seed: maphash.MakeSeed(), paths: make(map[uint64]pathInfo), maxDirs: maxDirs}
}

// add records rest, an entry's path relative to the crate root, and
// reports a conflict with an earlier entry; name is the entry's full name,
// for the message.
func (s *pathSet) add(rest, name string, isDir bool) error {
	if err := s.record(rest, name, isDir); err != nil {
		return err
	}
	// The parents, deepest first, until one is known: its own parents were
	// recorded when it was. So an archive costs one hash per entry and one
	// per new directory.
	for p := rest; ; {
		i := strings.LastIndexByte(p, '/')
		if i < 0 {
			return nil
		}
		p = p[:i]
		if known, err := s.parent(p, name); err != nil || known {
			return err
		}
	}
}

// record adds the entry's own path.
func (s *pathSet) record(p, name string, isDir bool) error {
	k, spelling := s.keys(p)
	prev, seen := s.paths[k]
	if !seen {
		return s.insert(k, pathInfo{dir: isDir, spelling: spelling}, isDir)
	}
	switch {
	case prev.spelling != spelling:
		return caseConflict(name)
	case prev.dir != isDir:
		return invalidf("the crate contains %s both as a file and as a directory", show(name))
	case !isDir:
		return invalidf("the crate contains the file %s more than once: which copy is unpacked depends on the tool", show(name))
	}
	return nil
}

// parent records p as a directory because an entry lies under it, and
// says whether it was known already.
func (s *pathSet) parent(p, name string) (bool, error) {
	k, spelling := s.keys(p)
	prev, seen := s.paths[k]
	switch {
	case !seen:
		return false, s.insert(k, pathInfo{dir: true, spelling: spelling}, true)
	case prev.spelling != spelling:
		return true, caseConflict(name)
	case !prev.dir:
		return true, invalidf("the crate contains %s inside %s, which is also a file", show(name), show(p))
	}
	return true, nil
}

func (s *pathSet) insert(k uint64, info pathInfo, isDir bool) error {
	if isDir {
		if s.dirs >= s.maxDirs {
			return tooLargef("the crate has more than %d directories", s.maxDirs)
		}
		s.dirs++
	}
	s.paths[k] = info
	return nil
}

// keys returns the hash of p case-folded, which identifies the file it
// unpacks to everywhere, and the hash of p as written.
func (s *pathSet) keys(p string) (folded, spelling uint64) {
	spelling = maphash.String(s.seed, p)
	if f := strings.ToLower(p); f != p {
		return maphash.String(s.seed, f), spelling
	}
	return spelling, spelling
}

func caseConflict(name string) error {
	return invalidf("the crate contains %s and another path that differs from it only in case: one would overwrite the other on Windows and macOS", show(name))
}
