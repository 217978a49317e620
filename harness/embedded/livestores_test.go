package embedded

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"paydrill/harness/system"
)

// The live stores go to tmpfs and come back to the run's directory, file
// for file, when the system closes; the live directory is gone then.
func TestLiveStoresComeBackToTheRunsDirectory(t *testing.T) {
	if ramDir == "" {
		t.Skip("no tmpfs at /dev/shm: the stores are written where they are kept")
	}
	keep := t.TempDir()
	live, done, err := liveStores(keep)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(live) != ramDir {
		t.Fatalf("live stores in %s, want a directory of %s", live, ramDir)
	}
	want := map[string]string{"orders.sqlite": "orders", "orders.sqlite-wal": "wal", "backup.ndjson": "{}\n"}
	for name, body := range want {
		if err := os.WriteFile(filepath.Join(live, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := done(); err != nil {
		t.Fatal(err)
	}
	for name, body := range want {
		got, err := os.ReadFile(filepath.Join(keep, name))
		if err != nil || string(got) != body {
			t.Fatalf("%s kept as %q (%v), want %q", name, got, err, body)
		}
	}
	if _, err := os.Stat(live); !os.IsNotExist(err) {
		t.Fatalf("live directory %s still there after done (%v)", live, err)
	}
	if left := LiveStoresLeft(); len(left) != 0 {
		t.Fatalf("left behind: %v", left)
	}
}

// A live directory whose process was killed before it could close its
// system is swept by the next run; a running process's is not.
func TestLiveStoresOfADeadProcessAreSwept(t *testing.T) {
	if ramDir == "" {
		t.Skip("no tmpfs at /dev/shm")
	}
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skip("cannot start a process to take a dead pid from:", err)
	}
	dead := cmd.Process.Pid
	if processRuns(dead) {
		t.Skip("the pid was reused already")
	}
	deadDir := filepath.Join(ramDir, liveDirPrefix+strconv.Itoa(dead)+"-test")
	mineDir := filepath.Join(ramDir, liveDirPrefix+strconv.Itoa(os.Getpid())+"-test")
	for _, d := range []string{deadDir, mineDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(d) })
	}
	if removed := SweepLiveStores(); !slices.Contains(removed, deadDir) || slices.Contains(removed, mineDir) {
		t.Fatalf("swept %v: want %s and not %s", removed, deadDir, mineDir)
	}
	if _, err := os.Stat(deadDir); !os.IsNotExist(err) {
		t.Fatalf("%s of a dead process not swept (%v)", deadDir, err)
	}
	if _, err := os.Stat(mineDir); err != nil {
		t.Fatalf("%s of this process swept: %v", mineDir, err)
	}
}

// Stores that cannot be kept (the run's directory is gone) are not lost:
// Close says so, and they stay in memory for a person to copy.
func TestStoresThatCannotBeKeptStayAndSaySo(t *testing.T) {
	if ramDir == "" {
		t.Skip("no tmpfs at /dev/shm")
	}
	keep := filepath.Join(t.TempDir(), "stores")
	live, done, err := liveStores(keep) // keep does not exist
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(live) })
	if err := os.WriteFile(filepath.Join(live, "orders.sqlite"), []byte("orders"), 0o644); err != nil {
		t.Fatal(err)
	}
	err = done()
	if !errors.Is(err, system.ErrStoresNotKept) || !strings.Contains(err.Error(), live) {
		t.Fatalf("done = %v, want ErrStoresNotKept naming %s", err, live)
	}
	if got, err := os.ReadFile(filepath.Join(live, "orders.sqlite")); err != nil || string(got) != "orders" {
		t.Fatalf("the store that could not be kept: %q, %v; want it still in %s", got, err, live)
	}
}
