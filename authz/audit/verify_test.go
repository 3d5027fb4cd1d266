package audit

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestVerifyChainOK(t *testing.T) {
	path, lines := writeTrail(t, 500)
	if len(lines) != 500 {
		t.Fatalf("%d lines", len(lines))
	}
	sum, err := VerifyFiles(path)
	if err != nil {
		t.Fatal(err)
	}
	wantHash, _, _ := lineHash(lines[499])
	if sum.Records != 500 || sum.FirstSeq != 1 || sum.LastSeq != 500 || sum.LastHash != wantHash || sum.Files != 1 {
		t.Errorf("summary %+v", sum)
	}
	sum, err = Verify(bytes.NewReader(nil))
	if err != nil || sum.Records != 0 {
		t.Errorf("empty trail: %+v, %v", sum, err)
	}
}

func TestVerifyDetectsTampering(t *testing.T) {
	_, orig := writeTrail(t, 10)
	tests := []struct {
		name    string
		tamper  func(l [][]byte) [][]byte
		raw     func(b []byte) []byte // applied to the joined bytes instead
		line    int
		seq     uint64
		problem Problem
	}{
		{
			name: "edited field",
			tamper: func(l [][]byte) [][]byte {
				l[3] = bytes.Replace(l[3], []byte(`"decision":"allow"`), []byte(`"decision":"deny"`), 1)
				return l
			},
			line: 4, seq: 4, problem: ProblemHashMismatch,
		},
		{
			name: "edited user, same length",
			tamper: func(l [][]byte) [][]byte {
				l[6] = bytes.Replace(l[6], []byte(`"user":"u7"`), []byte(`"user":"u1"`), 1)
				return l
			},
			line: 7, seq: 7, problem: ProblemHashMismatch,
		},
		{
			name: "edited and re-hashed (forged hash)",
			tamper: func(l [][]byte) [][]byte {
				l[3] = rehash(bytes.Replace(l[3], []byte(`"decision":"allow"`), []byte(`"decision":"deny"`), 1))
				return l
			},
			line: 5, seq: 5, problem: ProblemPrevHash,
		},
		{
			name: "hash replaced by another record's hash",
			tamper: func(l [][]byte) [][]byte {
				h, _, _ := lineHash(l[1])
				l[3] = append(l[3][:len(l[3])-66], []byte(h+`"}`)...)
				return l
			},
			line: 4, seq: 4, problem: ProblemHashMismatch,
		},
		{
			name:   "deleted middle line",
			tamper: func(l [][]byte) [][]byte { return append(l[:4], l[5:]...) },
			line:   5, seq: 6, problem: ProblemSeqGap,
		},
		{
			name:   "deleted two lines",
			tamper: func(l [][]byte) [][]byte { return append(l[:4], l[6:]...) },
			line:   5, seq: 7, problem: ProblemSeqGap,
		},
		{
			name:   "deleted first line",
			tamper: func(l [][]byte) [][]byte { return l[1:] },
			line:   1, seq: 2, problem: ProblemBadStart,
		},
		{
			name: "swapped lines",
			tamper: func(l [][]byte) [][]byte {
				l[4], l[5] = l[5], l[4]
				return l
			},
			line: 5, seq: 6, problem: ProblemReordered,
		},
		{
			name: "swapped last two lines",
			tamper: func(l [][]byte) [][]byte {
				l[8], l[9] = l[9], l[8]
				return l
			},
			line: 9, seq: 10, problem: ProblemReordered,
		},
		{
			name: "line moved earlier",
			tamper: func(l [][]byte) [][]byte {
				return [][]byte{l[0], l[1], l[7], l[2], l[3], l[4], l[5], l[6], l[8], l[9]}
			},
			line: 3, seq: 8, problem: ProblemReordered,
		},
		{
			name: "line moved later",
			tamper: func(l [][]byte) [][]byte {
				return [][]byte{l[0], l[1], l[3], l[4], l[2], l[5]}
			},
			line: 3, seq: 4, problem: ProblemSeqGap,
		},
		{
			name:   "duplicated line",
			tamper: func(l [][]byte) [][]byte { return append(l[:5], l[4:]...) },
			line:   6, seq: 5, problem: ProblemSeqBackwards,
		},
		{
			name:   "old line replayed",
			tamper: func(l [][]byte) [][]byte { return append(l[:6], l[2]) },
			line:   7, seq: 3, problem: ProblemSeqBackwards,
		},
		{
			name:   "torn tail",
			tamper: nil,
			raw:    func(b []byte) []byte { return b[:len(b)-40] },
			line:   10, seq: 0, problem: ProblemTornTail,
		},
		{
			name:   "missing final newline",
			tamper: nil,
			raw:    func(b []byte) []byte { return b[:len(b)-1] },
			line:   10, seq: 10, problem: ProblemTornTail,
		},
		{
			name: "not JSON",
			tamper: func(l [][]byte) [][]byte {
				l[2] = []byte("rm -rf / # was here")
				return l
			},
			line: 3, seq: 0, problem: ProblemNotJSON,
		},
		{
			name: "blank line",
			tamper: func(l [][]byte) [][]byte {
				return append(l[:2], append([][]byte{{}}, l[2:]...)...)
			},
			line: 3, problem: ProblemNotJSON,
		},
		{
			name: "truncated JSON line",
			tamper: func(l [][]byte) [][]byte {
				l[2] = l[2][:len(l[2])-1]
				return l
			},
			line: 3, problem: ProblemNotJSON,
		},
		{
			name: "uppercase hash",
			tamper: func(l [][]byte) [][]byte {
				l[2] = append(l[2][:len(l[2])-66], bytes.ToUpper(l[2][len(l[2])-66:])...)
				return l
			},
			line: 3, seq: 3, problem: ProblemMalformed,
		},
		{
			name: "hash member removed",
			tamper: func(l [][]byte) [][]byte {
				i := bytes.LastIndex(l[2], []byte(`,"hash":`))
				l[2] = append(l[2][:i], '}')
				return l
			},
			line: 3, seq: 3, problem: ProblemMalformed,
		},
		{
			name: "second hash member before the real one",
			tamper: func(l [][]byte) [][]byte {
				l[2] = rehash(bytes.Replace(l[2], []byte(`{"time"`), []byte(`{"hash":"x","time"`), 1))
				return l
			},
			line: 4, seq: 4, problem: ProblemPrevHash,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lines := clone(orig)
			var data []byte
			if tc.tamper != nil {
				data = joinLines(tc.tamper(lines))
			} else {
				data = tc.raw(joinLines(lines))
			}
			_, err := Verify(bytes.NewReader(data))
			var ve *VerifyError
			if !errors.As(err, &ve) {
				t.Fatalf("Verify = %v, want a *VerifyError", err)
			}
			if ve.Line != tc.line || ve.Problem != tc.problem || (tc.seq != 0 && ve.Seq != tc.seq) {
				t.Errorf("got line %d seq %d %q (%v); want line %d seq %d %q", ve.Line, ve.Seq, ve.Problem, err, tc.line, tc.seq, tc.problem)
			}
			if !strings.Contains(err.Error(), string(tc.problem)) {
				t.Errorf("message %q does not name the problem", err)
			}
		})
	}
}

// The chain alone cannot see whole lines cut from the end: this pins the
// documented limitation so that checkpoints (issue 5) are known to be needed.
func TestVerifyTailTruncationNeedsCheckpoints(t *testing.T) {
	_, lines := writeTrail(t, 5)
	sum, err := Verify(bytes.NewReader(joinLines(lines[:3])))
	if err != nil || sum.LastSeq != 3 {
		t.Fatalf("got %+v, %v", sum, err)
	}
}

func TestVerifyFilesAcrossFiles(t *testing.T) {
	_, lines := writeTrail(t, 10)
	dir := t.TempDir()
	a, b, c := filepath.Join(dir, "a.jsonl"), filepath.Join(dir, "b.jsonl"), filepath.Join(dir, "c.jsonl")
	write := func(p string, l [][]byte) {
		if err := os.WriteFile(p, joinLines(l), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(a, lines[:4])
	write(b, lines[4:7])
	write(c, lines[7:])
	sum, err := VerifyFiles(a, b, c)
	if err != nil || sum.Records != 10 || sum.Files != 3 || sum.LastSeq != 10 {
		t.Fatalf("VerifyFiles = %+v, %v", sum, err)
	}

	var ve *VerifyError
	// Files out of order.
	_, err = VerifyFiles(b, a, c)
	if !errors.As(err, &ve) || ve.File != b || ve.Line != 1 || ve.Problem != ProblemBadStart {
		t.Errorf("out of order: %v", err)
	}
	// A missing middle file is a gap at the start of the next file.
	_, err = VerifyFiles(a, c)
	if !errors.As(err, &ve) || ve.File != c || ve.Line != 1 || ve.Problem != ProblemSeqGap || ve.Seq != 8 {
		t.Errorf("missing file: %v", err)
	}
	// Tampering in the second file names that file and its own line number.
	l := clone(lines[4:7])
	l[1] = bytes.Replace(l[1], []byte(`"u6"`), []byte(`"u0"`), 1)
	write(b, l)
	sum, err = VerifyFiles(a, b, c)
	if !errors.As(err, &ve) || ve.File != b || ve.Line != 2 || ve.Seq != 6 || ve.Problem != ProblemHashMismatch {
		t.Errorf("tampered second file: %v", err)
	}
	if sum.Records != 5 || sum.LastSeq != 5 {
		t.Errorf("summary up to the damage: %+v", sum)
	}
	// A torn line inside a rotated trail is damage, not a tail.
	if err := os.WriteFile(b, append(joinLines(lines[4:6]), lines[6][:20]...), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = VerifyFiles(a, b, c)
	if !errors.As(err, &ve) || ve.File != b || ve.Problem != ProblemTornTail {
		t.Errorf("torn middle file: %v", err)
	}
	// Unreadable file.
	_, err = VerifyFiles(a, filepath.Join(dir, "nope"))
	if !errors.As(err, &ve) || ve.Problem != ProblemRead {
		t.Errorf("missing file: %v", err)
	}
}

func TestVerifyLongLine(t *testing.T) {
	_, lines := writeTrail(t, 2)
	long := append([]byte(`{"x":"`), bytes.Repeat([]byte("a"), MaxLineSize+10)...)
	long = append(long, `"}`...)
	_, err := Verify(bytes.NewReader(joinLines([][]byte{lines[0], long, lines[1]})))
	var ve *VerifyError
	if !errors.As(err, &ve) || ve.Line != 2 || ve.Problem != ProblemLineTooLong {
		t.Errorf("got %v", err)
	}
}
