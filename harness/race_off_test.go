//go:build !race

package harness

// raceDetector is true when the tests run with -race.
const raceDetector = false
