package audit

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultSyncTimeout bounds how long Write waits for durability when
// Options.SyncTimeout is zero.
const DefaultSyncTimeout = 5 * time.Second

// Checkpoint defaults, used when a Signer is set.
const (
	DefaultCheckpointEvery    = 1000
	DefaultCheckpointInterval = time.Minute
)

// rotateRetry is how long the Log waits before retrying a rotation that
// failed (the trail keeps growing in the same file meanwhile).
const rotateRetry = time.Minute

const (
	maxBatch      = 1024    // records per write+fsync
	maxBatchBytes = 4 << 20 // bytes per write+fsync (a single record may exceed it)
	queueSize     = 1024
)

// Errors returned by Write.
var (
	// ErrClosed: the Log is closed; the record was not written.
	ErrClosed = errors.New("audit: log is closed")
	// ErrMaybeWritten is wrapped by a Write error when the deadline expired
	// after the record had been handed to the disk: it may still reach the
	// trail although Write failed (see the package documentation).
	ErrMaybeWritten = errors.New("audit: record may still reach the trail")
)

// Logger receives the Log's operational messages. *logrus.Logger and
// *logrus.Entry satisfy it.
type Logger interface {
	Warnf(format string, args ...any)
	Errorf(format string, args ...any)
}

// Options configure a Log. The zero value is usable.
type Options struct {
	// Host is written into every record that has no Host; "" means os.Hostname().
	Host string
	// Now is the clock used for records without a Time; nil means time.Now.
	Now func() time.Time
	// SyncTimeout bounds each Write in addition to its context: 0 means
	// DefaultSyncTimeout, negative means only the context bounds it.
	SyncTimeout time.Duration
	// HMACKey, when set (at least MinHMACKeySize bytes), makes redacted
	// values "hmac-sha256:<hex>" instead of Redacted.
	HMACKey []byte
	// Logger gets warnings (torn tail removed) and errors (trail not
	// writable); nil means log/slog's default logger.
	Logger Logger
	// Forwarders get every record's line after it is durable (see Forwarder).
	Forwarders []Forwarder

	// Signer, when set, makes the Log seal the chain with signed checkpoint
	// records: every CheckpointEvery records, when CheckpointInterval passed
	// with unsealed records, as the last line of a file before it is
	// rotated, and at Close. Without a Signer no checkpoint is written and
	// `audit verify` reports the trail as unsigned.
	Signer *Signer
	// CheckpointEvery is the number of records after which a checkpoint is
	// written: 0 means DefaultCheckpointEvery, negative means never by count.
	CheckpointEvery int
	// CheckpointInterval seals records that waited this long: 0 means
	// DefaultCheckpointInterval, negative means never by time.
	CheckpointInterval time.Duration

	// MaxSize rotates the trail before a write would make the file larger
	// than this many bytes: the file is renamed to RotatedName(path, its
	// first seq) and a new file continues the chain. 0 means never rotate.
	MaxSize int64
	// MaxFiles is how many rotated files are kept; older ones are removed
	// after a rotation. 0 means keep them all.
	MaxFiles int

	// wrapFile lets tests inject faults and count syncs.
	wrapFile func(file) file
}

// file is what the Log needs from its open file.
type file interface {
	io.Writer
	Sync() error
	Truncate(size int64) error
	Close() error
}

// Stats are counters since Open.
type Stats struct {
	Records       uint64 // records made durable
	Batches       uint64 // successful write+fsync rounds (group commits)
	Syncs         uint64 // fsync calls made, successful or not
	Checkpoints   uint64 // checkpoint records made durable
	Rotations     uint64 // files rotated
	FailedBatches uint64 // rounds whose write or fsync failed
	FailedRecords uint64 // records refused because of those failures
}

// Log is an append-only, hash-chained, durable audit trail file. It is safe
// for concurrent use.
type Log struct {
	path        string
	osf         *os.File
	f           file
	host        string
	now         func() time.Time
	syncTimeout time.Duration
	redactor    *Redactor
	logger      Logger
	forwarders  []Forwarder
	signer      *Signer
	cpEvery     int
	cpInterval  time.Duration
	maxSize     int64
	maxFiles    int
	wrapFile    func(file) file

	queue     chan *pending
	closing   chan struct{}
	stopped   chan struct{}
	closeOnce sync.Once
	closeErr  error

	// Owned by the writer goroutine (and by Close after it stopped).
	seq       uint64
	hash      string
	off       int64 // end of the last durable record
	dirty     error // set when a failed batch could not be cut off the file
	buf       []byte
	results   []result // of the batch being committed
	failRun   int
	lastNoise time.Time
	sinceCP   int       // records written since the last checkpoint
	lastCP    time.Time // when the last checkpoint was written (or Open)
	lastIsCP  bool      // the last line of the current file is a checkpoint
	fileFirst uint64    // seq of the first record of the current file; 0 when empty
	rotateAt  time.Time // no rotation attempt before this time (after a failure)
	cpLen     int64     // cached cpSize

	mu       sync.Mutex // guards the copies below
	headSeq  uint64
	headHash string
	stats    Stats
}

const (
	stateQueued int32 = iota
	stateTaken
	stateAbandoned
)

type pending struct {
	t     template
	state atomic.Int32
	done  chan result // buffered: the writer never blocks on it
	timer *time.Timer // the Write's SyncTimeout, nil until first needed
}

// pendingPool recycles a pending, with its channel, timer and template
// buffer, once its Write has received the writer's result: the writer never
// touches a pending after sending it its result. A pending whose Write gave
// up (deadline, Close) may still be held by the writer and is left to the GC.
var pendingPool = sync.Pool{New: func() any { return &pending{done: make(chan result, 1)} }}

// maxPooledTemplate bounds the template buffer a pooled pending keeps.
const maxPooledTemplate = 64 << 10

// getPending returns a pending in stateQueued with an empty done channel.
func getPending() *pending {
	p := pendingPool.Get().(*pending)
	p.state.Store(stateQueued)
	return p
}

// putPending returns p to the pool. Only the Write that owns p calls it,
// when no one else holds p: before queueing it, or after receiving its result.
func putPending(p *pending) {
	if p.timer != nil && !p.timer.Stop() {
		select { // a fired timer's value, when nobody received it
		case <-p.timer.C:
		default:
		}
	}
	b := p.t.b[:0]
	if cap(b) > maxPooledTemplate {
		b = nil
	}
	p.t = template{b: b}
	pendingPool.Put(p)
}

// arm starts p's timer for d and returns its channel.
func (p *pending) arm(d time.Duration) <-chan time.Time {
	if p.timer == nil {
		p.timer = time.NewTimer(d)
	} else {
		p.timer.Reset(d)
	}
	return p.timer.C
}

type result struct {
	seq        uint64
	prev, hash string
	err        error
}

// Open opens the trail at path for appending, creating its directory (0750)
// and the file (0640) when needed, and continues an existing trail: the seq
// and chain go on from its last record. A torn last line (no newline: a write
// cut by a crash, never acknowledged) is removed with a warning. If the last
// complete line is not a valid record, Open fails and nothing is written.
// The file is locked (flock) so two processes never append to one trail.
func Open(path string, opts Options) (*Log, error) {
	if path == "" {
		return nil, errors.New("audit: no audit log path")
	}
	if len(opts.HMACKey) > 0 && len(opts.HMACKey) < MinHMACKeySize {
		return nil, fmt.Errorf("audit: HMAC key is %d bytes, at least %d are needed", len(opts.HMACKey), MinHMACKeySize)
	}
	l := &Log{
		path:        path,
		host:        opts.Host,
		now:         opts.Now,
		syncTimeout: opts.SyncTimeout,
		redactor:    NewRedactor(opts.HMACKey),
		logger:      opts.Logger,
		forwarders:  append([]Forwarder(nil), opts.Forwarders...),
		signer:      opts.Signer,
		cpEvery:     opts.CheckpointEvery,
		cpInterval:  opts.CheckpointInterval,
		maxSize:     opts.MaxSize,
		maxFiles:    opts.MaxFiles,
		wrapFile:    opts.wrapFile,
		queue:       make(chan *pending, queueSize),
		closing:     make(chan struct{}),
		stopped:     make(chan struct{}),
	}
	if l.host == "" {
		l.host, _ = os.Hostname()
	}
	if l.now == nil {
		l.now = time.Now
	}
	if l.syncTimeout == 0 {
		l.syncTimeout = DefaultSyncTimeout
	}
	if l.logger == nil {
		l.logger = slogLogger{slog.Default()}
	}
	if l.cpEvery == 0 {
		l.cpEvery = DefaultCheckpointEvery
	}
	if l.cpInterval == 0 {
		l.cpInterval = DefaultCheckpointInterval
	}
	if opts.MaxSize < 0 || opts.MaxFiles < 0 {
		return nil, errors.New("audit: MaxSize and MaxFiles must not be negative")
	}

	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("audit: creating directory for the audit log: %w", err)
	}
	_, statErr := os.Lstat(path)
	created := errors.Is(statErr, os.ErrNotExist)
	osf, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return nil, fmt.Errorf("audit: opening the audit log: %w", err)
	}
	fail := func(err error) (*Log, error) {
		osf.Close()
		return nil, err
	}
	if err := lockFile(osf); err != nil {
		return fail(fmt.Errorf("audit: %s is in use by another process (another docker-authz?): %w", path, err))
	}
	fi, err := osf.Stat()
	if err != nil {
		return fail(fmt.Errorf("audit: %w", err))
	}
	if !fi.Mode().IsRegular() {
		return fail(fmt.Errorf("audit: %s is not a regular file", path))
	}
	if fi.Mode().Perm()&0o007 != 0 {
		l.logger.Warnf("audit: %s is accessible to all users (mode %v); it should be 0640 or stricter", path, fi.Mode().Perm())
	}
	if created {
		syncDir(dir) // make the new file's directory entry durable
	}
	seq, hash, off, lastIsCP, err := recoverTail(osf, fi.Size(), path, l.logger)
	if err != nil {
		return fail(err)
	}
	if off > 0 {
		if l.fileFirst, err = firstSeq(osf, path); err != nil {
			return fail(err)
		}
	} else if seq, hash, lastIsCP, err = continueFromRotated(path, l.logger); err != nil {
		// An empty current file after a rotation (or a crash in the middle
		// of one): the chain goes on from the newest rotated file.
		return fail(err)
	}
	l.osf = osf
	l.f = l.wrap(osf)
	l.seq, l.hash, l.off = seq, hash, off
	l.headSeq, l.headHash = seq, hash
	l.lastIsCP = lastIsCP
	if seq > 0 && !lastIsCP {
		l.sinceCP = 1 // at least one record is not sealed yet
	}
	l.lastCP = time.Now()
	go l.run()
	return l, nil
}

func (l *Log) wrap(f *os.File) file {
	if l.wrapFile != nil {
		return l.wrapFile(f)
	}
	return f
}

// firstSeq reads the seq of the first line of a non-empty trail file.
func firstSeq(f *os.File, path string) (uint64, error) {
	seq, err := readFirstSeq(io.NewSectionReader(f, 0, 1<<62))
	if err != nil {
		return 0, fmt.Errorf("audit: %s: its first line is unreadable (%v); the trail may be damaged or tampered with: run `docker-authz audit verify %s`, then move the file aside to start a new trail", path, err, path)
	}
	return seq, nil
}

// continueFromRotated returns the chain head at the end of the newest
// rotated file of path, if there is one.
func continueFromRotated(path string, logger Logger) (uint64, string, bool, error) {
	rotated, err := RotatedFiles(path)
	if err != nil || len(rotated) == 0 {
		return 0, "", false, err
	}
	last := rotated[len(rotated)-1]
	f, err := os.Open(last)
	if err != nil {
		return 0, "", false, fmt.Errorf("audit: reading the last rotated file to continue the chain: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, "", false, fmt.Errorf("audit: %w", err)
	}
	// A rotated file always ends with a complete, fsynced line: a torn tail
	// here cannot be removed (the file is opened read-only) and fails Open.
	seq, hash, _, isCP, err := recoverTail(f, fi.Size(), last, logger)
	return seq, hash, isCP, err
}

// recoverTail finds the chain head at the end of an existing trail, cutting
// off a torn last line.
func recoverTail(f *os.File, size int64, path string, logger Logger) (uint64, string, int64, bool, error) {
	damaged := func(format string, args ...any) error {
		return fmt.Errorf("audit: %s: %s; the trail may be damaged or tampered with: run `docker-authz audit verify %s`, then move the file aside to start a new trail",
			path, fmt.Sprintf(format, args...), path)
	}
	if size == 0 {
		return 0, "", 0, false, nil
	}
	var last [1]byte
	if _, err := f.ReadAt(last[:], size-1); err != nil {
		return 0, "", 0, false, fmt.Errorf("audit: reading %s: %w", path, err)
	}
	if last[0] != '\n' {
		nl, err := lastNewline(f, size, MaxLineSize)
		if err != nil {
			return 0, "", 0, false, damaged("it ends with an incomplete line: %v", err)
		}
		cut := nl + 1
		frag := make([]byte, size-cut)
		if _, err := f.ReadAt(frag, cut); err != nil {
			return 0, "", 0, false, fmt.Errorf("audit: reading %s: %w", path, err)
		}
		if !plausibleTorn(frag) {
			return 0, "", 0, false, damaged("it ends with %d bytes without a newline that are not the start of a record", len(frag))
		}
		if err := f.Truncate(cut); err != nil {
			return 0, "", 0, false, fmt.Errorf("audit: removing the torn last line of %s: %w", path, err)
		}
		if err := f.Sync(); err != nil {
			return 0, "", 0, false, fmt.Errorf("audit: removing the torn last line of %s: %w", path, err)
		}
		logger.Warnf("audit: %s ended with a torn line (%d bytes at offset %d, from a write interrupted by a crash; it was never acknowledged): removed it", path, len(frag), cut)
		size = cut
		if size == 0 {
			return 0, "", 0, false, nil
		}
	}
	nl, err := lastNewline(f, size-1, MaxLineSize)
	if err != nil {
		return 0, "", 0, false, damaged("its last line is unreadable: %v", err)
	}
	line := make([]byte, size-1-(nl+1))
	if _, err := f.ReadAt(line, nl+1); err != nil {
		return 0, "", 0, false, fmt.Errorf("audit: reading %s: %w", path, err)
	}
	info, p, detail := parseLine(line)
	if p != "" {
		return 0, "", 0, false, damaged("its last record (at byte %d) is invalid: %s: %s", nl+1, p, detail)
	}
	if info.Seq == 0 {
		return 0, "", 0, false, damaged("its last record (at byte %d) has seq 0", nl+1)
	}
	return info.Seq, info.Hash, size, info.Stage == StageCheckpoint, nil
}

// lastNewline returns the offset of the last '\n' before end, or -1 if there
// is none, looking back at most limit+1 bytes.
func lastNewline(r io.ReaderAt, end, limit int64) (int64, error) {
	const chunk = 64 << 10
	buf := make([]byte, chunk)
	pos := end
	for pos > 0 {
		if end-pos > limit {
			return 0, fmt.Errorf("line longer than %d bytes", limit)
		}
		n := min(int64(chunk), pos)
		start := pos - n
		if _, err := r.ReadAt(buf[:n], start); err != nil && !(errors.Is(err, io.EOF)) {
			return 0, err
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			return start + int64(i), nil
		}
		pos = start
	}
	return -1, nil
}

// plausibleTorn reports whether frag can be the beginning of a line written
// by this package, which always starts with `{"time":"`.
func plausibleTorn(frag []byte) bool {
	const start = `{"time":"`
	if len(frag) <= len(start) {
		return bytes.HasPrefix([]byte(start), frag)
	}
	return bytes.HasPrefix(frag, []byte(start))
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // best effort: some file systems refuse to sync directories
		d.Close()
	}
}

// Path returns the trail's file name.
func (l *Log) Path() string { return l.path }

// Head returns the seq and hash of the last durable record (0 and "" for an
// empty trail): the chain head a checkpoint signs.
func (l *Log) Head() (seq uint64, hash string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.headSeq, l.headHash
}

// Stats returns the counters since Open.
func (l *Log) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stats
}

// Redactor returns the Log's Redactor (with its HMAC key), for redacting
// what Write does not redact itself: Record.Body (Redactor.Body).
func (l *Log) Redactor() *Redactor { return l.redactor }

// RedactHeaders redacts headers with the Log's HMAC key (see Redactor.Headers).
func (l *Log) RedactHeaders(h map[string]string) map[string]string {
	return l.redactor.Headers(h)
}

// Write appends rec to the trail and returns nil only once its line is on
// disk (written and fsynced). It sets rec.V, fills rec.Time (UTC; times
// given are converted to UTC), rec.Host and rec.ID when empty, redacts
// rec.Headers and rec.URI, and, on success, sets rec.Seq, rec.PrevHash and
// rec.Hash. Concurrent Writes share one write and fsync.
//
// Write fails, and the caller must deny, when ctx or SyncTimeout expires
// first, when the disk refuses the write or the fsync, or after Close. A
// failed Write never leaves a partial line in the file; a record refused by
// the disk is never written; only when the deadline expires while the record
// is already being written can it still reach the trail, and the error then
// wraps ErrMaybeWritten.
func (l *Log) Write(ctx context.Context, rec *Record) error {
	if rec == nil {
		return errors.New("audit: nil record")
	}
	select {
	case <-l.closing:
		return ErrClosed
	default:
	}
	if rec.Stage != StageRequest && rec.Stage != StageResponse {
		return fmt.Errorf("audit: record stage %q is not %q or %q", rec.Stage, StageRequest, StageResponse)
	}
	if rec.Decision != Allow && rec.Decision != Deny {
		return fmt.Errorf("audit: record decision %q is not %q or %q", rec.Decision, Allow, Deny)
	}
	rec.V = SchemaVersion
	rec.Seq, rec.PrevHash, rec.Hash = 0, "", ""
	if rec.Time.IsZero() {
		rec.Time = l.now()
	}
	rec.Time = rec.Time.UTC()
	if rec.Host == "" {
		rec.Host = l.host
	}
	if rec.ID == "" {
		rec.ID = newID()
	}
	rec.Headers = l.redactor.Headers(rec.Headers)
	rec.URI = l.redactor.URI(rec.URI)
	p := getPending()
	t, err := appendTemplate(p.t.b, rec)
	if err != nil {
		putPending(p)
		return err
	}
	p.t = t

	// The SyncTimeout deadline is a pooled timer rather than a derived
	// context: the same deadline, without allocating a context per record.
	var deadline <-chan time.Time
	if l.syncTimeout > 0 {
		deadline = p.arm(l.syncTimeout)
	}
	select {
	case l.queue <- p:
	case <-ctx.Done():
		putPending(p)
		return fmt.Errorf("audit: record not written, the audit writer is saturated: %w", ctx.Err())
	case <-deadline:
		putPending(p)
		return fmt.Errorf("audit: record not written, the audit writer is saturated: %w", context.DeadlineExceeded)
	case <-l.closing:
		putPending(p)
		return ErrClosed
	}
	select {
	case r := <-p.done:
		putPending(p)
		return r.apply(rec)
	case <-ctx.Done():
		return giveUp(p, rec, ctx.Err())
	case <-deadline:
		return giveUp(p, rec, context.DeadlineExceeded)
	case <-l.stopped:
		select {
		case r := <-p.done:
			putPending(p)
			return r.apply(rec)
		default:
		}
		return ErrClosed
	}
}

// giveUp ends a Write whose deadline passed (cause: the context's error, or
// context.DeadlineExceeded for SyncTimeout) after its record was queued: the
// record is withdrawn if the writer has not taken it yet; otherwise it may
// still reach the trail, unless its result is already there.
func giveUp(p *pending, rec *Record, cause error) error {
	if p.state.CompareAndSwap(stateQueued, stateAbandoned) {
		return fmt.Errorf("audit: record not written before the deadline: %w", cause)
	}
	select {
	case r := <-p.done:
		putPending(p)
		return r.apply(rec)
	default:
	}
	return fmt.Errorf("audit: record not durable before the deadline: %w (%w)", cause, ErrMaybeWritten)
}

func (r result) apply(rec *Record) error {
	if r.err != nil {
		return r.err
	}
	rec.Seq, rec.PrevHash, rec.Hash = r.seq, r.prev, r.hash
	return nil
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}

// Close writes what is queued, seals the trail with a shutdown checkpoint
// (when a Signer is set and records are unsealed), fsyncs and closes the
// file. Writes after Close fail with ErrClosed. Close may be called more
// than once.
func (l *Log) Close() error {
	l.closeOnce.Do(func() {
		close(l.closing)
		<-l.stopped
		var errs []error
		if l.dirty != nil {
			if err := l.repair(); err != nil {
				errs = append(errs, err)
			}
		}
		if l.dirty == nil && l.signer != nil && l.sinceCP > 0 {
			if err := l.checkpoint(CheckpointShutdown); err != nil {
				errs = append(errs, err)
			}
		}
		if err := l.f.Sync(); err != nil {
			errs = append(errs, fmt.Errorf("audit: fsync at close: %w", err))
		}
		unlockFile(l.osf)
		if err := l.f.Close(); err != nil {
			errs = append(errs, fmt.Errorf("audit: close: %w", err))
		}
		l.closeErr = errors.Join(errs...)
	})
	return l.closeErr
}

// run is the single writer: it takes whatever is queued, writes it as one
// batch, fsyncs once and wakes every waiter of the batch. It also writes
// the interval checkpoints.
func (l *Log) run() {
	defer close(l.stopped)
	batch := make([]*pending, 0, maxBatch)
	var tick <-chan time.Time
	if l.signer != nil && l.cpInterval > 0 {
		t := time.NewTicker(max(l.cpInterval/4, time.Millisecond))
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case p := <-l.queue:
			batch = l.drain(append(batch[:0], p))
			l.commit(batch)
		case <-tick:
			if l.sinceCP > 0 && l.dirty == nil && time.Since(l.lastCP) >= l.cpInterval {
				if err := l.checkpoint(CheckpointInterval); err != nil {
					l.noise(err)
				}
			}
		case <-l.closing:
			for {
				batch = l.drain(batch[:0])
				if len(batch) == 0 {
					return
				}
				l.commit(batch)
			}
		}
	}
}

func (l *Log) drain(batch []*pending) []*pending {
	size := 0
	for _, p := range batch {
		size += len(p.t.b)
	}
	for len(batch) < maxBatch && size < maxBatchBytes {
		select {
		case p := <-l.queue:
			batch = append(batch, p)
			size += len(p.t.b)
		default:
			return batch
		}
	}
	return batch
}

// lineOverhead bounds what appendLine adds to a template: the seq digits,
// two hex hashes and the newline.
const lineOverhead = 20 + 2*hashHexLen + 1

func (l *Log) commit(batch []*pending) {
	live := batch[:0]
	for _, p := range batch {
		if p.state.CompareAndSwap(stateQueued, stateTaken) {
			live = append(live, p)
		}
	}
	for i := len(live); i < len(batch); i++ {
		batch[i] = nil
	}
	if len(live) == 0 {
		return
	}
	if l.dirty != nil {
		if err := l.repair(); err != nil {
			l.failBatch(live, err)
			return
		}
	}
	if l.maxSize > 0 && l.off > 0 && !time.Now().Before(l.rotateAt) {
		size := int64(0)
		for _, p := range live {
			size += int64(len(p.t.b) + lineOverhead)
		}
		if l.signer != nil {
			size += l.cpSize() // room for the rotation (or a count) checkpoint
		}
		if l.off+size > l.maxSize {
			if err := l.rotate(); err != nil {
				l.failBatch(live, err)
				return
			}
		}
	}

	results := l.results[:0]
	buf := l.buf[:0]
	seq, prev := l.seq, l.hash
	for _, p := range live {
		seq++
		var h string
		buf, h = appendLine(buf, p.t, seq, prev)
		results = append(results, result{seq: seq, prev: prev, hash: h})
		prev = h
	}
	l.results = results
	// A count checkpoint goes into the same write and fsync as the batch
	// that reaches the threshold.
	cp := false
	if l.signer != nil && l.cpEvery > 0 && l.sinceCP+len(live) >= l.cpEvery {
		var err error
		if buf, seq, prev, err = l.appendCheckpoint(buf, seq, prev, CheckpointCount); err != nil {
			l.noise(err) // the records are still written; the next batch retries
		} else {
			cp = true
		}
	}
	if cap(buf) <= 2*maxBatchBytes {
		l.buf = buf
	} else {
		l.buf = nil
	}

	if err := l.writeDurable(buf); err != nil {
		l.failBatch(live, err)
		return
	}
	first := l.seq + 1
	l.advance(seq, prev, buf, len(live), cp)
	if l.fileFirst == 0 {
		l.fileFirst = first
	}
	if l.failRun > 0 {
		l.logger.Warnf("audit: %s is writable again after %d failed write(s); records are being written", l.path, l.failRun)
		l.failRun = 0
	}
	forward(l.forwarders, buf)
	for i, p := range live {
		p.done <- results[i]
	}
}

// writeDurable writes buf and fsyncs. On failure it cuts buf off the file
// again, so the file ends with the last durable record and the chain stays
// valid; seq and hash do not advance.
func (l *Log) writeDurable(buf []byte) error {
	_, err := l.f.Write(buf)
	if err == nil {
		l.countSync()
		if err = l.f.Sync(); err != nil {
			err = fmt.Errorf("fsync %s: %w", l.path, err)
		}
	}
	if err != nil {
		if terr := l.f.Truncate(l.off); terr != nil {
			l.dirty = fmt.Errorf("cannot remove a failed write from %s: %w", l.path, terr)
			err = fmt.Errorf("%w; %w", err, l.dirty)
		} else {
			l.countSync()
			_ = l.f.Sync() // best effort; the next successful fsync covers the new size too
		}
	}
	return err
}

// advance records that buf, ending with the record (seq, hash), is durable.
// records counts the request and response records in it; cp says whether
// its last line is a checkpoint.
func (l *Log) advance(seq uint64, hash string, buf []byte, records int, cp bool) {
	l.seq, l.hash = seq, hash
	l.off += int64(len(buf))
	if cp {
		l.sinceCP = 0
		l.lastCP = time.Now()
	} else {
		l.sinceCP += records
	}
	l.lastIsCP = cp
	l.mu.Lock()
	l.headSeq, l.headHash = seq, hash
	l.stats.Records += uint64(records)
	l.stats.Batches++
	if cp {
		l.stats.Checkpoints++
	}
	l.mu.Unlock()
}

// cpSize bounds the length of a checkpoint line.
func (l *Log) cpSize() int64 {
	if l.cpLen == 0 {
		rec := l.signer.checkpointRecord(l.now(), l.host, 1<<64-1, strings.Repeat("0", hashHexLen), CheckpointShutdown)
		rec.Time = time.Date(2000, 1, 1, 0, 0, 0, 999999999, time.UTC) // longest time text
		if t, err := newTemplate(rec); err == nil {
			l.cpLen = int64(len(t.b) + lineOverhead)
		}
	}
	return l.cpLen
}

// appendCheckpoint appends a checkpoint record sealing (seq, head) to buf.
func (l *Log) appendCheckpoint(buf []byte, seq uint64, head, reason string) ([]byte, uint64, string, error) {
	rec := l.signer.checkpointRecord(l.now(), l.host, seq, head, reason)
	t, err := newTemplate(rec)
	if err != nil {
		return buf, seq, head, err
	}
	buf, h := appendLine(buf, t, seq+1, head)
	return buf, seq + 1, h, nil
}

// checkpoint writes a checkpoint record on its own (interval, rotation,
// shutdown).
func (l *Log) checkpoint(reason string) error {
	buf, seq, h, err := l.appendCheckpoint(nil, l.seq, l.hash, reason)
	if err != nil {
		return err
	}
	if err := l.writeDurable(buf); err != nil {
		return fmt.Errorf("audit: %s checkpoint not written to %s: %w", reason, l.path, err)
	}
	first := l.seq + 1
	l.advance(seq, h, buf, 0, true)
	if l.fileFirst == 0 {
		l.fileFirst = first
	}
	forward(l.forwarders, buf)
	return nil
}

// rotate seals the current file with a rotation checkpoint (when a Signer
// is set), renames it to RotatedName(path, first seq) and continues the
// trail in a new file at path, then applies MaxFiles. An error means the
// trail could not be written at all; a rename or create failure only
// postpones the rotation (logged) and the trail goes on in the old file.
func (l *Log) rotate() error {
	if l.signer != nil && !l.lastIsCP {
		if err := l.checkpoint(CheckpointRotation); err != nil {
			return err
		}
	}
	postpone := func(err error) error {
		l.rotateAt = time.Now().Add(rotateRetry)
		l.logger.Errorf("audit: rotating %s failed, the trail goes on in the same file and rotation is retried in %v: %v", l.path, rotateRetry, err)
		return nil
	}
	dst := RotatedName(l.path, l.fileFirst)
	if _, err := os.Lstat(dst); err == nil {
		return postpone(fmt.Errorf("%s already exists", dst))
	}
	if err := os.Rename(l.path, dst); err != nil {
		return postpone(err)
	}
	nf, err := os.OpenFile(l.path, os.O_RDWR|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o640)
	if err == nil {
		if lerr := lockFile(nf); lerr != nil {
			nf.Close()
			os.Remove(l.path)
			err = lerr
		}
	}
	if err != nil {
		if rerr := os.Rename(dst, l.path); rerr != nil {
			// The open file is still ours under its new name: writing goes
			// on there, and Open continues from it after a restart.
			l.logger.Errorf("audit: could not move %s back to %s: %v", dst, l.path, rerr)
		}
		return postpone(err)
	}
	syncDir(filepath.Dir(l.path))
	unlockFile(l.osf)
	if err := l.f.Close(); err != nil {
		l.logger.Warnf("audit: closing rotated file %s: %v", dst, err)
	}
	l.osf, l.f = nf, l.wrap(nf)
	l.off, l.fileFirst, l.lastIsCP = 0, 0, false
	l.mu.Lock()
	l.stats.Rotations++
	l.mu.Unlock()
	if l.maxFiles > 0 {
		l.prune()
	}
	return nil
}

// prune removes the oldest rotated files beyond MaxFiles.
func (l *Log) prune() {
	rotated, err := RotatedFiles(l.path)
	if err != nil {
		l.logger.Warnf("audit: listing rotated files for retention: %v", err)
		return
	}
	for len(rotated) > l.maxFiles {
		if err := os.Remove(rotated[0]); err != nil {
			l.logger.Warnf("audit: retention: %v", err)
			return
		}
		rotated = rotated[1:]
	}
	syncDir(filepath.Dir(l.path))
}

// repair cuts a failed batch off the file after an earlier attempt failed.
func (l *Log) repair() error {
	if err := l.f.Truncate(l.off); err != nil {
		return fmt.Errorf("audit: %s still ends with a failed write that cannot be removed (%w); nothing is written until it can", l.path, err)
	}
	l.countSync()
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("audit: fsync %s after removing a failed write: %w", l.path, err)
	}
	l.dirty = nil
	return nil
}

func (l *Log) failBatch(live []*pending, err error) {
	err = fmt.Errorf("audit: record not written, the audit trail cannot be written: %w", err)
	l.mu.Lock()
	l.stats.FailedBatches++
	l.stats.FailedRecords += uint64(len(live))
	l.mu.Unlock()
	l.failRun++
	l.noise(fmt.Errorf("%w; requests needing an audit record are denied (%d failed write(s) so far)", err, l.failRun))
	for _, p := range live {
		p.done <- result{err: err}
	}
}

// noise logs an error, at most every 10 seconds after the first of a run.
func (l *Log) noise(err error) {
	if now := time.Now(); l.failRun <= 1 || now.Sub(l.lastNoise) >= 10*time.Second {
		l.lastNoise = now
		l.logger.Errorf("%v", err)
	}
}

func (l *Log) countSync() {
	l.mu.Lock()
	l.stats.Syncs++
	l.mu.Unlock()
}

// slogLogger adapts log/slog to Logger.
type slogLogger struct{ l *slog.Logger }

func (s slogLogger) Warnf(format string, args ...any)  { s.l.Warn(fmt.Sprintf(format, args...)) }
func (s slogLogger) Errorf(format string, args ...any) { s.l.Error(fmt.Sprintf(format, args...)) }
