// Package audit writes and verifies docker-authz's audit trail: one JSON
// record per line (JSON Lines) for every authorization decision, hash-chained,
// durable before the decision is returned, with secrets redacted.
//
// # Contract with the plugin
//
// The plugin builds a Record for each AuthZReq decision and each AuthZRes and
// calls Log.Write. An allow may be returned to dockerd only after Write
// returned nil; if Write returns an error the plugin denies (and logs why).
// The Log never reports a record durable when it is not:
//
//   - Write returns nil only after the record's line was written and fsynced.
//   - Concurrent Writes are committed together by a single writer goroutine
//     (group commit): one write and one fsync per batch, then every waiter of
//     the batch is woken. Seq and hash follow the exact order of the lines in
//     the file.
//   - Each Write is bounded by its context and by Options.SyncTimeout. A record
//     whose deadline expires while it is still queued is dropped and never
//     written. One whose deadline expires while its batch is being written
//     may still reach the disk: the error then wraps ErrMaybeWritten. The
//     caller denies in both cases, so the trail may then hold an "allow"
//     for a request that was in fact refused; the plugin should write a deny
//     record for the same request when it can. The reverse, an allowed
//     request without a durable record, cannot happen.
//   - When the write or the fsync fails (disk full, I/O error, permission),
//     the batch is cut off the file (truncate to the end of the last durable
//     record), every Write of the batch gets an error, seq and hash do not
//     advance, and the Log keeps going: later Writes succeed once the disk
//     recovers. If even the truncation fails, nothing more is appended
//     until a retry of the truncation succeeds. Failures are logged (rate
//     limited) so the operator knows why requests are denied. Only data
//     already confirmed by a successful fsync is relied on, which is what
//     Linux guarantees after a failed fsync.
//   - A record is never written twice: a batch is written once, and a failed
//     batch is removed, not retried.
//
// Open continues an existing trail: it reads the last line to recover seq and
// hash, so a restart continues the sequence and the chain, and locks the file
// (flock) so that two processes never append to one trail. A torn last line
// (no newline: a write cut short by a crash, never acknowledged because
// acknowledgement follows fsync) is truncated away with a warning. A last
// complete line that is not a valid record makes Open fail and tells the
// operator to run `docker-authz audit verify` and move the file aside:
// appending to a damaged trail would hide the damage.
//
// # Record encoding and the hash chain
//
// Field order is Record's: time first, hash last. A line is the bytes
// encoding/json makes of the record with Hash "" (so it ends in
// `"hash":""}`), produced without reflection by appendRecord (recordjson.go),
// which is held byte for byte to encoding/json by TestAppendRecordMatchesJSON
// and FuzzAppendRecord and falls back to it for what it cannot reproduce.
// The record's hash is the lowercase hex SHA-256 of exactly those bytes,
// which include seq and prev_hash; the line written is the same bytes with
// the hex hash put between the empty quotes, then "\n". Verification works
// on the raw bytes of each line (empty the hash value, recompute, compare),
// never on a re-encoding, so records written by older or newer versions of
// the schema verify alike. Seq starts at 1 and grows by one per record;
// prev_hash is the hash of the previous record, "" for the first record of a
// trail. The versioned schema, member by member, is in SCHEMA.md (kept in
// step with Record by TestSchemaDocumented; exact bytes pinned by
// TestSchemaGolden).
//
// # Rotation
//
// With Options.MaxSize the file is rotated before a write would make it
// larger: the Log seals it with a rotation checkpoint (when signing),
// renames it RotatedName(path, seq of its first record) and continues in a
// new file at path, whose first record has the next seq and the previous
// file's last hash as prev_hash. Options.MaxFiles removes the oldest rotated
// files. Open continues the chain from the newest rotated file when the
// current file is empty or missing (a crash between rename and create). A
// failed rename or create postpones the rotation (logged) and writing goes
// on in the old file; nothing is lost. TrailFiles lists a trail's files in
// chain order.
//
// # Checkpoints
//
// With Options.Signer the Log writes checkpoint records (stage
// "checkpoint") that sign the chain head with Ed25519: every
// CheckpointEvery records (in the same write and fsync as the batch that
// reaches the count), when CheckpointInterval passed with unsealed records,
// as the last line of a file before rotation, and at Close. A checkpoint is
// itself chained (its prev_hash is the head it seals), so removing one
// breaks the chain. Without a Signer no checkpoint is written.
//
// # Forwarding
//
// Options.Forwarders receive every durable line (checkpoints included) in
// seq order from the writer goroutine, after the fsync; see Forwarder.
//
// Verify, VerifyFiles and VerifyTrail (files in any order, with options)
// detect, and report with file, line, seq and a Problem: an edited line
// (hash mismatch), a deleted line (seq gap; at the start of a file: a
// missing rotated file), swapped or moved lines (reordered / sequence
// backwards), a line edited and re-hashed (prev_hash mismatch on the next
// line), a torn tail, a line that is not JSON, a trail whose first lines
// were deleted (bad start, unless VerifyOptions.AllowPartialStart), a
// checkpoint that does not seal the record before it (bad checkpoint), a
// checkpoint whose signature does not verify with VerifyOptions.PublicKey
// (forged checkpoint), and a trail ending before VerifyOptions.MinSeq
// (truncated). The chain and checkpoints cannot prove that whole records
// after the last checkpoint were not removed: Summary.Unsealed counts the
// records after it. Without a key, a trail entirely rewritten by someone
// able to recompute hashes verifies: Summary.Signed tells whether
// signatures were checked. Summary.Unanswered lists allowed requests
// without a response record.
//
// # Secrets
//
// Write redacts Record.Headers and Record.URI itself (defence in depth), so the
// plugin may pass raw values:
//
//   - Headers: the values of a small allow-list of descriptive headers
//     (Accept, Accept-Encoding, Connection, Content-Encoding, Content-Length,
//     Content-Type, Host, Transfer-Encoding, Upgrade, User-Agent) are kept in
//     clear, cut to 512 bytes. Every other header keeps its name but its value
//     is replaced by "[REDACTED]", or "hmac-sha256:<hex>" when Options.HMACKey
//     is set, so equal secrets correlate without being revealed. This covers
//     X-Registry-Auth, X-Registry-Config, Authorization, Proxy-Authorization,
//     Cookie and any name containing auth, token, secret, password, key or
//     credential, but also headers we do not know: dockerd forwards every
//     header the client sent, and a proxy's or client's custom credential
//     header can have any name. Values are redacted by default rather than
//     headers dropped, so the auditor still sees which headers were present.
//   - URI: query parameters with a sensitive name, the values of build
//     arguments ("buildargs", e.g. docker build --build-arg PASSWORD=...), and
//     user information in URL-valued parameters ("remote",
//     "fromSrc": https://user:token@host/...) are redacted.
//   - Raw bodies are never stored: BodySHA256 (BodyDigest) and BodySize
//     identify a body; at LevelRequest Record.Body holds a RedactedBody,
//     which only Redactor.Body can build (Env values, secret-named members,
//     secret and config Data, URL credentials redacted). A test fails if a
//     field able to carry raw body data is added to Record.
//
// The HMAC key must be secret and random: with the key, a low-entropy
// secret such as a password can be guessed from its HMAC.
//
// Files are created 0640 in a 0750 directory; Open warns when an existing
// trail is readable by all users.
package audit
