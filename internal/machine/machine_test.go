//go:build unix

package machine

import (
	"os"
	"path/filepath"
	"testing"
)

// TestExclusiveHoldsUntilTheTestEnds: while a test holds the machine, no
// other open of the lock file (as another test binary makes) can take it,
// shared or exclusive, and one that waits for it gets it once that test
// has ended.
func TestExclusiveHoldsUntilTheTestEnds(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	other := openLock(t, path)
	waiter := make(chan error, 1)
	t.Run("holder", func(t *testing.T) {
		hold(t, path, false)
		for _, shared := range []bool{true, false} {
			if took, err := tryLock(other, shared); err != nil || took {
				t.Fatalf("another holder (shared %v) took the lock while a test held it alone (%v)", shared, err)
			}
		}
		go func() {
			_, err := lock(other, false)
			waiter <- err
		}()
	})
	if err := <-waiter; err != nil {
		t.Fatalf("the waiting holder: %v", err)
	}
}

// TestSharedHoldersOverlapButExcludeExclusive: two shared holders hold
// the machine at once; an exclusive one cannot until both are gone.
func TestSharedHoldersOverlapButExcludeExclusive(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	second, excl := openLock(t, path), openLock(t, path)
	t.Run("shared", func(t *testing.T) {
		hold(t, path, true)
		if took, err := tryLock(second, true); err != nil || !took {
			t.Fatalf("a second shared holder could not join the first (%v)", err)
		}
		if took, err := tryLock(excl, false); err != nil || took {
			t.Fatalf("an exclusive holder took the lock beside a shared one (%v)", err)
		}
		if err := unlock(second); err != nil {
			t.Fatal(err)
		}
		if took, err := tryLock(excl, false); err != nil || took {
			t.Fatalf("an exclusive holder took the lock while a shared test still held it (%v)", err)
		}
	})
	if took, err := tryLock(excl, false); err != nil || !took {
		t.Fatalf("the lock was not free once the shared test ended (%v)", err)
	}
}

func openLock(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	return f
}
