package postgres_test

import (
	"testing"

	"github.com/crated/crated"
	"github.com/crated/crated/storetest"
)

// BenchmarkIndexRows runs the shared index-read benchmark on PostgreSQL.
func BenchmarkIndexRows(b *testing.B) {
	storetest.BenchIndexRows(b, func(tb testing.TB) crated.Store { return open(tb, freshDatabase(tb)) })
}
