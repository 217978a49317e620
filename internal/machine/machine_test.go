//go:build unix

package machine

import (
	"os"
	"path/filepath"
	"testing"
)

// TestExclusiveHoldsUntilTheTestEnds: while a test holds the lock, another
// open of the file (as another test binary makes) cannot take it, and one
// that waits for it gets it once that test has ended.
func TestExclusiveHoldsUntilTheTestEnds(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	other, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	waiter := make(chan error, 1)
	t.Run("holder", func(t *testing.T) {
		exclusive(t, path)
		if took, err := tryLock(other); err != nil || took {
			t.Fatalf("another holder took the lock while a test held it (%v)", err)
		}
		go func() {
			_, err := lock(other)
			waiter <- err
		}()
	})
	if err := <-waiter; err != nil {
		t.Fatalf("the waiting holder: %v", err)
	}
	if err := unlock(other); err != nil {
		t.Fatal(err)
	}
}
