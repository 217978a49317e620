//go:build race

package cli

// raceDetector is on: the race detector slows every goroutine several
// times, so whole-system runs at their default speed cannot keep up.
const raceDetector = true
