//go:build unix

package audit

import (
	"os"
	"syscall"
)

// lockFile takes an exclusive, non-blocking flock on f, so that a second
// process appending to the same trail is refused instead of forking the chain.
func lockFile(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
}

func unlockFile(f *os.File) {
	_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
}
