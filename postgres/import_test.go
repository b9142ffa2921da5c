package postgres_test

import (
	"testing"

	"github.com/crated/crated"
	"github.com/crated/crated/storetest"
)

func TestImport(t *testing.T) {
	serverURL(t)
	storetest.RunImport(t, func(t *testing.T) crated.Store { return open(t, freshDatabase(t)) })
}
