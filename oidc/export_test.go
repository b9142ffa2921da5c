package oidc

// NewMemStates gives the external tests (dex_test.go) the same in-memory
// StateStore as the package's own tests.
func NewMemStates() StateStore { return newMemStates() }
