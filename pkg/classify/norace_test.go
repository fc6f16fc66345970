//go:build !race

package classify

// raceEnabled is true when the race detector is on.
const raceEnabled = false
