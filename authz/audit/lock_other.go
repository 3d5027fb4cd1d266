//go:build !unix

package audit

import "os"

// lockFile is a no-op where flock is unavailable; docker-authz runs on Linux.
func lockFile(*os.File) error { return nil }

func unlockFile(*os.File) {}
