package fs_test

import (
	"testing"

	"github.com/crated/crated"
	"github.com/crated/crated/blob/blobtest"
	"github.com/crated/crated/blob/fs"
)

func TestStore(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) crated.BlobStore {
		s, err := fs.New(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
