package reload

import "io/fs"

// SetReadHook makes r call f before it reads each policy file. Set it
// before r is used from more than one goroutine.
func SetReadHook(r *Reloader, f func(name string)) { r.readHook = f }

// Reading is one reading of r's policy files, as an attempt takes it.
func Reading(r *Reloader) fs.FS { return r.read() }
