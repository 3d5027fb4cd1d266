// Package reload keeps the policy in force up to date: on demand (SIGHUP)
// and when the policy files change.
//
// Contract:
//   - A reload loads the policy completely (validation), runs its own test
//     cases when a Check is given (DIR/cases.yaml), and only then swaps it in
//     with one atomic pointer store: a request sees the old policy or the new
//     one, never a mix. A policy that fails either step is rejected, the last
//     good policy stays in force, and the failure is logged at error level,
//     reported to the Observer (metrics) and kept in Status (`docker-authz
//     status`).
//   - Reloads are serialised. A policy whose files changed while it was
//     being loaded is not applied (it may be a mix of two edits); the next
//     poll loads the settled files.
//   - Watching polls the content (SHA-256) of the policy files in the
//     directory, following symlinks, every Interval; a change is loaded once
//     the files have stayed unchanged for Settle (debounce). Polling content,
//     not inotify events, covers in-place writes, editors' write-to-temp-and-
//     rename, atomic symlink swaps (..data -> v2, as configuration managers
//     and Kubernetes do), a replaced directory and network file systems the
//     same way; `touch` alone reloads nothing. Content that already failed
//     is not retried until it changes again (no log flood); SIGHUP always
//     retries.
package reload
