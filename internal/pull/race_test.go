//go:build race

package pull_test

// pullDays is how many days the long pull test reads: a year, or under the
// race detector (ten times slower) enough days for several windows of every
// collection.
const pullDays = 120
