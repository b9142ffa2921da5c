package postgres_test

import (
	"testing"

	"github.com/crated/crated"
	"github.com/crated/crated/storetest"
)

// BenchmarkPublishVersion runs the shared store benchmark on a fresh
// database.
func BenchmarkPublishVersion(b *testing.B) {
	storetest.Bench(b, func(tb testing.TB) crated.Store { return open(tb, freshDatabase(tb)) })
}
