package gitindex

import (
	"context"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
)

// wantWait is how long an upload-pack request that wants a commit this
// replica does not have waits for the replica to make it. Every replica
// makes the same commit from the same store, but not at the same moment: a
// client may read the references from a replica that has synced a change
// and ask another for the pack before it has.
var wantWait = 5 * time.Second

// awaitWants returns when the repository has every wanted object, or
// after wantWait. It holds nothing shared while it waits.
func (ix *Index) awaitWants(ctx context.Context, wants []plumbing.Hash) {
	timer := time.NewTimer(wantWait)
	defer timer.Stop()
	for {
		moved := ix.movedChan()
		if ix.hasAll(wants) {
			return
		}
		select {
		case <-moved:
		case <-timer.C:
			return
		case <-ctx.Done():
			return
		}
	}
}

func (ix *Index) hasAll(hs []plumbing.Hash) bool {
	ix.repoMu.RLock()
	defer ix.repoMu.RUnlock()
	st := ix.newStorage(ix.readCache)
	for _, h := range hs {
		if st.HasEncodedObject(h) != nil {
			return false
		}
	}
	return true
}
