package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestOpenCreatesWithModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "var", "log", "docker-authz")
	path := filepath.Join(dir, "audit.jsonl")
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	l := openTest(t, path, nil)
	defer l.Close()
	for p, want := range map[string]os.FileMode{dir: 0o750 | os.ModeDir, path: 0o640} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", p, fi.Mode(), want)
		}
	}
}

func TestReopenContinuesChain(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	var last *Record
	for round := 0; round < 3; round++ {
		l := openTest(t, path, nil)
		if seq, h := l.Head(); last != nil && (seq != last.Seq || h != last.Hash) {
			t.Fatalf("round %d: Head() = %d %s, want %d %s", round, seq, h, last.Seq, last.Hash)
		}
		for i := 0; i < 4; i++ {
			r := newRec("u", round*4+i)
			mustWrite(t, l.Log, r)
			if last != nil && (r.Seq != last.Seq+1 || r.PrevHash != last.Hash) {
				t.Fatalf("round %d: seq %d prev %s after seq %d hash %s", round, r.Seq, r.PrevHash, last.Seq, last.Hash)
			}
			last = r
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
	sum, err := VerifyFiles(path)
	if err != nil || sum.Records != 12 || sum.LastSeq != 12 || sum.LastHash != last.Hash {
		t.Fatalf("VerifyFiles = %+v, %v", sum, err)
	}
	if n := len(readLines(t, path)); n != 12 {
		t.Errorf("%d lines, want 12", n)
	}
}

func TestOpenRecoversTornTail(t *testing.T) {
	for _, frag := range []string{`{`, `{"time":"20`, `{"time":"2024-05-01T12:00:00Z","v":1,"seq":4,"id":"x","stage":"req`} {
		t.Run(frag, func(t *testing.T) {
			path, lines := writeTrail(t, 3)
			good, _ := os.ReadFile(path)
			appendBytes(t, path, frag)
			l := openTest(t, path, nil)
			msgs := l.lg.all()
			if len(msgs) != 1 || !strings.Contains(msgs[0], "torn") || !strings.HasPrefix(msgs[0], "WARN") {
				t.Errorf("log: %q", msgs)
			}
			if b, _ := os.ReadFile(path); !bytes.Equal(b, good) {
				t.Errorf("torn tail not removed exactly:\n%s", b)
			}
			r := newRec("after", 1)
			mustWrite(t, l.Log, r)
			l.Close()
			if r.Seq != 4 {
				t.Errorf("seq %d after recovery, want 4", r.Seq)
			}
			wantPrev, _, _ := lineHash(lines[2])
			if r.PrevHash != wantPrev {
				t.Errorf("chain not continued")
			}
			if _, err := VerifyFiles(path); err != nil {
				t.Error(err)
			}
		})
	}
	// A trail that is only a torn line becomes empty and starts at seq 1.
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	appendBytes(t, path, `{"time":"2024`)
	l := openTest(t, path, nil)
	r := newRec("a", 1)
	mustWrite(t, l.Log, r)
	l.Close()
	if r.Seq != 1 || r.PrevHash != "" {
		t.Errorf("seq %d prev %q", r.Seq, r.PrevHash)
	}
}

func appendBytes(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

func TestOpenRefusesDamagedTail(t *testing.T) {
	tests := []struct {
		name   string
		damage func(t *testing.T, path string, lines [][]byte)
	}{
		{"edited last line", func(t *testing.T, path string, lines [][]byte) {
			lines[2] = bytes.Replace(lines[2], []byte(`"u3"`), []byte(`"u9"`), 1)
			os.WriteFile(path, joinLines(lines), 0o640)
		}},
		{"last line not JSON", func(t *testing.T, path string, lines [][]byte) {
			appendBytes(t, path, "hello\n")
		}},
		{"last line without hash", func(t *testing.T, path string, lines [][]byte) {
			appendBytes(t, path, `{"time":"2024-05-01T00:00:00Z","seq":4}`+"\n")
		}},
		{"torn tail that is not ours", func(t *testing.T, path string, lines [][]byte) {
			appendBytes(t, path, "garbage without newline")
		}},
		{"not an audit trail at all", func(t *testing.T, path string, lines [][]byte) {
			os.WriteFile(path, []byte("#!/bin/sh\necho hi\n"), 0o640)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path, lines := writeTrail(t, 3)
			tc.damage(t, path, lines)
			before, _ := os.ReadFile(path)
			l, err := Open(path, Options{Logger: &quietLogger{}})
			if err == nil {
				l.Close()
				t.Fatal("Open succeeded on a damaged trail")
			}
			if !strings.Contains(err.Error(), "docker-authz audit verify "+path) || !strings.Contains(err.Error(), "move the file aside") {
				t.Errorf("message does not guide the operator: %v", err)
			}
			if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
				t.Error("Open modified a damaged trail")
			}
		})
	}
}

func TestOpenLocksTrail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l := openTest(t, path, nil)
	if l2, err := Open(path, Options{Logger: &quietLogger{}}); err == nil {
		l2.Close()
		t.Fatal("second Open of the same trail succeeded")
	}
	l.Close()
	l3 := openTest(t, path, nil)
	l3.Close()
}

func TestOpenRejectsShortHMACKey(t *testing.T) {
	if _, err := Open(filepath.Join(t.TempDir(), "a"), Options{HMACKey: []byte("short")}); err == nil {
		t.Fatal("short HMAC key accepted")
	}
}

func TestCloseFlushesAndRefuses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l := openTest(t, path, nil)
	mustWrite(t, l.Log, newRec("a", 1))
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := l.Write(context.Background(), newRec("a", 2)); !errors.Is(err, ErrClosed) {
		t.Errorf("Write after Close = %v, want ErrClosed", err)
	}
	if n := len(readLines(t, path)); n != 1 {
		t.Errorf("%d lines", n)
	}
}

// TestConcurrentGroupCommit: 64 goroutines x 50 writes; every Write succeeds,
// every record is in the file exactly once, seqs are 1..3200 in file order,
// each caller got the seq and hash of its own line, the chain verifies, and
// the writes shared far fewer fsyncs than records.
func TestConcurrentGroupCommit(t *testing.T) {
	const G, N = 64, 50
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l := openTest(t, path, nil)
	l.ff.set(func(f *faultFile) { f.syncDelay = time.Millisecond }) // a disk with a realistic fsync latency

	recs := make([][]*Record, G)
	var wg sync.WaitGroup
	errs := make(chan error, G*N)
	for g := 0; g < G; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < N; i++ {
				r := newRec(fmt.Sprintf("g%d", g), i)
				if err := l.Write(context.Background(), r); err != nil {
					errs <- err
					return
				}
				recs[g] = append(recs[g], r)
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	st := l.Stats()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	lines := readLines(t, path)
	if len(lines) != G*N {
		t.Fatalf("%d lines, want %d", len(lines), G*N)
	}
	bySeq := map[uint64]*Record{}
	for _, rs := range recs {
		for _, r := range rs {
			if bySeq[r.Seq] != nil {
				t.Fatalf("seq %d returned twice", r.Seq)
			}
			bySeq[r.Seq] = r
		}
	}
	for i, line := range lines {
		var got Record
		if err := json.Unmarshal(line, &got); err != nil {
			t.Fatal(err)
		}
		r := bySeq[uint64(i+1)]
		if got.Seq != uint64(i+1) || r == nil || got.ID != r.ID || got.Hash != r.Hash || got.PrevHash != r.PrevHash {
			t.Fatalf("line %d: seq %d id %s; caller saw %+v", i+1, got.Seq, got.ID, r)
		}
	}
	if sum, err := VerifyFiles(path); err != nil || sum.Records != G*N {
		t.Fatalf("verify: %+v %v", sum, err)
	}
	syncs := l.ff.syncs.Load()
	t.Logf("%d records, %d write calls, %d fsyncs (%.1f records per fsync); stats %+v",
		G*N, l.ff.writes.Load(), syncs, float64(G*N)/float64(syncs-1), st)
	// One fsync per batch plus the one at Close.
	if syncs-1 != int64(st.Batches) || st.Records != G*N {
		t.Errorf("stats %+v disagree with %d fsyncs", st, syncs)
	}
	if syncs*4 > G*N {
		t.Errorf("%d fsyncs for %d records: no group commit", syncs, G*N)
	}
}

// TestConcurrentRealFile runs the same load on the real file without any
// injected latency, to catch races the slow fake might hide.
func TestConcurrentRealFile(t *testing.T) {
	const G, N = 64, 50
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l, err := Open(path, Options{Host: "h", Logger: &quietLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	seen := map[uint64]bool{}
	for g := 0; g < G; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < N; i++ {
				r := newRec(fmt.Sprintf("g%d", g), i)
				if err := l.Write(context.Background(), r); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if seen[r.Seq] {
					t.Errorf("seq %d twice", r.Seq)
				}
				seen[r.Seq] = true
				mu.Unlock()
			}
		}(g)
	}
	wg.Wait()
	st := l.Stats()
	l.Close()
	if sum, err := VerifyFiles(path); err != nil || sum.Records != G*N || sum.LastSeq != G*N || len(seen) != G*N {
		t.Fatalf("verify: %+v %v (%d seqs)", sum, err, len(seen))
	}
	t.Logf("real file: %d records in %d fsyncs", st.Records, st.Syncs)
	if st.Syncs >= G*N {
		t.Errorf("no group commit: %d fsyncs", st.Syncs)
	}
}

func TestFaultWriteAndSync(t *testing.T) {
	enospc := &os.PathError{Op: "write", Path: "audit.jsonl", Err: syscall.ENOSPC}
	tests := []struct {
		name   string
		inject func(f *faultFile, on bool)
		want   string
	}{
		{"disk full mid-write", func(f *faultFile, on bool) {
			f.writeErr = nil
			if on {
				f.writeErr = enospc
			}
		}, "no space left"},
		{"fsync fails", func(f *faultFile, on bool) {
			f.syncErr = nil
			if on {
				f.syncErr = syscall.EIO
			}
		}, "fsync"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "audit.jsonl")
			l := openTest(t, path, nil)
			for i := 1; i <= 3; i++ {
				mustWrite(t, l.Log, newRec("ok", i))
			}
			good, _ := os.ReadFile(path)
			l.ff.set(func(f *faultFile) { tc.inject(f, true) })
			for i := 0; i < 3; i++ {
				r := newRec("failed", i)
				err := l.Write(context.Background(), r)
				if err == nil || !strings.Contains(err.Error(), tc.want) || errors.Is(err, ErrMaybeWritten) {
					t.Fatalf("Write during fault = %v", err)
				}
				if r.Seq != 0 || r.Hash != "" {
					t.Errorf("failed record got seq %d", r.Seq)
				}
				if b, _ := os.ReadFile(path); !bytes.Equal(b, good) {
					t.Fatalf("failed write left bytes in the trail:\n%s", b[len(good):])
				}
			}
			if msgs := l.lg.all(); len(msgs) != 1 || !strings.HasPrefix(msgs[0], "ERROR") || !strings.Contains(msgs[0], "denied") {
				t.Errorf("operator log: %q", msgs)
			}
			l.ff.set(func(f *faultFile) { tc.inject(f, false) })
			for i := 4; i <= 6; i++ {
				r := newRec("ok", i)
				mustWrite(t, l.Log, r)
				if r.Seq != uint64(i) {
					t.Errorf("seq %d after recovery, want %d", r.Seq, i)
				}
			}
			if msgs := l.lg.all(); len(msgs) != 2 || !strings.Contains(msgs[1], "writable again") {
				t.Errorf("operator log: %q", msgs)
			}
			st := l.Stats()
			if st.Records != 6 || st.FailedRecords != 3 || st.FailedBatches != 3 {
				t.Errorf("stats %+v", st)
			}
			l.Close()
			sum, err := VerifyFiles(path)
			if err != nil || sum.Records != 6 {
				t.Fatalf("verify: %+v %v", sum, err)
			}
			if b, _ := os.ReadFile(path); bytes.Contains(b, []byte("failed")) {
				t.Error("a failed record reached the trail")
			}
		})
	}
}

// TestFaultTruncateFails: the write fails and so does the truncation that
// should remove it. Nothing more may be appended behind the garbage until the
// truncation succeeds.
func TestFaultTruncateFails(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l := openTest(t, path, nil)
	mustWrite(t, l.Log, newRec("ok", 1))
	good, _ := os.ReadFile(path)
	l.ff.set(func(f *faultFile) { f.writeErr = syscall.EIO; f.truncErr = syscall.EROFS })
	if err := l.Write(context.Background(), newRec("failed", 1)); err == nil || !strings.Contains(err.Error(), "cannot remove") {
		t.Fatalf("Write = %v", err)
	}
	// The disk takes writes again but the truncation still fails: refuse
	// without writing anything.
	l.ff.set(func(f *faultFile) { f.writeErr = nil })
	writes := l.ff.writes.Load()
	if err := l.Write(context.Background(), newRec("failed", 2)); err == nil {
		t.Fatal("Write succeeded behind an unremoved failed write")
	}
	if l.ff.writes.Load() != writes {
		t.Error("the Log appended behind a failed write")
	}
	l.ff.set(func(f *faultFile) { f.truncErr = nil })
	r := newRec("ok", 2)
	mustWrite(t, l.Log, r)
	if r.Seq != 2 {
		t.Errorf("seq %d", r.Seq)
	}
	l.Close()
	b, _ := os.ReadFile(path)
	if !bytes.HasPrefix(b, good) || bytes.Contains(b, []byte("failed")) {
		t.Errorf("trail:\n%s", b)
	}
	if _, err := VerifyFiles(path); err != nil {
		t.Fatal(err)
	}
}

// TestFaultConcurrent: many writers while the disk fails on and off. Every
// Write that returned nil has exactly one record in the trail, every Write
// that failed has none, and the chain verifies.
func TestFaultConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l := openTest(t, path, nil)
	stop := make(chan struct{})
	flipped := make(chan struct{})
	go func() {
		defer close(flipped)
		rng := rand.New(rand.NewSource(1))
		for {
			select {
			case <-stop:
				l.ff.set(func(f *faultFile) { f.writeErr, f.syncErr = nil, nil })
				return
			case <-time.After(time.Duration(rng.Intn(300)) * time.Microsecond):
			}
			mode := rng.Intn(3)
			l.ff.set(func(f *faultFile) {
				f.writeErr, f.syncErr = nil, nil
				switch mode {
				case 1:
					f.writeErr = syscall.ENOSPC
				case 2:
					f.syncErr = syscall.EIO
				}
			})
		}
	}()
	const G, N = 32, 60
	var mu sync.Mutex
	ok, failed := map[string]bool{}, map[string]bool{}
	var wg sync.WaitGroup
	for g := 0; g < G; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < N; i++ {
				r := newRec(fmt.Sprintf("g%d", g), i)
				err := l.Write(context.Background(), r)
				mu.Lock()
				if err == nil {
					ok[r.ID] = true
				} else {
					failed[r.ID] = true
				}
				mu.Unlock()
			}
		}(g)
	}
	wg.Wait()
	close(stop)
	<-flipped
	mustWrite(t, l.Log, newRec("final", 0))
	l.Close()
	ok["final-0"] = true

	if len(ok) < 10 || len(failed) < 10 {
		t.Fatalf("fault injection ineffective: %d ok, %d failed", len(ok), len(failed))
	}
	if _, err := VerifyFiles(path); err != nil {
		t.Fatal(err)
	}
	inFile := map[string]int{}
	for _, line := range readLines(t, path) {
		var r Record
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatal(err)
		}
		inFile[r.ID]++
	}
	for id := range ok {
		if inFile[id] != 1 {
			t.Errorf("acknowledged record %s appears %d times", id, inFile[id])
		}
	}
	for id := range failed {
		if inFile[id] != 0 {
			t.Errorf("failed record %s is in the trail", id)
		}
	}
	if len(inFile) != len(ok) {
		t.Errorf("%d records in the file, %d acknowledged", len(inFile), len(ok))
	}
	t.Logf("%d acknowledged, %d refused", len(ok), len(failed))
}

// TestWriteDeadline: a Write whose deadline expires before durability fails.
// A record still queued when its deadline expires is never written; one
// already being written is reported with ErrMaybeWritten.
func TestWriteDeadline(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l := openTest(t, path, nil)
	block := make(chan struct{})
	entered := make(chan struct{}, 1)
	l.ff.set(func(f *faultFile) { f.syncBlock, f.syncEntered = block, entered })

	errA := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		errA <- l.Write(ctx, newRec("A", 1))
	}()
	<-entered // A is in fsync, which hangs

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	start := time.Now()
	errB := l.Write(ctx, newRec("B", 1))
	cancel()
	if !errors.Is(errB, context.DeadlineExceeded) || errors.Is(errB, ErrMaybeWritten) {
		t.Errorf("queued Write = %v", errB)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Write took %v despite its deadline", d)
	}
	if err := <-errA; !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, ErrMaybeWritten) {
		t.Errorf("in-flight Write = %v", err)
	}
	// Already expired: never even queued.
	dead, cancel2 := context.WithCancel(context.Background())
	cancel2()
	if err := l.Write(dead, newRec("C", 1)); !errors.Is(err, context.Canceled) {
		t.Errorf("Write with a dead context = %v", err)
	}

	l.ff.set(func(f *faultFile) { f.syncBlock = nil })
	close(block)
	d := newRec("D", 1)
	mustWrite(t, l.Log, d)
	l.Close()
	if d.Seq != 2 {
		t.Errorf("D has seq %d, want 2 (A written, B and C never)", d.Seq)
	}
	b, _ := os.ReadFile(path)
	if !bytes.Contains(b, []byte(`"id":"A-1"`)) || bytes.Contains(b, []byte(`"id":"B-1"`)) || bytes.Contains(b, []byte(`"id":"C-1"`)) {
		t.Errorf("trail:\n%s", b)
	}
	if _, err := VerifyFiles(path); err != nil {
		t.Fatal(err)
	}
}

func TestSyncTimeoutOption(t *testing.T) {
	l := openTest(t, filepath.Join(t.TempDir(), "a.jsonl"), func(o *Options) { o.SyncTimeout = 30 * time.Millisecond })
	block := make(chan struct{})
	l.ff.set(func(f *faultFile) { f.syncBlock = block })
	err := l.Write(context.Background(), newRec("a", 1))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Write = %v", err)
	}
	l.ff.set(func(f *faultFile) { f.syncBlock = nil })
	close(block)
	l.Close()
}

// TestCloseDuringWrites: Writes racing with Close either succeed, with their
// record in the trail, or fail with ErrClosed, with no record.
func TestCloseDuringWrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l := openTest(t, path, nil)
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := map[string]bool{}
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; ; i++ {
				r := newRec(fmt.Sprintf("g%d", g), i)
				err := l.Write(context.Background(), r)
				if err != nil {
					if !errors.Is(err, ErrClosed) {
						t.Errorf("Write = %v, want ErrClosed", err)
					}
					return
				}
				mu.Lock()
				ok[r.ID] = true
				mu.Unlock()
			}
		}(g)
	}
	time.Sleep(20 * time.Millisecond)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	lines := readLines(t, path)
	if len(lines) != len(ok) {
		t.Errorf("%d lines, %d acknowledged writes", len(lines), len(ok))
	}
	for _, line := range lines {
		var r Record
		if err := json.Unmarshal(line, &r); err != nil || !ok[r.ID] {
			t.Errorf("unacknowledged record in the trail: %s", line)
		}
	}
	if _, err := VerifyFiles(path); err != nil {
		t.Fatal(err)
	}
}
