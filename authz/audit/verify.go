package audit

import (
	"bufio"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
)

// Problem names what is wrong at the place a verification failed.
type Problem string

// Problems found by Verify and VerifyFiles.
const (
	ProblemNotJSON      Problem = "not JSON"           // the line is not a JSON object
	ProblemMalformed    Problem = "malformed record"   // JSON, but chain members missing or ill-formed
	ProblemHashMismatch Problem = "hash mismatch"      // the line was edited
	ProblemSeqGap       Problem = "sequence gap"       // records are missing: lines deleted
	ProblemReordered    Problem = "reordered"          // records out of order: lines swapped or moved
	ProblemSeqBackwards Problem = "sequence backwards" // seq not above the previous one: lines moved or duplicated
	ProblemPrevHash     Problem = "prev_hash mismatch" // the previous line was replaced, or edited and re-hashed
	ProblemBadStart     Problem = "bad start"          // the trail does not start at seq 1 with an empty prev_hash
	ProblemTornTail     Problem = "torn tail"          // last line has no newline: a write interrupted by a crash
	ProblemLineTooLong  Problem = "line too long"      // a line longer than MaxLineSize
	ProblemRead         Problem = "read error"         // the file could not be read
	ProblemCheckpoint   Problem = "bad checkpoint"     // a checkpoint record that does not seal the record before it
	ProblemForged       Problem = "forged checkpoint"  // a checkpoint whose signature does not verify with the given key, or signed by another key
	ProblemTruncated    Problem = "truncated"          // the trail ends before a seq known to exist (VerifyOptions.MinSeq)
)

// Tampered reports whether a verification error means the trail was
// modified or damaged (as opposed to ProblemRead, an I/O failure of the
// verifier itself).
func (p Problem) Tampered() bool { return p != ProblemRead }

// VerifyError says exactly where and how a trail fails verification.
type VerifyError struct {
	File    string  // path as given to VerifyFiles; "" for Verify
	Line    int     // 1-based line number within File
	Seq     uint64  // seq of the offending record; 0 when it could not be read
	Problem Problem // what kind of damage
	Detail  string  // human explanation
	Err     error   // underlying error, if any (read errors)
}

func (e *VerifyError) Error() string {
	where := e.File
	if where == "" {
		where = "<input>"
	}
	s := "audit verify: " + where
	if e.Line > 0 {
		s += fmt.Sprintf(":%d", e.Line)
	}
	if e.Seq != 0 {
		s += fmt.Sprintf(" (seq %d)", e.Seq)
	}
	s += ": " + string(e.Problem)
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

func (e *VerifyError) Unwrap() error { return e.Err }

// Summary describes a verified trail (or, with an error, the part of it
// that verified before the failure).
type Summary struct {
	Files    int    // files read
	Records  int    // records that verified
	FirstSeq uint64 // seq of the first record; 0 if none
	LastSeq  uint64 // seq of the last verified record; 0 if none
	LastHash string // hash of the last verified record: the chain head

	Checkpoints int      // checkpoint records verified (structure, and signature when a key was given)
	Signed      int      // checkpoints whose signature was checked with VerifyOptions.PublicKey
	KeyIDs      []string // key ids the checkpoints name, in order of first appearance
	SealedSeq   uint64   // seq of the last checkpoint record: records up to it are sealed; 0 if none
	// Unsealed is the number of records after the last checkpoint (every
	// record when there is none): they verify as a chain, but records cut
	// from the end of the trail after the last checkpoint cannot be
	// detected from the files alone.
	Unsealed int

	// Unanswered lists allowed request records that no response record
	// refers to (at most MaxUnanswered of them; UnansweredCount has the
	// number): the request was still running, dockerd crashed, or the plugin
	// restarted between the request and its response. Denied requests never
	// get a response and are not listed.
	Unanswered      []RecordRef
	UnansweredCount int
	// Orphans counts response records whose request record is not in the
	// files verified (request_id empty or unknown).
	Orphans int

	Paths []string // files verified, in chain order
}

// MaxUnanswered bounds Summary.Unanswered.
const MaxUnanswered = 1000

// RecordRef locates a record.
type RecordRef struct {
	File string
	Line int
	Seq  uint64
	ID   string
}

// VerifyOptions strengthen or relax verification.
type VerifyOptions struct {
	// PublicKey checks every checkpoint's signature: a checkpoint signed
	// by another key, or whose signature does not match, is forged. Without
	// it checkpoints are checked for structure only (Summary.Signed is 0).
	PublicKey ed25519.PublicKey
	// AllowPartialStart accepts a trail whose first record has seq > 1 and
	// a prev_hash (the oldest rotated files were removed by retention, or
	// were not given); Summary.FirstSeq says where it starts. Without it,
	// the trail must start at seq 1 (ProblemBadStart).
	AllowPartialStart bool
	// MinSeq, when not 0, is a seq the trail is known to have reached (for
	// example from a checkpoint forwarded to a SIEM): a trail ending before
	// it was truncated (ProblemTruncated).
	MinSeq uint64
}

// Verify checks one trail read from r: every line is a JSON record whose hash
// matches its bytes, seqs go 1, 2, 3... and each prev_hash is the previous
// record's hash. The first record must have seq 1 and an empty prev_hash. An
// empty input is a valid empty trail.
//
// Verify cannot detect whole lines removed from the end of a trail:
// records after the last checkpoint are reported as Summary.Unsealed, and
// VerifyOptions.MinSeq checks against a seq known from elsewhere.
func Verify(r io.Reader) (Summary, error) {
	v := verifier{pending: map[string]RecordRef{}}
	v.sum.Files = 1
	if err := v.read("", r); err != nil {
		return v.sum, err
	}
	return v.sum, v.finish()
}

// VerifyFiles verifies the files in order as one trail: the chain continues
// from the last record of one file to the first record of the next, as it
// does across rotations.
func VerifyFiles(paths ...string) (Summary, error) {
	return VerifyFilesWith(VerifyOptions{}, paths...)
}

// VerifyFilesWith is VerifyFiles with options.
func VerifyFilesWith(opts VerifyOptions, paths ...string) (Summary, error) {
	v := verifier{opts: opts, pending: map[string]RecordRef{}}
	v.sum.Paths = paths
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return v.sum, &VerifyError{File: p, Problem: ProblemRead, Detail: err.Error(), Err: err}
		}
		v.sum.Files++
		err = v.read(p, f)
		f.Close()
		if err != nil {
			return v.sum, err
		}
	}
	return v.sum, v.finish()
}

// VerifyTrail verifies the files of one trail given in any order: they are
// put in chain order by the seq of their first record (duplicates removed)
// and verified with VerifyFilesWith.
func VerifyTrail(opts VerifyOptions, paths ...string) (Summary, error) {
	sorted, err := SortFiles(paths)
	if err != nil {
		return Summary{}, err
	}
	return VerifyFilesWith(opts, sorted...)
}

// SortFiles puts trail files in chain order by the seq of their first
// record. A file whose first line cannot be read as a record sorts first,
// so that verification reports it; empty files sort last. Paths naming the
// same file are kept once.
func SortFiles(paths []string) ([]string, error) {
	type key struct {
		path  string
		seq   uint64
		bad   bool
		empty bool
	}
	seen := map[string]bool{}
	var keys []key
	for _, p := range paths {
		abs, err := filepathAbs(p)
		if err != nil {
			abs = p
		}
		if seen[abs] {
			continue
		}
		seen[abs] = true
		f, err := os.Open(p)
		if err != nil {
			return nil, &VerifyError{File: p, Problem: ProblemRead, Detail: err.Error(), Err: err}
		}
		seq, err := readFirstSeq(f)
		f.Close()
		keys = append(keys, key{path: p, seq: seq, bad: err != nil, empty: err == nil && seq == 0})
	}
	sort.SliceStable(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.bad != b.bad {
			return a.bad
		}
		if a.empty != b.empty {
			return b.empty
		}
		return a.seq < b.seq
	})
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k.path
	}
	return out, nil
}

// verifier is the streaming chain state shared by Verify and VerifyFiles.
type verifier struct {
	opts     VerifyOptions
	sum      Summary
	started  bool
	lastFile string
	lastCP   uint64 // seq of the last checkpoint record
	pending  map[string]RecordRef
	// A seq jump is reported only after seeing the next line, which tells a
	// deleted line (the missing seq never comes) from swapped lines (it
	// comes next).
	gap         *VerifyError
	gapExpected uint64
	gapSeq      uint64
}

func (v *verifier) read(file string, r io.Reader) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var long []byte
	lineNo := 0
	for {
		chunk, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			if len(long)+len(chunk) > MaxLineSize+1 {
				return &VerifyError{File: file, Line: lineNo + 1, Problem: ProblemLineTooLong,
					Detail: fmt.Sprintf("line exceeds %d bytes", MaxLineSize)}
			}
			long = append(long, chunk...)
			continue
		}
		line := chunk
		if long != nil {
			line = append(long, chunk...)
			long = nil
		}
		if err != nil && err != io.EOF {
			return &VerifyError{File: file, Line: lineNo + 1, Problem: ProblemRead, Detail: err.Error(), Err: err}
		}
		if len(line) == 0 { // clean end of input
			return nil
		}
		lineNo++
		if line[len(line)-1] != '\n' {
			e := &VerifyError{File: file, Line: lineNo, Problem: ProblemTornTail,
				Detail: fmt.Sprintf("the last line (%d bytes) has no newline: a write was interrupted by a crash and never acknowledged; Open removes it", len(line))}
			if info, p, _ := parseLine(line); p == "" {
				e.Seq = info.Seq
			}
			if perr := v.flushGap(0, false); perr != nil {
				return perr
			}
			return e
		}
		if verr := v.line(file, lineNo, line[:len(line)-1]); verr != nil {
			return verr
		}
		if err == io.EOF {
			return nil
		}
	}
}

func (v *verifier) line(file string, lineNo int, line []byte) error {
	if len(line) > MaxLineSize {
		return &VerifyError{File: file, Line: lineNo, Problem: ProblemLineTooLong,
			Detail: fmt.Sprintf("line is %d bytes, limit %d", len(line), MaxLineSize)}
	}
	info, p, detail := parseLine(line)
	if p != "" {
		if perr := v.flushGap(info.Seq, p != ProblemNotJSON); perr != nil {
			return perr
		}
		return &VerifyError{File: file, Line: lineNo, Seq: info.Seq, Problem: p, Detail: detail}
	}
	if perr := v.flushGap(info.Seq, true); perr != nil {
		return perr
	}
	if !v.started {
		partial := v.opts.AllowPartialStart && info.Seq > 1 && info.PrevHash != ""
		if !partial && (info.Seq != 1 || info.PrevHash != "") {
			return &VerifyError{File: file, Line: lineNo, Seq: info.Seq, Problem: ProblemBadStart,
				Detail: fmt.Sprintf("the first record has seq %d and prev_hash %q; a trail starts at seq 1 with an empty prev_hash (its first lines were deleted, or this is a later file of a rotated trail: verify it together with the files before it)", info.Seq, info.PrevHash)}
		}
	} else {
		last := v.sum.LastSeq
		switch {
		case info.Seq == last && info.Hash == v.sum.LastHash:
			return &VerifyError{File: file, Line: lineNo, Seq: info.Seq, Problem: ProblemSeqBackwards,
				Detail: "this line duplicates the previous one"}
		case info.Seq <= last:
			return &VerifyError{File: file, Line: lineNo, Seq: info.Seq, Problem: ProblemSeqBackwards,
				Detail: fmt.Sprintf("seq %d follows seq %d: lines were moved or duplicated", info.Seq, last)}
		case info.Seq > last+1:
			detail := fmt.Sprintf("seq %d follows seq %d: %d record(s) missing, lines were deleted", info.Seq, last, info.Seq-last-1)
			if lineNo == 1 && v.lastFile != "" && v.lastFile != file {
				detail = fmt.Sprintf("seq %d, the first record of this file, follows seq %d, the last record of %s: %d record(s) missing: a rotated file between them is missing (not given, or deleted), or lines were deleted", info.Seq, last, v.lastFile, info.Seq-last-1)
			}
			v.gap = &VerifyError{File: file, Line: lineNo, Seq: info.Seq, Problem: ProblemSeqGap, Detail: detail}
			v.gapExpected, v.gapSeq = last+1, info.Seq
			return nil
		}
		if info.PrevHash != v.sum.LastHash {
			return &VerifyError{File: file, Line: lineNo, Seq: info.Seq, Problem: ProblemPrevHash,
				Detail: fmt.Sprintf("prev_hash %s is not the hash %s of the previous record (seq %d): that record was replaced, or edited and re-hashed", short(info.PrevHash), short(v.sum.LastHash), last)}
		}
	}
	if err := v.record(file, lineNo, info); err != nil {
		return err
	}
	if !v.started {
		v.started = true
		v.sum.FirstSeq = info.Seq
	}
	v.lastFile = file
	v.sum.Records++
	v.sum.LastSeq = info.Seq
	v.sum.LastHash = info.Hash
	return nil
}

// flushGap resolves a pending seq gap given the seq of the next line (known
// says whether that seq could be read). If the next line carries the missing
// seq, the lines were reordered.
func (v *verifier) flushGap(nextSeq uint64, known bool) error {
	if v.gap == nil {
		return nil
	}
	g := v.gap
	v.gap = nil
	if known && nextSeq == v.gapExpected {
		g.Problem = ProblemReordered
		g.Detail = fmt.Sprintf("seq %d comes before seq %d (next line): lines were swapped or moved", v.gapSeq, v.gapExpected)
	}
	return g
}

// record checks what a chained record says beyond the chain: a checkpoint
// must seal the record before it (and be signed by the given key), and
// requests and responses are paired.
func (v *verifier) record(file string, lineNo int, info lineInfo) error {
	switch info.Stage {
	case StageCheckpoint:
		cp := info.CP
		if cp == nil {
			return &VerifyError{File: file, Line: lineNo, Seq: info.Seq, Problem: ProblemCheckpoint, Detail: "a checkpoint record without its checkpoint member"}
		}
		if cp.Seq != info.Seq-1 || cp.Head != info.PrevHash {
			return &VerifyError{File: file, Line: lineNo, Seq: info.Seq, Problem: ProblemCheckpoint,
				Detail: fmt.Sprintf("the checkpoint claims to seal seq %d with head %s, but it follows seq %d with hash %s", cp.Seq, short(cp.Head), info.Seq-1, short(info.PrevHash))}
		}
		if v.opts.PublicKey != nil {
			if err := VerifyCheckpoint(v.opts.PublicKey, cp, info.TimeText, info.Host); err != nil {
				return &VerifyError{File: file, Line: lineNo, Seq: info.Seq, Problem: ProblemForged, Detail: err.Error()}
			}
			v.sum.Signed++
		}
		v.sum.Checkpoints++
		known := false
		for _, k := range v.sum.KeyIDs {
			known = known || k == cp.KeyID
		}
		if !known {
			v.sum.KeyIDs = append(v.sum.KeyIDs, cp.KeyID)
		}
		v.lastCP = info.Seq
	case StageRequest:
		if info.RequestID != "" { // a deny overriding an unconfirmed allow
			delete(v.pending, info.RequestID)
		} else if info.Decision == Allow && info.ID != "" {
			v.pending[info.ID] = RecordRef{File: file, Line: lineNo, Seq: info.Seq, ID: info.ID}
		}
	case StageResponse:
		if _, ok := v.pending[info.RequestID]; ok {
			delete(v.pending, info.RequestID)
		} else {
			v.sum.Orphans++
		}
	}
	return nil
}

func (v *verifier) finish() error {
	if err := v.flushGap(0, false); err != nil {
		return err
	}
	v.sum.SealedSeq = v.lastCP
	if v.lastCP == 0 {
		v.sum.Unsealed = v.sum.Records
	} else {
		v.sum.Unsealed = int(v.sum.LastSeq - v.lastCP)
	}
	refs := make([]RecordRef, 0, len(v.pending))
	for _, r := range v.pending {
		refs = append(refs, r)
	}
	sort.Slice(refs, func(i, j int) bool { return refs[i].Seq < refs[j].Seq })
	v.sum.UnansweredCount = len(refs)
	v.sum.Unanswered = refs[:min(len(refs), MaxUnanswered)]
	if v.opts.MinSeq > v.sum.LastSeq {
		return &VerifyError{File: v.lastFile, Seq: v.sum.LastSeq, Problem: ProblemTruncated,
			Detail: fmt.Sprintf("the trail ends at seq %d, but seq %d is known to exist: records were cut from the end", v.sum.LastSeq, v.opts.MinSeq)}
	}
	return nil
}

func short(h string) string {
	if h == "" {
		return `""`
	}
	if len(h) > 12 {
		return h[:12] + "…"
	}
	return h
}

func filepathAbs(p string) (string, error) { return filepath.Abs(p) }
