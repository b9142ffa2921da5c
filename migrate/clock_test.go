package migrate_test

import (
	"github.com/crated/crated/migrate"
	"github.com/crated/crated/postgres"
	"github.com/crated/crated/sqlite"
)

// Both stores keep the source's dates in a copy (TestCopy checks the dates).
var (
	_ migrate.Clocked = (*sqlite.Store)(nil)
	_ migrate.Clocked = (*postgres.Store)(nil)
)
