//go:build !linux

package fs

import (
	"iter"
	"os"
)

// flush makes paths durable by an fsync of each (files or directories),
// where there is no syncfs(2).
func (s *Store) flush(paths iter.Seq[string]) error {
	seen := map[string]bool{}
	for p := range paths {
		if seen[p] {
			continue
		}
		seen[p] = true
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		err = f.Sync()
		f.Close()
		if err != nil {
			return err
		}
	}
	return nil
}
