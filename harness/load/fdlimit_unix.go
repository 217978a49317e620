//go:build unix

package load

import (
	"sync"
	"syscall"
)

var fileLimit = sync.OnceValue(func() int {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0
	}
	if rl.Cur < rl.Max {
		// Go raises the soft limit itself at start on Linux; elsewhere
		// (and should it not) this does.
		want := rl
		want.Cur = rl.Max
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want) == nil {
			rl = want
		}
	}
	return int(min(rl.Cur, 1<<30))
})

// FileLimit raises this process's open-files limit to its hard limit, once,
// and returns it (0 when unknown).
func FileLimit() int { return fileLimit() }
