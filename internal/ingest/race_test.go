//go:build race

package ingest_test

// raceEnabled shortens the slowest tests under the race detector, which
// slows the pure-Go SQLite down many times.
const raceEnabled = true
