package gitindex

// SetRepackEvery changes how often the writer repacks, for tests, and
// returns a function that restores it.
func SetRepackEvery(n int) (restore func()) {
	old := repackEvery
	repackEvery = n
	return func() { repackEvery = old }
}
