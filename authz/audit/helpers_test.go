package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// faultFile wraps the real file to count calls and inject failures.
type faultFile struct {
	file
	mu          sync.Mutex
	writeErr    error // Write writes half of its input, then fails with it
	syncErr     error
	truncErr    error
	syncDelay   time.Duration
	syncBlock   chan struct{} // Sync waits until it is closed
	syncEntered chan struct{} // receives a value each time Sync starts

	writes atomic.Int64
	syncs  atomic.Int64
}

func (f *faultFile) set(fn func(f *faultFile)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func (f *faultFile) Write(p []byte) (int, error) {
	f.mu.Lock()
	err := f.writeErr
	f.mu.Unlock()
	f.writes.Add(1)
	if err != nil {
		n, _ := f.file.Write(p[:len(p)/2])
		return n, err
	}
	return f.file.Write(p)
}

func (f *faultFile) Sync() error {
	f.mu.Lock()
	err, delay, block, entered := f.syncErr, f.syncDelay, f.syncBlock, f.syncEntered
	f.mu.Unlock()
	f.syncs.Add(1)
	if entered != nil {
		select {
		case entered <- struct{}{}:
		default:
		}
	}
	if block != nil {
		<-block
	}
	if delay > 0 {
		time.Sleep(delay)
	}
	if err != nil {
		return err
	}
	return f.file.Sync()
}

func (f *faultFile) Truncate(n int64) error {
	f.mu.Lock()
	err := f.truncErr
	f.mu.Unlock()
	if err != nil {
		return err
	}
	return f.file.Truncate(n)
}

// quietLogger records messages instead of printing them.
type quietLogger struct {
	mu   sync.Mutex
	msgs []string
}

func (q *quietLogger) Warnf(format string, args ...any) {
	q.add("WARN " + fmt.Sprintf(format, args...))
}
func (q *quietLogger) Errorf(format string, args ...any) {
	q.add("ERROR " + fmt.Sprintf(format, args...))
}
func (q *quietLogger) add(s string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.msgs = append(q.msgs, s)
}
func (q *quietLogger) all() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]string(nil), q.msgs...)
}

var t0 = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

// testClock returns a clock that advances one millisecond per call.
func testClock() func() time.Time {
	var n atomic.Int64
	return func() time.Time { return t0.Add(time.Duration(n.Add(1)) * time.Millisecond) }
}

type testLog struct {
	*Log
	path string
	ff   *faultFile
	lg   *quietLogger
}

// openTest opens a Log on path with a fault-injecting file and a quiet logger.
func openTest(t testing.TB, path string, mod func(*Options)) *testLog {
	t.Helper()
	tl := &testLog{path: path, lg: &quietLogger{}}
	opts := Options{
		Host:        "host1",
		Now:         testClock(),
		SyncTimeout: -1,
		Logger:      tl.lg,
		wrapFile: func(f file) file {
			tl.ff = &faultFile{file: f}
			return tl.ff
		},
	}
	if mod != nil {
		mod(&opts)
	}
	l, err := Open(path, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	tl.Log = l
	return tl
}

func newRec(user string, i int) *Record {
	return &Record{
		ID:       fmt.Sprintf("%s-%d", user, i),
		Stage:    StageRequest,
		User:     user,
		Groups:   []string{"group:developers"},
		Method:   "POST",
		URI:      "/v1.41/containers/create",
		Route:    "container:create",
		Decision: Allow,
		Rules:    []string{"p, group:developers, route, container:create, allow"},
	}
}

func mustWrite(t testing.TB, l *Log, rec *Record) {
	t.Helper()
	if err := l.Write(context.Background(), rec); err != nil {
		t.Fatalf("Write(%s): %v", rec.ID, err)
	}
}

// writeTrail writes n records to a new trail and returns its path and lines.
func writeTrail(t *testing.T, n int) (string, [][]byte) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l := openTest(t, path, nil)
	for i := 1; i <= n; i++ {
		mustWrite(t, l.Log, newRec(fmt.Sprintf("u%d", i), i))
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return path, readLines(t, path)
}

func readLines(t testing.TB, path string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) == 0 {
		return nil
	}
	if b[len(b)-1] != '\n' {
		t.Fatalf("%s does not end with a newline", path)
	}
	return bytes.Split(b[:len(b)-1], []byte("\n"))
}

func joinLines(lines [][]byte) []byte {
	var b bytes.Buffer
	for _, l := range lines {
		b.Write(l)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// rehash recomputes a line's own hash the way a forger would, independently
// of the package's code.
func rehash(line []byte) []byte {
	i := bytes.LastIndex(line, []byte(`"hash":"`))
	content := append(append([]byte(nil), line[:i]...), `"hash":""}`...)
	sum := sha256.Sum256(content)
	return append(append(append([]byte(nil), line[:i]...), `"hash":"`+hex.EncodeToString(sum[:])...), `"}`...)
}

func clone(lines [][]byte) [][]byte {
	out := make([][]byte, len(lines))
	for i, l := range lines {
		out[i] = append([]byte(nil), l...)
	}
	return out
}
