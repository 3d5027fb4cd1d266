package reload

// SetReadHook makes r call f before it reads each policy file. Set it
// before r is used from more than one goroutine.
func SetReadHook(r *Reloader, f func(name string)) { r.readHook = f }
