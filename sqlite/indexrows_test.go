package sqlite_test

import (
	"testing"

	"github.com/crated/crated"
	"github.com/crated/crated/storetest"
)

// BenchmarkIndexRows runs the shared index-read benchmark on a WAL file.
func BenchmarkIndexRows(b *testing.B) {
	storetest.BenchIndexRows(b, func(tb testing.TB) crated.Store {
		s := open(tb, "file")
		tb.Cleanup(func() { s.Close() })
		return s
	})
}
