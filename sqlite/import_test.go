package sqlite_test

import (
	"testing"

	"github.com/crated/crated"
	"github.com/crated/crated/storetest"
)

func TestImport(t *testing.T) {
	for _, name := range []string{"file", "memory"} {
		t.Run(name, func(t *testing.T) {
			storetest.RunImport(t, func(t *testing.T) crated.Store { return checked(t, open(t, name)) })
		})
	}
}
