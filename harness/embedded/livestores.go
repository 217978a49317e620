package embedded

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"paydrill/harness/system"
)

// The embedded runtime keeps the stores of a running system in memory
// and writes them to the run's directory when the system closes.
//
// Why: every order a dyno takes is a db write and a gateway write, made
// inside the order's modelled busy time (a few hundred microseconds of
// wall time at speed 10). On a disk, a write waits whenever the kernel is
// writing back another process's dirty pages (an image build, a package
// install, a test binary being linked): on two cores beside a process
// writing 1.5 GB in a loop, region-outage-hot at speed 10 reported the
// machine adding 2,802% to its mean queue time, and an unlucky CI run
// 618%. The same run with its stores in tmpfs added 1%. tmpfs is never
// written back, and SQLite's files there survive a component's Close
// and restart as on a disk: only a power cut, which paydrill does not
// model, loses them.
//
// liveDirPrefix names the directories, with the owning process's id, so
// one left behind by a process that was killed can be recognised and
// swept by the next run.
const liveDirPrefix = "paydrill-stores-"

// ramDir is the tmpfs directory live stores go to, "" where the machine
// has none (then the stores are written where they are kept).
var ramDir = defaultRAMDir()

// liveStores returns the directory the running system's stores go in,
// and done, which moves them to keep (the run's stores directory) and
// removes the live directory; keep itself when there is no tmpfs.
func liveStores(keep string) (live string, done func() error, err error) {
	if ramDir == "" {
		return keep, func() error { return nil }, nil
	}
	sweepLiveDirs(ramDir)
	live, err = os.MkdirTemp(ramDir, liveDirPrefix+strconv.Itoa(os.Getpid())+"-")
	if err != nil {
		// A full or read-only tmpfs: the disk still works.
		return keep, func() error { return nil }, nil
	}
	return live, func() error {
		if err := system.CopyFiles(live, keep); err != nil {
			// Left where they are for a person to copy: the next run
			// (or paydrill clean) sweeps them.
			return fmt.Errorf("%w (%s): %w; they are in %s until the next run", system.ErrStoresNotKept, keep, err, live)
		}
		return os.RemoveAll(live)
	}, nil
}

// SweepLiveStores removes the live store directories of processes that
// no longer run (killed before they could close their system), as every
// run does at its start, and returns their paths.
func SweepLiveStores() []string {
	if ramDir == "" {
		return nil
	}
	return sweepLiveDirs(ramDir)
}

// sweepLiveDirs removes the live directories under dir of processes that
// no longer run, and returns their paths.
func sweepLiveDirs(dir string) (removed []string) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	for _, e := range ents {
		rest, ok := strings.CutPrefix(e.Name(), liveDirPrefix)
		if !ok || !e.IsDir() {
			continue
		}
		pid, err := strconv.Atoi(strings.SplitN(rest, "-", 2)[0])
		if err != nil || pid == os.Getpid() || processRuns(pid) {
			continue
		}
		if os.RemoveAll(filepath.Join(dir, e.Name())) == nil {
			removed = append(removed, filepath.Join(dir, e.Name()))
		}
	}
	return removed
}

// LiveStoresLeft lists the live store directories of this process that
// exist now: none once every system it started has closed.
func LiveStoresLeft() []string {
	if ramDir == "" {
		return nil
	}
	left, _ := filepath.Glob(filepath.Join(ramDir, liveDirPrefix+strconv.Itoa(os.Getpid())+"-*"))
	return left
}
