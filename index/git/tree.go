package gitindex

import (
	"fmt"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// dir is the in-memory image of one tree of the index's head commit. Sync
// edits it path by path and writes back only the trees it touched, so an
// incremental commit costs a few objects however large the index is.
type dir struct {
	files map[string]plumbing.Hash
	dirs  map[string]*dir
	// hash is the tree's object id, valid while dirty is false.
	hash  plumbing.Hash
	dirty bool
}

func newDir() *dir {
	return &dir{files: map[string]plumbing.Hash{}, dirs: map[string]*dir{}, dirty: true}
}

// loadDir reads the tree h and its subtrees.
func loadDir(s storer.EncodedObjectStorer, h plumbing.Hash) (*dir, error) {
	t, err := object.GetTree(s, h)
	if err != nil {
		return nil, fmt.Errorf("read tree %s: %w", h, err)
	}
	d := &dir{files: map[string]plumbing.Hash{}, dirs: map[string]*dir{}, hash: h}
	for _, e := range t.Entries {
		switch e.Mode {
		case filemode.Dir:
			sub, err := loadDir(s, e.Hash)
			if err != nil {
				return nil, err
			}
			d.dirs[e.Name] = sub
		case filemode.Regular, filemode.Executable:
			d.files[e.Name] = e.Hash
		}
		// Anything else (symlinks, submodules) is not part of an index and
		// is dropped the next time this tree is written.
	}
	return d, nil
}

// set puts the blob h at path (slash-separated, relative to d). It reports
// whether anything changed.
func (d *dir) set(path string, h plumbing.Hash) bool {
	parent, name := d.walk(path, true)
	if old, ok := parent.files[name]; ok && old == h {
		return false
	}
	// A directory of the same name cannot exist in an index layout (crate
	// names never contain '/'); drop one left by hand, if any.
	delete(parent.dirs, name)
	parent.files[name] = h
	d.markDirty(path)
	return true
}

// remove deletes the file at path and any directory it leaves empty. It
// reports whether the file existed.
func (d *dir) remove(path string) bool {
	parent, name := d.walk(path, false)
	if parent == nil {
		return false
	}
	if _, ok := parent.files[name]; !ok {
		return false
	}
	delete(parent.files, name)
	d.markDirty(path)
	d.prune(strings.Split(path, "/"))
	return true
}

// prune removes empty directories along elems (the path of a removed file).
func (d *dir) prune(elems []string) {
	if len(elems) <= 1 {
		return
	}
	sub := d.dirs[elems[0]]
	if sub == nil {
		return
	}
	sub.prune(elems[1:])
	if len(sub.files) == 0 && len(sub.dirs) == 0 {
		delete(d.dirs, elems[0])
	}
}

// walk returns the directory holding path's last element, and that element.
// With create, missing directories are made; without, a missing one gives a
// nil directory.
func (d *dir) walk(path string, create bool) (*dir, string) {
	elems := strings.Split(path, "/")
	cur := d
	for _, e := range elems[:len(elems)-1] {
		next := cur.dirs[e]
		if next == nil {
			if !create {
				return nil, ""
			}
			next = newDir()
			delete(cur.files, e)
			cur.dirs[e] = next
		}
		cur = next
	}
	return cur, elems[len(elems)-1]
}

func (d *dir) markDirty(path string) {
	elems := strings.Split(path, "/")
	cur := d
	cur.dirty = true
	for _, e := range elems[:len(elems)-1] {
		if cur = cur.dirs[e]; cur == nil {
			return
		}
		cur.dirty = true
	}
}

// write stores every dirty tree under d, children first, and returns d's
// object id. Trees that already exist in s are not written again.
func (d *dir) write(s storer.EncodedObjectStorer) (plumbing.Hash, error) {
	if !d.dirty {
		return d.hash, nil
	}
	t := &object.Tree{Entries: make([]object.TreeEntry, 0, len(d.files)+len(d.dirs))}
	for name, h := range d.files {
		t.Entries = append(t.Entries, object.TreeEntry{Name: name, Mode: filemode.Regular, Hash: h})
	}
	for name, sub := range d.dirs {
		h, err := sub.write(s)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		t.Entries = append(t.Entries, object.TreeEntry{Name: name, Mode: filemode.Dir, Hash: h})
	}
	sort.Sort(object.TreeEntrySorter(t.Entries))
	obj := s.NewEncodedObject()
	if err := t.Encode(obj); err != nil {
		return plumbing.ZeroHash, fmt.Errorf("encode tree: %w", err)
	}
	h, err := storeObject(s, obj)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	d.hash, d.dirty = h, false
	return h, nil
}

// each calls fn with the path of every file under d.
func (d *dir) each(prefix string, fn func(path string)) {
	for name := range d.files {
		fn(prefix + name)
	}
	for name, sub := range d.dirs {
		sub.each(prefix+name+"/", fn)
	}
}

// storeObject writes obj unless an object with its id exists already, and
// returns the id.
func storeObject(s storer.EncodedObjectStorer, obj plumbing.EncodedObject) (plumbing.Hash, error) {
	h := obj.Hash()
	switch err := s.HasEncodedObject(h); err {
	case nil:
		return h, nil
	case plumbing.ErrObjectNotFound:
	default:
		return plumbing.ZeroHash, fmt.Errorf("look up object %s: %w", h, err)
	}
	if _, err := s.SetEncodedObject(obj); err != nil {
		return plumbing.ZeroHash, fmt.Errorf("write object %s: %w", h, err)
	}
	return h, nil
}

// storeBlob writes body as a blob and returns its id.
func storeBlob(s storer.EncodedObjectStorer, body []byte) (plumbing.Hash, error) {
	obj := s.NewEncodedObject()
	obj.SetType(plumbing.BlobObject)
	obj.SetSize(int64(len(body)))
	w, err := obj.Writer()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if _, err := w.Write(body); err != nil {
		w.Close()
		return plumbing.ZeroHash, err
	}
	if err := w.Close(); err != nil {
		return plumbing.ZeroHash, err
	}
	return storeObject(s, obj)
}
