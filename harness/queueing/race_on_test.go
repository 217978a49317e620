//go:build race

package queueing_test

// raceDetector is true when the tests run with -race.
const raceDetector = true
