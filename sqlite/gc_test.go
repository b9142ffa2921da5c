package sqlite_test

import (
	"testing"

	"github.com/crated/crated"
	"github.com/crated/crated/storetest"
)

func TestReferencedBlobs(t *testing.T) {
	storetest.RunReferencedBlobs(t, func(t *testing.T) crated.Store { return open(t, "file") })
}
