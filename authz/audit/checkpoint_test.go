package audit

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func testSigner(t testing.TB) (*Signer, ed25519.PublicKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s, pub
}

func decode(t testing.TB, line []byte) Record {
	t.Helper()
	var r Record
	if err := json.Unmarshal(line, &r); err != nil {
		t.Fatalf("%v: %s", err, line)
	}
	return r
}

// stages returns each line's stage, with the checkpoint reason.
func stages(t testing.TB, lines [][]byte) []string {
	var out []string
	for _, l := range lines {
		r := decode(t, l)
		s := r.Stage
		if r.Checkpoint != nil {
			s += ":" + r.Checkpoint.Reason
		}
		out = append(out, s)
	}
	return out
}

// collector is a Forwarder that keeps copies of the lines it gets.
type collector struct {
	mu    sync.Mutex
	lines [][]byte
}

func (c *collector) Forward(line []byte) {
	c.mu.Lock()
	c.lines = append(c.lines, append([]byte(nil), line...))
	c.mu.Unlock()
}

func TestCheckpointsByCountAndAtClose(t *testing.T) {
	signer, pub := testSigner(t)
	fw := &collector{}
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l := openTest(t, path, func(o *Options) {
		o.Signer, o.CheckpointEvery, o.CheckpointInterval = signer, 5, -1
		o.Forwarders = []Forwarder{fw}
	})
	for i := 1; i <= 12; i++ {
		mustWrite(t, l.Log, newRec("alice", i))
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	lines := readLines(t, path)
	got := strings.Join(stages(t, lines), " ")
	req := strings.Repeat("request ", 5)
	want := req + "checkpoint:count " + req + "checkpoint:count request request checkpoint:shutdown"
	if got != want {
		t.Fatalf("stages:\n got %s\nwant %s", got, want)
	}
	cp := decode(t, lines[5])
	prev := decode(t, lines[4])
	if cp.Seq != 6 || cp.Checkpoint.Seq != 5 || cp.Checkpoint.Head != prev.Hash || cp.PrevHash != prev.Hash || cp.Checkpoint.KeyID != signer.KeyID() || cp.Host != "host1" {
		t.Errorf("checkpoint %+v %+v does not seal %d %s", cp, cp.Checkpoint, prev.Seq, prev.Hash)
	}
	sum, err := VerifyFilesWith(VerifyOptions{PublicKey: pub}, path)
	if err != nil || sum.Checkpoints != 3 || sum.Signed != 3 || sum.Unsealed != 0 || sum.SealedSeq != 15 || sum.LastSeq != 15 {
		t.Fatalf("verify: %+v %v", sum, err)
	}
	if len(sum.KeyIDs) != 1 || sum.KeyIDs[0] != signer.KeyID() {
		t.Errorf("key ids %v", sum.KeyIDs)
	}
	if st := l.Stats(); st.Records != 12 || st.Checkpoints != 3 {
		t.Errorf("stats %+v", st)
	}
	// Forwarders saw every line, checkpoints included, in order.
	if !bytes.Equal(joinLines(fw.lines), joinLines(lines)) {
		t.Errorf("forwarded lines differ from the file:\n%s", joinLines(fw.lines))
	}
	// A restart after a clean shutdown writes no checkpoint when nothing new
	// was written.
	l2 := openTest(t, path, func(o *Options) { o.Signer = signer })
	if err := l2.Close(); err != nil {
		t.Fatal(err)
	}
	if n := len(readLines(t, path)); n != 15 {
		t.Errorf("%d lines after an idle restart, want 15", n)
	}
}

func TestCheckpointInterval(t *testing.T) {
	signer, pub := testSigner(t)
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l := openTest(t, path, func(o *Options) {
		o.Signer, o.CheckpointEvery, o.CheckpointInterval = signer, -1, 20*time.Millisecond
	})
	defer l.Close()
	mustWrite(t, l.Log, newRec("alice", 1))
	deadline := time.Now().Add(5 * time.Second)
	for {
		if seq, _ := l.Head(); seq == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no interval checkpoint within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // no further checkpoint without new records
	if seq, _ := l.Head(); seq != 2 {
		t.Errorf("head seq %d: checkpoints without new records", seq)
	}
	if got := stages(t, readLines(t, path)); strings.Join(got, " ") != "request checkpoint:interval" {
		t.Errorf("stages %v", got)
	}
	if sum, err := VerifyFilesWith(VerifyOptions{PublicKey: pub}, path); err != nil || sum.Signed != 1 || sum.Unsealed != 0 {
		t.Errorf("verify: %+v %v", sum, err)
	}
}

// sealedTrail writes 10 records with a checkpoint every 4 and no shutdown
// checkpoint (the Log is left open, like a running plugin), and returns the
// lines: 4 records, cp, 4 records, cp, 2 records.
func sealedTrail(t *testing.T) ([][]byte, *Signer, ed25519.PublicKey) {
	t.Helper()
	signer, pub := testSigner(t)
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l := openTest(t, path, func(o *Options) {
		o.Signer, o.CheckpointEvery, o.CheckpointInterval = signer, 4, -1
	})
	for i := 1; i <= 10; i++ {
		mustWrite(t, l.Log, newRec(fmt.Sprintf("u%d", i), i))
	}
	lines := readLines(t, path)
	if len(lines) != 12 {
		t.Fatalf("%d lines", len(lines))
	}
	t.Cleanup(func() { l.Close() })
	return lines, signer, pub
}

// rechain recomputes prev_hash and hash of lines[from:] the way a forger
// who edited lines[from] would, keeping everything else.
func rechain(t *testing.T, lines [][]byte, from int) {
	t.Helper()
	for i := from; i < len(lines); i++ {
		if i > 0 {
			prevHash := decode(t, lines[i-1]).Hash
			old := decode(t, lines[i]).PrevHash
			lines[i] = bytes.Replace(lines[i], []byte(`"prev_hash":"`+old+`"`), []byte(`"prev_hash":"`+prevHash+`"`), 1)
		}
		lines[i] = rehash(lines[i])
	}
}

func TestVerifyCheckpointTampering(t *testing.T) {
	orig, signer, pub := sealedTrail(t)
	_, otherPub := testSigner(t)
	editRecord := func(l [][]byte) {
		l[2] = bytes.Replace(l[2], []byte(`"decision":"allow"`), []byte(`"decision":"deny"`), 1)
	}
	tests := []struct {
		name    string
		tamper  func(l [][]byte) [][]byte
		opts    VerifyOptions
		problem Problem // "" = verifies
		line    int
		check   func(t *testing.T, s Summary)
	}{
		{name: "intact", tamper: func(l [][]byte) [][]byte { return l }, opts: VerifyOptions{PublicKey: pub},
			check: func(t *testing.T, s Summary) {
				if s.Signed != 2 || s.SealedSeq != 10 || s.Unsealed != 2 {
					t.Errorf("%+v", s)
				}
			}},
		{name: "edited record, chain and checkpoint heads rewritten, signatures kept",
			tamper: func(l [][]byte) [][]byte {
				editRecord(l)
				rechain(t, l, 2)
				for _, i := range []int{4, 9} { // point the checkpoints at the new heads
					cp := decode(t, l[i])
					l[i] = rehash(bytes.Replace(l[i], []byte(`"head":"`+cp.Checkpoint.Head+`"`), []byte(`"head":"`+cp.PrevHash+`"`), 1))
					rechain(t, l, i)
				}
				return l
			},
			opts: VerifyOptions{PublicKey: pub}, problem: ProblemForged, line: 5},
		{name: "edited record, chain rewritten, checkpoint heads left",
			tamper: func(l [][]byte) [][]byte { editRecord(l); rechain(t, l, 2); return l },
			opts:   VerifyOptions{}, problem: ProblemCheckpoint, line: 5},
		{name: "checkpoint re-signed with another key",
			tamper: func(l [][]byte) [][]byte {
				other, _ := testSigner(t)
				cp := decode(t, l[4])
				forged := other.checkpointRecord(cp.Time, cp.Host, cp.Checkpoint.Seq, cp.Checkpoint.Head, cp.Checkpoint.Reason)
				tpl, err := newTemplate(forged)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := appendLine(nil, tpl, cp.Seq, cp.PrevHash)
				l[4] = b[:len(b)-1]
				rechain(t, l, 5)
				return l
			},
			opts: VerifyOptions{PublicKey: pub}, problem: ProblemForged, line: 5},
		{name: "verified with the wrong key", tamper: func(l [][]byte) [][]byte { return l },
			opts: VerifyOptions{PublicKey: otherPub}, problem: ProblemForged, line: 5},
		{name: "without a key the signatures are not checked", tamper: func(l [][]byte) [][]byte { return l },
			check: func(t *testing.T, s Summary) {
				if s.Checkpoints != 2 || s.Signed != 0 {
					t.Errorf("%+v", s)
				}
			}},
		{name: "tail cut after the last checkpoint is unsealed, not detected",
			tamper: func(l [][]byte) [][]byte { return l[:11] }, opts: VerifyOptions{PublicKey: pub},
			check: func(t *testing.T, s Summary) {
				if s.LastSeq != 11 || s.Unsealed != 1 || s.SealedSeq != 10 {
					t.Errorf("%+v", s)
				}
			}},
		{name: "tail cut with the last checkpoint",
			tamper: func(l [][]byte) [][]byte { return l[:8] }, opts: VerifyOptions{PublicKey: pub},
			check: func(t *testing.T, s Summary) {
				if s.LastSeq != 8 || s.Unsealed != 3 || s.SealedSeq != 5 {
					t.Errorf("%+v", s)
				}
			}},
		{name: "tail cut below a seq known from elsewhere",
			tamper: func(l [][]byte) [][]byte { return l[:10] }, opts: VerifyOptions{PublicKey: pub, MinSeq: 12},
			problem: ProblemTruncated},
		{name: "checkpoint deleted", tamper: func(l [][]byte) [][]byte { return append(l[:4], l[5:]...) },
			opts: VerifyOptions{PublicKey: pub}, problem: ProblemSeqGap, line: 5},
		{name: "checkpoint without its member",
			tamper: func(l [][]byte) [][]byte {
				r := decode(t, l[4])
				i := bytes.Index(l[4], []byte(`,"checkpoint":`))
				j := bytes.Index(l[4], []byte(`,"prev_hash":`))
				l[4] = rehash(append(append([]byte(nil), l[4][:i]...), l[4][j:]...))
				_ = r
				rechain(t, l, 5)
				return l
			}, problem: ProblemCheckpoint, line: 5},
	}
	_ = signer
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lines := tc.tamper(clone(orig))
			path := filepath.Join(t.TempDir(), "audit.jsonl")
			if err := os.WriteFile(path, joinLines(lines), 0o600); err != nil {
				t.Fatal(err)
			}
			sum, err := VerifyFilesWith(tc.opts, path)
			if tc.problem == "" {
				if err != nil {
					t.Fatalf("verify: %v", err)
				}
				if tc.check != nil {
					tc.check(t, sum)
				}
				return
			}
			var ve *VerifyError
			if !errors.As(err, &ve) || ve.Problem != tc.problem || (tc.line != 0 && ve.Line != tc.line) {
				t.Fatalf("got %v, want %q at line %d", err, tc.problem, tc.line)
			}
			if !ve.Problem.Tampered() {
				t.Errorf("%q not classed as tampering", ve.Problem)
			}
		})
	}
}

// TestUnansweredRequests: allowed requests without a response are listed;
// denied ones and answered ones are not.
func TestUnansweredRequests(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l := openTest(t, path, nil)
	a := newRec("alice", 1)
	mustWrite(t, l.Log, a)
	b := newRec("bob", 2)
	mustWrite(t, l.Log, b)
	d := newRec("mallory", 3)
	d.Decision = Deny
	mustWrite(t, l.Log, d)
	mustWrite(t, l.Log, &Record{Stage: StageResponse, RequestID: a.ID, User: "alice", Decision: Allow, Status: 201})
	mustWrite(t, l.Log, &Record{Stage: StageResponse, RequestID: "", User: "carol", Decision: Allow, Status: 200})
	l.Close()
	sum, err := VerifyFiles(path)
	if err != nil {
		t.Fatal(err)
	}
	if sum.UnansweredCount != 1 || len(sum.Unanswered) != 1 || sum.Unanswered[0].ID != b.ID || sum.Unanswered[0].Seq != 2 || sum.Unanswered[0].Line != 2 || sum.Orphans != 1 {
		t.Errorf("unanswered %+v orphans %d", sum.Unanswered, sum.Orphans)
	}
}
