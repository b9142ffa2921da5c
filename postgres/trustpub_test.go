package postgres_test

import (
	"testing"

	"github.com/crated/crated"
	"github.com/crated/crated/storetest"
)

func TestTrustPub(t *testing.T) {
	serverURL(t)
	storetest.RunTrustPub(t, func(t *testing.T) crated.Store { return open(t, freshDatabase(t)) })
}
