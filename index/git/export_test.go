package gitindex

import "time"

// SetRepackEvery changes how often the writer repacks, for tests, and
// returns a function that restores it.
func SetRepackEvery(n int) (restore func()) {
	old := repackEvery
	repackEvery = n
	return func() { repackEvery = old }
}

// SetWantWait changes how long a request for an unknown commit waits for
// this replica to make it, and returns a function that restores it.
func SetWantWait(d time.Duration) (restore func()) {
	old := wantWait
	wantWait = d
	return func() { wantWait = old }
}
