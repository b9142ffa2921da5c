package gitindex

import "time"

// SetWantWait changes how long a request for an unknown commit waits for
// this replica to make it, and returns a function that restores it.
func SetWantWait(d time.Duration) (restore func()) {
	old := wantWait
	wantWait = d
	return func() { wantWait = old }
}

// SetPruneGrace changes how old an unreachable loose object must be before
// the start's repack removes it, and returns a function that restores it.
func SetPruneGrace(d time.Duration) (restore func()) {
	old := pruneGrace
	pruneGrace = d
	return func() { pruneGrace = old }
}
