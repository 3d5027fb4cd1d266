package syslog

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Defaults for Config fields left zero.
const (
	DefaultQueueSize    = 4096
	DefaultReportEvery  = time.Minute
	DefaultDialTimeout  = 5 * time.Second
	DefaultWriteTimeout = 10 * time.Second
	DefaultFlushTimeout = 3 * time.Second

	minBackoff = 100 * time.Millisecond
	maxBackoff = 30 * time.Second
	// attempts is how many connections a message is tried on before it is
	// given up (and counted in Dropped).
	attempts = 2
	// A batch is what the sender writes at once on a stream transport.
	maxBatchMessages = 256
	maxBatchBytes    = 256 << 10
)

// Logger receives operational messages. *logrus.Logger and *logrus.Entry
// satisfy it.
type Logger interface {
	Infof(format string, args ...any)
	Warnf(format string, args ...any)
	Errorf(format string, args ...any)
}

// Config configures a Forwarder. Only URL is required.
type Config struct {
	// URL of the collector: udp://, tcp://, tcp+tls:// (or tls://), unix://,
	// unixgram://, unixstream:// (see the package documentation).
	URL string
	// CAFile is a PEM bundle of the CAs trusted for the collector's TLS
	// certificate; empty means the system roots.
	CAFile string
	// CertFile and KeyFile are an optional client certificate (PEM).
	CertFile, KeyFile string
	// ServerName is the name expected in the collector's certificate;
	// empty means the URL's host.
	ServerName string

	// Hostname is the HOSTNAME of a record that has no host; empty means
	// os.Hostname().
	Hostname string
	// Facility is the syslog facility; 0 means FacilityLogAudit (13). (The
	// kernel facility 0 cannot be chosen.)
	Facility int
	// SDID is the structured data ID of the element carrying seq and host;
	// "" means DefaultSDID, "-" sends no structured data (NILVALUE).
	SDID string

	QueueSize    int           // lines waiting for the sender; 0 = DefaultQueueSize
	ReportEvery  time.Duration // how often drops and errors are logged; 0 = DefaultReportEvery
	DialTimeout  time.Duration // 0 = DefaultDialTimeout
	WriteTimeout time.Duration // per message; 0 = DefaultWriteTimeout
	FlushTimeout time.Duration // how long Close may deliver what is queued; 0 = DefaultFlushTimeout

	// Logger gets connection changes and the periodic drop report; nil
	// means log/slog's default logger.
	Logger Logger
}

// Forwarder sends audit record lines to a syslog collector. Create it with
// New; it is safe for concurrent use.
type Forwarder struct {
	// Sent counts messages handed to the transport; Dropped counts lines
	// never sent (queue full, given up after failed attempts, or left at
	// Close); Errors counts failed connection attempts and failed writes.
	Sent, Dropped, Errors atomic.Uint64

	cfg         Config
	network     string // "udp", "tcp", "tls", "unixgram", "unix", "unixauto"
	address     string
	tlsConf     *tls.Config
	fmt         formatter
	queue       chan []byte
	stop        chan struct{}
	stopped     chan struct{}
	closed      atomic.Bool
	closeMu     sync.Once
	finalReport sync.Once
	redacted    string // URL for messages

	connMu sync.Mutex
	conn   net.Conn // the sender's connection, so Close can interrupt a blocked write

	reporterDone chan struct{}
	rep          reporter // owned by reportLoop, then by Close
}

// New validates cfg, loads the TLS material and starts the background
// sender. It does not wait for the collector: an unreachable collector is
// retried in the background and reported in the log.
func New(cfg Config) (*Forwarder, error) {
	f := &Forwarder{cfg: cfg}
	if err := f.parseURL(cfg.URL); err != nil {
		return nil, err
	}
	if f.network == "tls" {
		tc, err := tlsConfig(cfg, f.address)
		if err != nil {
			return nil, err
		}
		f.tlsConf = tc
	} else if cfg.CAFile != "" || cfg.CertFile != "" || cfg.KeyFile != "" {
		return nil, fmt.Errorf("syslog: a CA or client certificate is set but %s is not a tcp+tls:// URL", f.redacted)
	}
	if f.cfg.QueueSize <= 0 {
		f.cfg.QueueSize = DefaultQueueSize
	}
	if f.cfg.ReportEvery <= 0 {
		f.cfg.ReportEvery = DefaultReportEvery
	}
	if f.cfg.DialTimeout <= 0 {
		f.cfg.DialTimeout = DefaultDialTimeout
	}
	if f.cfg.WriteTimeout <= 0 {
		f.cfg.WriteTimeout = DefaultWriteTimeout
	}
	if f.cfg.FlushTimeout <= 0 {
		f.cfg.FlushTimeout = DefaultFlushTimeout
	}
	if f.cfg.Facility == 0 {
		f.cfg.Facility = FacilityLogAudit
	}
	if f.cfg.Facility < 0 || f.cfg.Facility > 23 {
		return nil, fmt.Errorf("syslog: facility %d is not between 0 and 23", f.cfg.Facility)
	}
	sdID := f.cfg.SDID
	switch sdID {
	case "":
		sdID = DefaultSDID
	case "-":
		sdID = ""
	default:
		if !validSDID(sdID) {
			return nil, fmt.Errorf("syslog: structured data ID %q is not valid (RFC 5424: 1 to 32 printable characters without '=', ']', '\"' or space)", sdID)
		}
	}
	if f.cfg.Logger == nil {
		f.cfg.Logger = slogLogger{slog.Default()}
	}
	host := f.cfg.Hostname
	if host == "" {
		host, _ = os.Hostname()
	}
	f.fmt = formatter{facility: f.cfg.Facility, hostname: host, procID: strconv.Itoa(os.Getpid()), sdID: sdID, now: time.Now}
	f.queue = make(chan []byte, f.cfg.QueueSize)
	f.stop = make(chan struct{})
	f.stopped = make(chan struct{})
	f.reporterDone = make(chan struct{})
	f.rep.f = f
	go f.run()
	go f.reportLoop()
	return f, nil
}

func (f *Forwarder) parseURL(raw string) error {
	if raw == "" {
		return errors.New("syslog: no collector URL")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("syslog: collector URL %q: %v", raw, err)
	}
	if u.User != nil {
		return fmt.Errorf("syslog: collector URL must not carry credentials; use a client certificate")
	}
	f.redacted = u.Scheme + "://" + u.Host + u.Path
	hostPort := func(def string) (string, error) {
		if u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			return "", fmt.Errorf("syslog: collector URL %q must be %s://HOST[:PORT]", raw, u.Scheme)
		}
		if _, _, err := net.SplitHostPort(u.Host); err != nil {
			if u.Port() == "" && !strings.HasSuffix(u.Host, ":") {
				return net.JoinHostPort(u.Hostname(), def), nil
			}
			return "", fmt.Errorf("syslog: collector URL %q: %v", raw, err)
		}
		return u.Host, nil
	}
	switch strings.ToLower(u.Scheme) {
	case "udp":
		f.network = "udp"
		f.address, err = hostPort("514")
	case "tcp":
		f.network = "tcp"
		f.address, err = hostPort("514")
	case "tcp+tls", "tls":
		f.network = "tls"
		f.address, err = hostPort("6514")
	case "unix", "unixgram", "unixstream":
		if u.Host != "" || u.Path == "" {
			return fmt.Errorf("syslog: collector URL %q must be %s:///ABSOLUTE/PATH", raw, u.Scheme)
		}
		f.address = u.Path
		f.network = map[string]string{"unix": "unixauto", "unixgram": "unixgram", "unixstream": "unix"}[strings.ToLower(u.Scheme)]
	default:
		return fmt.Errorf("syslog: collector URL %q: scheme must be udp, tcp, tcp+tls, unix, unixgram or unixstream", raw)
	}
	return err
}

func tlsConfig(cfg Config, address string) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: cfg.ServerName}
	if tc.ServerName == "" {
		tc.ServerName, _, _ = net.SplitHostPort(address)
	}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("syslog: reading the collector CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("syslog: %s holds no PEM certificate", cfg.CAFile)
		}
		tc.RootCAs = pool
	}
	if (cfg.CertFile == "") != (cfg.KeyFile == "") {
		return nil, errors.New("syslog: a client certificate needs both the certificate and the key file")
	}
	if cfg.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("syslog: loading the client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// Forward queues one record line for the collector and returns at once. When
// the queue is full, or after Close, the line is dropped and counted.
func (f *Forwarder) Forward(line []byte) {
	if f.closed.Load() {
		f.Dropped.Add(1)
		return
	}
	b := make([]byte, len(line))
	copy(b, line)
	select {
	case f.queue <- b:
	default:
		f.Dropped.Add(1)
	}
}

// Close stops accepting lines, delivers what is queued within
// Config.FlushTimeout, and closes the connection. It reports how many
// lines were dropped in total, as an error, when there were any.
func (f *Forwarder) Close() error {
	f.closeMu.Do(func() {
		f.closed.Store(true)
		close(f.stop)
	})
	t := time.NewTimer(f.cfg.FlushTimeout + time.Second)
	defer t.Stop()
	select {
	case <-f.stopped:
	case <-t.C:
		// A write blocked on an unresponsive collector: cut it short.
		f.connMu.Lock()
		if f.conn != nil {
			f.conn.Close()
		}
		f.connMu.Unlock()
		<-f.stopped
	}
	<-f.reporterDone
	f.finalReport.Do(f.rep.report)
	if d := f.Dropped.Load(); d > 0 {
		return fmt.Errorf("syslog: %d audit record(s) were not forwarded to %s (the local trail has them)", d, f.redacted)
	}
	return nil
}

// String names the collector (without credentials).
func (f *Forwarder) String() string { return f.redacted }

// Queued returns the number of lines waiting to be sent.
func (f *Forwarder) Queued() int { return len(f.queue) }

// run is the single sender.
func (f *Forwarder) run() {
	defer close(f.stopped)
	s := &sender{f: f, backoff: minBackoff}
	defer s.disconnect()

	var batch [][]byte // formatted messages not yet delivered, in order
	tries := 0
	var deadline time.Time // set when stopping: the end of the flush
	stopping := false
	giveUp := func() {
		f.Dropped.Add(uint64(len(batch) + len(f.queue)))
		for len(f.queue) > 0 {
			<-f.queue
		}
	}
	for {
		if len(batch) == 0 {
			var line []byte
			if stopping {
				select {
				case line = <-f.queue:
				default:
					return
				}
			} else {
				select {
				case line = <-f.queue:
				case <-f.stop:
					stopping, deadline = true, time.Now().Add(f.cfg.FlushTimeout)
					continue
				}
			}
			batch, tries = f.collect(batch[:0], line), 0
		}
		if stopping && time.Now().After(deadline) {
			giveUp()
			return
		}
		if s.conn == nil {
			if err := s.connect(deadline); err != nil {
				if stopping {
					// No time for backoff at Close: give up what is left.
					giveUp()
					return
				}
				select {
				case <-time.After(s.backoff):
				case <-f.stop:
					stopping, deadline = true, time.Now().Add(f.cfg.FlushTimeout)
				}
				s.backoff = min(2*s.backoff, maxBackoff)
				continue
			}
		}
		tries++
		n, err := s.send(batch, deadline)
		f.Sent.Add(uint64(n))
		batch = batch[n:]
		if err != nil {
			f.Errors.Add(1)
			s.lost(err)
			switch {
			case errors.Is(err, syscall.EMSGSIZE): // this message can never be sent
				f.Dropped.Add(1)
				batch = batch[1:]
			case tries >= attempts:
				f.Dropped.Add(uint64(len(batch)))
				batch = batch[:0]
			}
		}
	}
}

// collect formats line and whatever else is already queued, up to a batch
// of maxBatchMessages or maxBatchBytes, so a stream transport writes them
// at once.
func (f *Forwarder) collect(batch [][]byte, line []byte) [][]byte {
	m := f.fmt.format(nil, line)
	batch = append(batch, m)
	size := len(m)
	for len(batch) < maxBatchMessages && size < maxBatchBytes {
		select {
		case line = <-f.queue:
			m = f.fmt.format(nil, line)
			batch = append(batch, m)
			size += len(m)
		default:
			return batch
		}
	}
	return batch
}

// sender owns the connection; only run uses it.
type sender struct {
	f       *Forwarder
	conn    net.Conn
	stream  bool
	backoff time.Duration
	frame   []byte
	down    bool // the collector is known unreachable (logged once)
	downErr string
}

// reportLoop logs drops and errors every ReportEvery until Close.
func (f *Forwarder) reportLoop() {
	defer close(f.reporterDone)
	t := time.NewTicker(f.cfg.ReportEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			f.rep.report()
		case <-f.stopped:
			return
		}
	}
}

// reporter remembers what was last reported.
type reporter struct {
	f        *Forwarder
	lastDrop uint64
	lastErr  uint64
	lastTime time.Time
}

func (s *sender) connect(deadline time.Time) error {
	f := s.f
	d := net.Dialer{Timeout: f.cfg.DialTimeout}
	if !deadline.IsZero() {
		d.Deadline = deadline
	}
	var (
		c   net.Conn
		err error
	)
	stream := true
	switch f.network {
	case "tls":
		c, err = tls.DialWithDialer(&d, "tcp", f.address, f.tlsConf)
	case "udp", "unixgram":
		stream = false
		c, err = d.Dial(f.network, f.address)
	case "unixauto":
		c, err = d.Dial("unixgram", f.address)
		if err == nil {
			stream = false
		} else if errors.Is(err, syscall.EPROTOTYPE) {
			c, err = d.Dial("unix", f.address)
		}
	default: // tcp, unix (stream)
		c, err = d.Dial(f.network, f.address)
	}
	if err != nil {
		f.Errors.Add(1)
		if !s.down || s.downErr != err.Error() {
			f.cfg.Logger.Errorf("audit syslog: cannot reach the collector %s: %v; retrying in the background (records queue up to %d, then are dropped and counted; the local trail is complete)", f.redacted, err, f.cfg.QueueSize)
		}
		s.down, s.downErr = true, err.Error()
		return err
	}
	s.conn, s.stream = c, stream
	f.connMu.Lock()
	f.conn = c
	f.connMu.Unlock()
	s.backoff = minBackoff
	if s.down {
		f.cfg.Logger.Infof("audit syslog: connected to the collector %s again", f.redacted)
	} else {
		f.cfg.Logger.Infof("audit syslog: forwarding audit records to %s", f.redacted)
	}
	s.down, s.downErr = false, ""
	return nil
}

// send writes the batch and returns how many messages were handed to the
// transport. A stream transport gets the whole batch, octet-counted, in one
// write (all or nothing: after a failure the batch is sent again on a new
// connection, so the collector may get some of it twice); a datagram
// transport gets one datagram per message.
func (s *sender) send(batch [][]byte, deadline time.Time) (int, error) {
	wd := time.Now().Add(s.f.cfg.WriteTimeout)
	if !deadline.IsZero() && deadline.Before(wd) {
		wd = deadline
	}
	_ = s.conn.SetWriteDeadline(wd)
	if s.stream {
		s.frame = s.frame[:0]
		for _, m := range batch {
			s.frame = strconv.AppendInt(s.frame, int64(len(m)), 10)
			s.frame = append(s.frame, ' ')
			s.frame = append(s.frame, m...)
		}
		if _, err := s.conn.Write(s.frame); err != nil {
			return 0, err
		}
		if cap(s.frame) > 4*maxBatchBytes {
			s.frame = nil
		}
		return len(batch), nil
	}
	for i, m := range batch {
		if _, err := s.conn.Write(m); err != nil {
			return i, err
		}
	}
	return len(batch), nil
}

// lost drops the connection after a failed write.
func (s *sender) lost(err error) {
	f := s.f
	if !errors.Is(err, syscall.EMSGSIZE) {
		f.cfg.Logger.Warnf("audit syslog: sending to %s failed: %v; reconnecting", f.redacted, err)
		s.disconnect()
	} else {
		f.cfg.Logger.Warnf("audit syslog: a record is too large for one datagram to %s and was dropped (use tcp:// or tcp+tls://)", f.redacted)
	}
}

func (s *sender) disconnect() {
	if s.conn != nil {
		s.f.connMu.Lock()
		s.f.conn = nil
		s.f.connMu.Unlock()
		s.conn.Close()
		s.conn = nil
	}
}

// report logs drops and errors since the last report, if any.
func (s *reporter) report() {
	f := s.f
	drop, errs := f.Dropped.Load(), f.Errors.Load()
	now := time.Now()
	if drop != s.lastDrop || errs != s.lastErr {
		since := "since start"
		if !s.lastTime.IsZero() {
			since = "in the last " + now.Sub(s.lastTime).Round(time.Second).String()
		}
		f.cfg.Logger.Warnf("audit syslog: %d record(s) not forwarded and %d error(s) %s (totals: sent %d, dropped %d, errors %d; collector %s); the local trail is complete",
			drop-s.lastDrop, errs-s.lastErr, since, f.Sent.Load(), drop, errs, f.redacted)
	}
	s.lastDrop, s.lastErr, s.lastTime = drop, errs, now
}

// slogLogger adapts log/slog to Logger.
type slogLogger struct{ l *slog.Logger }

func (s slogLogger) Infof(format string, args ...any)  { s.l.Info(fmt.Sprintf(format, args...)) }
func (s slogLogger) Warnf(format string, args ...any)  { s.l.Warn(fmt.Sprintf(format, args...)) }
func (s slogLogger) Errorf(format string, args ...any) { s.l.Error(fmt.Sprintf(format, args...)) }
