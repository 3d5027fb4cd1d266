package audit

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// rotatedTrail writes n records with MaxSize small enough to rotate every
// few records, with a signer, and closes the Log.
func rotatedTrail(t *testing.T, n, maxFiles int) (string, *Signer, []byte) {
	t.Helper()
	signer, pub := testSigner(t)
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l := openTest(t, path, func(o *Options) {
		o.Signer, o.CheckpointEvery, o.CheckpointInterval = signer, -1, -1
		o.MaxSize, o.MaxFiles = 2000, maxFiles
	})
	for i := 1; i <= n; i++ {
		mustWrite(t, l.Log, newRec(fmt.Sprintf("u%d", i), i))
	}
	st := l.Stats()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if st.Rotations == 0 {
		t.Fatalf("no rotation: %+v", st)
	}
	return path, signer, pub
}

func TestRotation(t *testing.T) {
	path, _, pub := rotatedTrail(t, 40, 0)
	rotated, err := RotatedFiles(path)
	if err != nil || len(rotated) < 3 {
		t.Fatalf("rotated files %v, %v", rotated, err)
	}
	all, _ := TrailFiles(path)
	if len(all) != len(rotated)+1 || all[len(all)-1] != path {
		t.Fatalf("TrailFiles %v", all)
	}
	var prevLast Record
	for i, f := range all {
		fi, _ := os.Stat(f)
		if f != path && fi.Size() > 2000 {
			t.Errorf("%s is %d bytes, MaxSize 2000", f, fi.Size())
		}
		lines := readLines(t, f)
		first, last := decode(t, lines[0]), decode(t, lines[len(lines)-1])
		if f != path {
			if want := RotatedName(path, first.Seq); f != want {
				t.Errorf("rotated file %s, want %s (named after its first seq)", f, want)
			}
			if last.Stage != StageCheckpoint || last.Checkpoint.Reason != CheckpointRotation {
				t.Errorf("%s does not end with a rotation checkpoint: %s", f, lines[len(lines)-1])
			}
		} else if last.Checkpoint == nil || last.Checkpoint.Reason != CheckpointShutdown {
			t.Errorf("current file does not end with the shutdown checkpoint")
		}
		if i > 0 && (first.Seq != prevLast.Seq+1 || first.PrevHash != prevLast.Hash) {
			t.Errorf("%s starts at seq %d prev %s; previous file ended at %d %s", f, first.Seq, first.PrevHash, prevLast.Seq, prevLast.Hash)
		}
		prevLast = last
	}
	// Any order, verified as one trail.
	shuffled := append([]string{all[len(all)-1]}, all[:len(all)-1]...)
	shuffled[1], shuffled[2] = shuffled[2], shuffled[1]
	sum, err := VerifyTrail(VerifyOptions{PublicKey: pub}, append(shuffled, all[0])...)
	if err != nil || sum.Files != len(all) || sum.FirstSeq != 1 || sum.Unsealed != 0 || sum.Records != int(prevLast.Seq) {
		t.Fatalf("VerifyTrail: %+v, %v", sum, err)
	}
	// A missing file in the middle is named as such.
	missing := append(append([]string(nil), all[:1]...), all[2:]...)
	_, err = VerifyTrail(VerifyOptions{PublicKey: pub}, missing...)
	var ve *VerifyError
	if !errors.As(err, &ve) || ve.Problem != ProblemSeqGap || ve.File != all[2] || ve.Line != 1 || !strings.Contains(ve.Detail, "rotated file") {
		t.Errorf("missing middle file: %v", err)
	}
	// Without the oldest file: a partial start, accepted only when asked.
	_, err = VerifyTrail(VerifyOptions{PublicKey: pub}, all[1:]...)
	if !errors.As(err, &ve) || ve.Problem != ProblemBadStart {
		t.Errorf("partial start, strict: %v", err)
	}
	sum, err = VerifyTrail(VerifyOptions{PublicKey: pub, AllowPartialStart: true}, all[1:]...)
	if err != nil || sum.FirstSeq <= 1 {
		t.Errorf("partial start allowed: %+v %v", sum, err)
	}
}

func TestRotationRetention(t *testing.T) {
	path, _, pub := rotatedTrail(t, 60, 2)
	rotated, _ := RotatedFiles(path)
	if len(rotated) != 2 {
		t.Fatalf("%d rotated files kept, want 2: %v", len(rotated), rotated)
	}
	all, _ := TrailFiles(path)
	sum, err := VerifyTrail(VerifyOptions{PublicKey: pub, AllowPartialStart: true}, all...)
	if err != nil || sum.FirstSeq <= 1 || sum.Unsealed != 0 {
		t.Fatalf("%+v %v", sum, err)
	}
}

// TestRotationRestart: the chain continues across restarts, also when the
// plugin stopped right after renaming the file (no current file), and a torn
// line is removed; nothing is lost or duplicated.
func TestRotationRestart(t *testing.T) {
	signer, pub := testSigner(t)
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	opts := func(o *Options) {
		o.Signer, o.CheckpointEvery, o.CheckpointInterval = signer, -1, -1
		o.MaxSize = 3000
	}
	ids := map[string]bool{}
	n := 0
	write := func(l *testLog, k int) {
		for i := 0; i < k; i++ {
			n++
			r := newRec("u", n)
			mustWrite(t, l.Log, r)
			ids[r.ID] = true
		}
	}
	l := openTest(t, path, opts)
	write(l, 25)
	l.Close()

	l = openTest(t, path, opts)
	write(l, 25)
	l.Close()

	// A crash between rename and create: the current file is gone.
	seq, _ := readFirstSeq(mustOpen(t, path))
	if err := os.Rename(path, RotatedName(path, seq)); err != nil {
		t.Fatal(err)
	}
	l = openTest(t, path, opts)
	write(l, 10)
	l.Close()

	// A crash in the middle of a write: a torn line.
	appendBytes(t, path, `{"time":"2024-05-01T12:00:00Z","v":1,"se`)
	l = openTest(t, path, opts)
	if msgs := l.lg.all(); len(msgs) != 1 || !strings.Contains(msgs[0], "torn") {
		t.Errorf("log %q", msgs)
	}
	write(l, 10)
	l.Close()

	all, _ := TrailFiles(path)
	sum, err := VerifyTrail(VerifyOptions{PublicKey: pub}, all...)
	if err != nil || sum.FirstSeq != 1 || sum.Unsealed != 0 {
		t.Fatalf("verify: %+v %v", sum, err)
	}
	seen := 0
	for _, f := range all {
		for _, line := range readLines(t, f) {
			r := decode(t, line)
			if r.Stage == StageCheckpoint {
				continue
			}
			if !ids[r.ID] {
				t.Errorf("record %s twice or unknown", r.ID)
			}
			delete(ids, r.ID)
			seen++
		}
	}
	if seen != n || len(ids) != 0 {
		t.Errorf("%d records in the trail, %d written, %d missing", seen, n, len(ids))
	}
}

func mustOpen(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}
