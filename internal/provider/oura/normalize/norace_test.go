//go:build !race

package normalize

// raceEnabled shortens the slowest tests under the race detector.
const raceEnabled = false
