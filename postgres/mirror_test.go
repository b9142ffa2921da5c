package postgres_test

import (
	"testing"

	"github.com/crated/crated"
	"github.com/crated/crated/storetest"
)

func TestMirrorCache(t *testing.T) {
	serverURL(t)
	storetest.RunMirror(t, func(t *testing.T) crated.Store { return open(t, freshDatabase(t)) })
}
