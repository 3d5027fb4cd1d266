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
//   - Reloads are serialised. An attempt reads the files once; that reading
//     is what is hashed, loaded and checked, so the digest a reload records
//     always names the policy it put in force (an edit undone during a load
//     cannot leave the intermediate version in force unnoticed). A reading
//     that no longer matches the files after the load is not applied (it
//     may be a mix of two edits) and is retried once the files settle.
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
