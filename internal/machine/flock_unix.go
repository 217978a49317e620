//go:build unix

package machine

import (
	"errors"
	"os"
	"syscall"
)

// lock takes a flock on f, shared or exclusive, waiting while another
// open file holds it in a way that excludes this one; the kernel releases
// it if the process dies.
func lock(f *os.File, shared bool) (waited bool, err error) {
	if took, err := tryLock(f, shared); took || err != nil {
		return false, err
	}
	for {
		err = syscall.Flock(int(f.Fd()), flockMode(shared))
		if !errors.Is(err, syscall.EINTR) {
			return true, err
		}
	}
}

func unlock(f *os.File) error { return syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }

// tryLock takes the lock only if it can at once.
func tryLock(f *os.File, shared bool) (bool, error) {
	err := syscall.Flock(int(f.Fd()), flockMode(shared)|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return false, nil
	}
	return err == nil, err
}

func flockMode(shared bool) int {
	if shared {
		return syscall.LOCK_SH
	}
	return syscall.LOCK_EX
}
