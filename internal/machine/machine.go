// Package machine gives a whole-system test the machine to itself.
//
// `go test ./...` runs the test binaries of several packages at once (one
// per core). Most tests do not mind, but a test that runs the simulated
// system in compressed time measures the machine as much as the model:
// a second package's containers or dyno pool on the same two cores make
// its timers late and its workers slow, and the run is (rightly) reported
// saturated. Such tests call Exclusive first: it holds a lock file in the
// temporary directory, shared by every paydrill test binary, until the
// test ends, so whole-system tests run one at a time across packages while
// every other test runs alongside.
//
// Runs of the embedded runtime at their default speed are light: three at
// once on two cores kept their timers within a fraction of a millisecond
// and their queue times within 1% of a run alone. They call Shared, which
// lets them overlap one another but not an Exclusive test. The docker
// runtime is not light: its tests beside embedded runs made the latter's
// timers a second (model time) late. Those, and anything at full rate or
// measured to the percent, call Exclusive.
package machine

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// lockFile is the lock's path, the same for every test binary of a user.
func lockFile() string {
	return filepath.Join(os.TempDir(), "paydrill-whole-system-tests.lock")
}

// Exclusive blocks until no other whole-system test holds the machine,
// then holds it until tb and its subtests end. It says in tb's log how long
// it waited, when it had to.
func Exclusive(tb testing.TB) {
	tb.Helper()
	hold(tb, lockFile(), false)
}

// Shared blocks while an Exclusive test holds the machine, then holds it
// alongside other Shared tests until tb ends.
func Shared(tb testing.TB) {
	tb.Helper()
	hold(tb, lockFile(), true)
}

func hold(tb testing.TB, path string, shared bool) {
	tb.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		tb.Fatalf("the whole-system test lock: %v", err)
	}
	began := time.Now()
	waited, err := lock(f, shared)
	if err != nil {
		_ = f.Close()
		tb.Fatalf("the whole-system test lock %s: %v", path, err)
	}
	if waited {
		tb.Logf("waited %s for another whole-system test to finish", time.Since(began).Round(time.Millisecond))
	}
	tb.Cleanup(func() {
		_ = unlock(f)
		_ = f.Close()
	})
}
