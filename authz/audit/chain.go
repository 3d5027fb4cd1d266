package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// MaxLineSize is the largest line (without its newline) the trail accepts.
// Write refuses a record whose line would be longer, and Verify and Open
// treat a longer line as damage.
const MaxLineSize = 1 << 20

const (
	seqKey     = `,"seq":`
	hashKey    = `,"hash":"`
	prevTail   = `,"prev_hash":"`
	emptyTail  = `,"prev_hash":"","hash":""}` // how json.Marshal ends a record before chaining
	hashHexLen = sha256.Size * 2
)

// template is a record encoded as json.Marshal encodes it with Seq 0 and
// empty PrevHash and Hash. The writer splices the real seq and prev_hash in,
// which gives exactly the bytes json.Marshal would give for the chained
// record, so the encoding happens in the callers' goroutines, in parallel,
// and the single writer only splices and hashes.
type template struct {
	b     []byte // ends with emptyTail
	seqAt int    // index of `,"seq":0,` in b
}

func newTemplate(rec *Record) (template, error) {
	return appendTemplate(nil, rec)
}

// appendTemplate is newTemplate building the template in buf's storage
// (from buf[:0]) when it is large enough.
func appendTemplate(buf []byte, rec *Record) (template, error) {
	r := *rec
	r.Seq, r.PrevHash, r.Hash = 0, "", ""
	b, ok := appendRecord(buf[:0], &r)
	if !ok {
		var err error
		if b, err = marshalRecordRef(r); err != nil {
			return template{}, fmt.Errorf("audit: cannot encode record: %w", err)
		}
	}
	if !bytes.HasSuffix(b, []byte(emptyTail)) {
		return template{}, errors.New("audit: internal error: record does not end with prev_hash and hash")
	}
	// time and v precede seq and cannot contain `,"seq":`, so the first
	// occurrence is the seq member.
	i := bytes.Index(b, []byte(seqKey+"0,"))
	if i < 0 {
		return template{}, errors.New("audit: internal error: record has no seq member")
	}
	// A line is the template plus the decimal seq (at most 19 more bytes)
	// plus two hex hashes.
	if len(b)+19+2*hashHexLen > MaxLineSize {
		return template{}, fmt.Errorf("audit: record too large (%d bytes encoded, limit %d)", len(b), MaxLineSize)
	}
	return template{b: b, seqAt: i}, nil
}

// appendLine appends the line of t, at position seq and chained to prev, to
// buf, newline included, and returns the extended buffer and the line's hash.
//
// The hash is the lowercase hex SHA-256 of the line as it would be with an
// empty hash value, i.e. ending in `"hash":""}`; the line written is those
// bytes with the hex hash put between the two quotes.
func appendLine(buf []byte, t template, seq uint64, prev string) ([]byte, string) {
	start := len(buf)
	buf = append(buf, t.b[:t.seqAt+len(seqKey)]...)
	buf = strconv.AppendUint(buf, seq, 10)
	buf = append(buf, t.b[t.seqAt+len(seqKey)+1:len(t.b)-len(emptyTail)]...)
	buf = append(buf, prevTail...)
	buf = append(buf, prev...)
	buf = append(buf, `","hash":""}`...)
	sum := sha256.Sum256(buf[start:])
	buf = buf[:len(buf)-2] // drop `"}`, keep the opening quote of the value
	hexStart := len(buf)
	buf = hex.AppendEncode(buf, sum[:])
	h := string(buf[hexStart:])
	buf = append(buf, "\"}\n"...)
	return buf, h
}

// lineHash checks the self-hash of one line (without its newline) using only
// its bytes: it finds the hash value at the end of the line, recomputes the
// SHA-256 of the line with that value emptied and compares.
// It returns the stored hash, and whether it matches; malformed reports that
// the line does not end with a well-formed hash member at all.
func lineHash(line []byte) (stored string, ok, malformed bool) {
	n := len(line)
	if n < len(hashKey)+hashHexLen+2 || !bytes.HasSuffix(line, []byte(`"}`)) {
		return "", false, true
	}
	hexv := line[n-2-hashHexLen : n-2]
	if !bytes.Equal(line[n-2-hashHexLen-len(hashKey):n-2-hashHexLen], []byte(hashKey)) || !isLowerHex(hexv) {
		return "", false, true
	}
	h := sha256.New()
	h.Write(line[:n-2-hashHexLen])
	h.Write([]byte(`"}`))
	var sum [sha256.Size]byte
	var want [hashHexLen]byte
	hex.Encode(want[:], h.Sum(sum[:0]))
	return string(hexv), bytes.Equal(want[:], hexv), false
}

func isLowerHex(b []byte) bool {
	for _, c := range b {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// chainFields are the members of a line that the chain checks. Pointers tell
// a missing member from a zero one.
type chainFields struct {
	Time       json.RawMessage `json:"time"`
	ID         string          `json:"id"`
	Stage      string          `json:"stage"`
	RequestID  string          `json:"request_id"`
	Host       string          `json:"host"`
	Decision   string          `json:"decision"`
	Checkpoint *Checkpoint     `json:"checkpoint"`
	Seq        *uint64         `json:"seq"`
	PrevHash   *string         `json:"prev_hash"`
	Hash       *string         `json:"hash"`
}

// lineInfo is what a self-consistent line contributes to the chain.
type lineInfo struct {
	Stage     string
	ID        string
	RequestID string
	Decision  string
	Host      string
	TimeText  string      // "time" as written, without quotes
	CP        *Checkpoint // on checkpoint records
	Seq       uint64
	PrevHash  string
	Hash      string
}

// parseLine checks one line on its own: valid JSON object, chain members
// present and well-formed, and a hash that matches the line's bytes.
// It never re-marshals: the hash is checked on the raw bytes.
func parseLine(line []byte) (lineInfo, Problem, string) {
	var cf chainFields
	if len(line) == 0 || line[0] != '{' {
		return lineInfo{}, ProblemNotJSON, "line is not a JSON object"
	}
	if err := json.Unmarshal(line, &cf); err != nil {
		return lineInfo{}, ProblemNotJSON, err.Error()
	}
	info := lineInfo{Stage: cf.Stage, ID: cf.ID, RequestID: cf.RequestID, Decision: cf.Decision, Host: cf.Host, CP: cf.Checkpoint}
	if len(cf.Time) >= 2 && cf.Time[0] == '"' {
		info.TimeText = string(cf.Time[1 : len(cf.Time)-1])
	}
	if cf.Seq != nil {
		info.Seq = *cf.Seq
	}
	if cf.Seq == nil || cf.PrevHash == nil || cf.Hash == nil {
		return info, ProblemMalformed, "record lacks seq, prev_hash or hash"
	}
	info.PrevHash = *cf.PrevHash
	stored, ok, malformed := lineHash(line)
	if malformed {
		return info, ProblemMalformed, `line does not end with a "hash" member holding 64 lowercase hex digits`
	}
	if !ok {
		return info, ProblemHashMismatch, "the line's content does not match its hash: the record was edited after it was written"
	}
	if *cf.Hash != stored {
		return info, ProblemMalformed, "record has more than one hash member"
	}
	if info.PrevHash != "" && (len(info.PrevHash) != hashHexLen || !isLowerHex([]byte(info.PrevHash))) {
		return info, ProblemMalformed, "prev_hash is not 64 lowercase hex digits"
	}
	info.Hash = stored
	return info, "", ""
}
