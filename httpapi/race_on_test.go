//go:build race

package httpapi

// raceEnabled: the race detector's build allocates differently (bytes.Buffer
// growth takes two allocations there), so allocation counts are not checked.
const raceEnabled = true
