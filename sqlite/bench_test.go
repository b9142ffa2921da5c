package sqlite_test

import (
	"testing"

	"github.com/crated/crated"
	"github.com/crated/crated/storetest"
)

// BenchmarkPublishVersion runs the shared store benchmark on a WAL file.
func BenchmarkPublishVersion(b *testing.B) {
	storetest.Bench(b, func(tb testing.TB) crated.Store {
		s := open(tb, "file")
		tb.Cleanup(func() { s.Close() })
		return s
	})
}
