package syslog

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker-authz/docker-authz/authz/identity/identitytest"
)

// recordLine makes a realistic audit record line.
func recordLine(seq int, host, decision string) []byte {
	return []byte(fmt.Sprintf(`{"time":"2026-11-23T10:%02d:%02d.123456789Z","v":1,"seq":%d,"id":"id%d","stage":"request","host":%q,"user":"alice","groups":["developers"],"method":"POST","uri":"/v1.41/containers/create","route":"container:create","decision":%q,"reason":"x ] \" y","prev_hash":"p","hash":"h%d"}`,
		seq/60%60, seq%60, seq, seq, host, decision, seq))
}

// received is one parsed RFC 5424 message.
type received struct {
	pri, version, timestamp, host, app, procID, msgID, sd, msg string
}

// parse5424 splits an RFC 5424 message; the structured data is one element
// or NILVALUE.
func parse5424(t *testing.T, m string) received {
	t.Helper()
	var r received
	if !strings.HasPrefix(m, "<") {
		t.Fatalf("message does not start with PRI: %q", m)
	}
	end := strings.IndexByte(m, '>')
	r.pri = m[1:end]
	rest := m[end+1:]
	f := strings.SplitN(rest, " ", 7)
	if len(f) != 7 {
		t.Fatalf("message has too few header fields: %q", m)
	}
	r.version, r.timestamp, r.host, r.app, r.procID, r.msgID = f[0], f[1], f[2], f[3], f[4], f[5]
	rest = f[6]
	if strings.HasPrefix(rest, "-") {
		r.sd, rest = "-", rest[1:]
	} else {
		// find the closing ']' that is not escaped
		i := 1
		for ; i < len(rest); i++ {
			if rest[i] == '\\' {
				i++
				continue
			}
			if rest[i] == ']' {
				break
			}
		}
		r.sd, rest = rest[:i+1], rest[i+1:]
	}
	if !strings.HasPrefix(rest, " ") {
		t.Fatalf("no SP before MSG: %q", m)
	}
	r.msg = rest[1:]
	return r
}

// collector is a fake syslog receiver.
type collector struct {
	mu   sync.Mutex
	msgs []string
	got  chan struct{}
	stop func()
	addr string
}

func (c *collector) add(m string) {
	c.mu.Lock()
	c.msgs = append(c.msgs, m)
	c.mu.Unlock()
	select {
	case c.got <- struct{}{}:
	default:
	}
}

func (c *collector) wait(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		c.mu.Lock()
		if len(c.msgs) >= n {
			out := append([]string(nil), c.msgs...)
			c.mu.Unlock()
			return out
		}
		have := len(c.msgs)
		c.mu.Unlock()
		select {
		case <-c.got:
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			t.Fatalf("collector got %d of %d messages", have, n)
		}
	}
}

func newCollector() *collector { return &collector{got: make(chan struct{}, 1)} }

// readFramed reads octet-counted frames (RFC 6587 3.4.1) from r.
func readFramed(r io.Reader, c *collector) error {
	br := bufio.NewReader(r)
	for {
		lenStr, err := br.ReadString(' ')
		if err != nil {
			return err
		}
		n, err := strconv.Atoi(strings.TrimSuffix(lenStr, " "))
		if err != nil || n <= 0 {
			return fmt.Errorf("bad frame length %q", lenStr)
		}
		buf := make([]byte, n)
		if _, err := io.ReadFull(br, buf); err != nil {
			return err
		}
		c.add(string(buf))
	}
}

func streamCollector(t *testing.T, l net.Listener) *collector {
	c := newCollector()
	c.addr = l.Addr().String()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, conn)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				if tc, ok := conn.(*tls.Conn); ok {
					if err := tc.Handshake(); err != nil {
						conn.Close()
						return
					}
				}
				if err := readFramed(conn, c); err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
					t.Logf("collector: %v", err)
				}
			}()
		}
	}()
	c.stop = func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	}
	t.Cleanup(c.stop)
	return c
}

func packetCollector(t *testing.T, pc net.PacketConn) *collector {
	c := newCollector()
	c.addr = pc.LocalAddr().String()
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 256<<10)
		for {
			n, _, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			c.add(string(buf[:n]))
		}
	}()
	c.stop = func() { pc.Close(); <-done }
	t.Cleanup(c.stop)
	return c
}

type testLogger struct {
	mu    sync.Mutex
	lines []string
}

func (l *testLogger) logf(level, format string, args ...any) {
	l.mu.Lock()
	l.lines = append(l.lines, level+": "+fmt.Sprintf(format, args...))
	l.mu.Unlock()
}
func (l *testLogger) Infof(f string, a ...any)  { l.logf("info", f, a...) }
func (l *testLogger) Warnf(f string, a ...any)  { l.logf("warn", f, a...) }
func (l *testLogger) Errorf(f string, a ...any) { l.logf("error", f, a...) }
func (l *testLogger) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// tlsMaterial makes a collector CA and server certificate (localhost,
// 127.0.0.1), and a client CA with a client certificate.
type tlsMaterial struct {
	caFile, certFile, keyFile string // for the forwarder
	server                    *tls.Config
}

func newTLSMaterial(t *testing.T, requireClient bool) tlsMaterial {
	dir := t.TempDir()
	ca := identitytest.NewCA(t)
	srvCert, srvKey := ca.IssueServer()
	pair, err := tls.X509KeyPair(srvCert, srvKey)
	if err != nil {
		t.Fatal(err)
	}
	clientCA := identitytest.NewCA(t, identitytest.WithCommonName("client CA"))
	cCert, cKey := clientCA.Issue("host-a", nil)
	m := tlsMaterial{
		caFile:   ca.WriteCA(dir),
		certFile: identitytest.WriteFile(t, filepath.Join(dir, "client.pem"), cCert),
		keyFile:  identitytest.WriteFile(t, filepath.Join(dir, "client-key.pem"), cKey),
		server:   &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12},
	}
	if requireClient {
		pool := x509.NewCertPool()
		pool.AddCert(clientCA.Cert)
		m.server.ClientCAs = pool
		m.server.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return m
}

func TestTransports(t *testing.T) {
	const n = 50
	tests := []struct {
		name   string
		listen func(t *testing.T) (*collector, Config)
	}{
		{"udp", func(t *testing.T) (*collector, Config) {
			pc, err := net.ListenPacket("udp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			c := packetCollector(t, pc)
			return c, Config{URL: "udp://" + c.addr}
		}},
		{"tcp", func(t *testing.T) (*collector, Config) {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			c := streamCollector(t, l)
			return c, Config{URL: "tcp://" + c.addr}
		}},
		{"tls with client certificate", func(t *testing.T) (*collector, Config) {
			m := newTLSMaterial(t, true)
			l, err := tls.Listen("tcp", "127.0.0.1:0", m.server)
			if err != nil {
				t.Fatal(err)
			}
			c := streamCollector(t, l)
			return c, Config{URL: "tcp+tls://" + c.addr, CAFile: m.caFile, CertFile: m.certFile, KeyFile: m.keyFile}
		}},
		{"tls server name", func(t *testing.T) (*collector, Config) {
			m := newTLSMaterial(t, false)
			l, err := tls.Listen("tcp", "127.0.0.1:0", m.server)
			if err != nil {
				t.Fatal(err)
			}
			c := streamCollector(t, l)
			_, port, _ := net.SplitHostPort(c.addr)
			return c, Config{URL: "tls://127.0.0.1:" + port, CAFile: m.caFile, ServerName: "localhost"}
		}},
		{"unixgram", func(t *testing.T) (*collector, Config) {
			p := filepath.Join(t.TempDir(), "log")
			pc, err := net.ListenPacket("unixgram", p)
			if err != nil {
				t.Fatal(err)
			}
			c := packetCollector(t, pc)
			return c, Config{URL: "unixgram://" + p}
		}},
		{"unix auto, datagram socket", func(t *testing.T) (*collector, Config) {
			p := filepath.Join(t.TempDir(), "log")
			pc, err := net.ListenPacket("unixgram", p)
			if err != nil {
				t.Fatal(err)
			}
			c := packetCollector(t, pc)
			return c, Config{URL: "unix://" + p}
		}},
		{"unix auto, stream socket", func(t *testing.T) (*collector, Config) {
			p := filepath.Join(t.TempDir(), "log")
			l, err := net.Listen("unix", p)
			if err != nil {
				t.Fatal(err)
			}
			c := streamCollector(t, l)
			return c, Config{URL: "unix://" + p}
		}},
		{"unixstream", func(t *testing.T) (*collector, Config) {
			p := filepath.Join(t.TempDir(), "log")
			l, err := net.Listen("unix", p)
			if err != nil {
				t.Fatal(err)
			}
			c := streamCollector(t, l)
			return c, Config{URL: "unixstream://" + p}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, cfg := tc.listen(t)
			log := &testLogger{}
			cfg.Logger = log
			f, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			var lines [][]byte
			for i := 1; i <= n; i++ {
				host := "build-1"
				dec := "allow"
				if i%3 == 0 {
					dec = "deny"
				}
				lines = append(lines, recordLine(i, host, dec))
				// The caller may reuse its buffer: Forward must copy.
				buf := append(recordLine(i, host, dec), '\n')
				f.Forward(buf)
				for j := range buf {
					buf[j] = 'x'
				}
			}
			msgs := c.wait(t, n)
			if err := f.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if len(msgs) != n {
				t.Fatalf("got %d messages, want %d", len(msgs), n)
			}
			for i, m := range msgs {
				r := parse5424(t, m)
				if r.msg != string(lines[i]) {
					t.Fatalf("message %d: MSG\n got %s\nwant %s", i, r.msg, lines[i])
				}
				wantPRI := "110" // 13*8+6
				if (i+1)%3 == 0 {
					wantPRI = "109"
				}
				if r.pri != wantPRI || r.version != "1" || r.host != "build-1" || r.app != "docker-authz" || r.msgID != "request" {
					t.Fatalf("message %d header: %+v", i, r)
				}
				if want := fmt.Sprintf(`[audit@32473 seq="%d" host="build-1"]`, i+1); r.sd != want {
					t.Fatalf("message %d SD %q, want %q", i, r.sd, want)
				}
				if _, err := time.Parse(time.RFC3339Nano, r.timestamp); err != nil {
					t.Fatalf("message %d timestamp %q: %v", i, r.timestamp, err)
				}
			}
			if f.Sent.Load() != n || f.Dropped.Load() != 0 || f.Errors.Load() != 0 {
				t.Fatalf("sent=%d dropped=%d errors=%d; log:\n%s", f.Sent.Load(), f.Dropped.Load(), f.Errors.Load(), log)
			}
		})
	}
}

func TestTLSRefusesUntrustedCollector(t *testing.T) {
	m := newTLSMaterial(t, false)
	other := identitytest.NewCA(t, identitytest.WithCommonName("another CA"))
	l, err := tls.Listen("tcp", "127.0.0.1:0", m.server)
	if err != nil {
		t.Fatal(err)
	}
	c := streamCollector(t, l)
	log := &testLogger{}
	f, err := New(Config{URL: "tcp+tls://" + c.addr, CAFile: other.WriteCA(t.TempDir()), Logger: log, FlushTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	f.Forward(recordLine(1, "h", "allow"))
	deadline := time.Now().Add(5 * time.Second)
	for f.Errors.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	err = f.Close()
	if f.Errors.Load() == 0 || f.Sent.Load() != 0 {
		t.Fatalf("errors=%d sent=%d: an untrusted collector must be refused", f.Errors.Load(), f.Sent.Load())
	}
	if err == nil || !strings.Contains(err.Error(), "1 audit record(s) were not forwarded") {
		t.Fatalf("Close: %v", err)
	}
	if !strings.Contains(log.String(), "certificate") {
		t.Fatalf("the log does not say why: %s", log)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.msgs) != 0 {
		t.Fatalf("the untrusted collector received %d messages", len(c.msgs))
	}
}

// A collector that is down at start gets the queued records once it is up.
func TestCollectorComesUpLater(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	log := &testLogger{}
	f, err := New(Config{URL: "tcp://" + addr, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for i := 1; i <= 5; i++ {
		f.Forward(recordLine(i, "h", "allow"))
	}
	deadline := time.Now().Add(5 * time.Second)
	for f.Errors.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if f.Errors.Load() < 2 {
		t.Fatalf("no retries: errors=%d", f.Errors.Load())
	}
	l, err = net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c := streamCollector(t, l)
	msgs := c.wait(t, 5)
	for i, m := range msgs {
		if got := parse5424(t, m).msg; got != string(recordLine(i+1, "h", "allow")) {
			t.Fatalf("message %d out of order or changed: %s", i, got)
		}
	}
	if !strings.Contains(log.String(), "cannot reach the collector") || !strings.Contains(log.String(), "connected to the collector") {
		t.Fatalf("log does not tell the operator:\n%s", log)
	}
	if n := strings.Count(log.String(), "cannot reach"); n != 1 {
		t.Fatalf("the same connection error was logged %d times; once is enough:\n%s", n, log)
	}
}

// A collector that stops reading must never slow Forward down: the queue
// fills, lines are dropped and counted, the drops are reported, and Close
// returns in bounded time.
func TestBlockedCollectorDrops(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 4)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted <- c // never read
		}
	}()
	defer func() {
		for {
			select {
			case c := <-accepted:
				c.Close()
			default:
				return
			}
		}
	}()
	log := &testLogger{}
	f, err := New(Config{URL: "tcp://" + l.Addr().String(), Logger: log, QueueSize: 16, ReportEvery: 50 * time.Millisecond, FlushTimeout: 300 * time.Millisecond, WriteTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 64<<10)
	for i := range big {
		big[i] = 'a'
	}
	const total = 2000 // 128 MB: far beyond any socket buffer
	var worst time.Duration
	start := time.Now()
	for i := 0; i < total; i++ {
		t0 := time.Now()
		f.Forward(big)
		worst = max(worst, time.Since(t0))
	}
	elapsed := time.Since(start)
	t.Logf("%d Forward calls of 64 KiB against a blocked collector: %v total, worst %v; sent %d dropped %d", total, elapsed, worst, f.Sent.Load(), f.Dropped.Load())
	// The sender is stuck in a write that only times out after 30 s: a
	// Forward that waited for it would take that long. (The bounds leave
	// room for a loaded CI machine with the race detector.)
	if worst > time.Second || elapsed > 5*time.Second {
		t.Fatalf("Forward calls took up to %v (%v in total): Forward must never wait for the collector", worst, elapsed)
	}
	if f.Dropped.Load() == 0 {
		t.Fatal("no drops counted although the collector reads nothing")
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(log.String(), "not forwarded") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(log.String(), "not forwarded") {
		t.Fatalf("drops not reported in the log:\n%s", log)
	}
	t0 := time.Now()
	cerr := f.Close()
	if d := time.Since(t0); d > 3*time.Second {
		t.Fatalf("Close took %v with a blocked collector", d)
	}
	if cerr == nil {
		t.Fatal("Close reported no undelivered records")
	}
	if got := f.Sent.Load() + f.Dropped.Load(); got != total {
		t.Fatalf("sent %d + dropped %d = %d, want every line accounted for (%d)", f.Sent.Load(), f.Dropped.Load(), got, total)
	}
	f.Forward(big)
	if got := f.Sent.Load() + f.Dropped.Load(); got != total+1 {
		t.Fatal("Forward after Close is not counted as dropped")
	}
}

func TestNewRejects(t *testing.T) {
	m := newTLSMaterial(t, false)
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"empty", Config{}, "no collector URL"},
		{"scheme", Config{URL: "http://x:1"}, "scheme must be"},
		{"no host", Config{URL: "tcp://"}, "must be tcp://HOST"},
		{"path on tcp", Config{URL: "tcp://h:1/x"}, "must be tcp://HOST"},
		{"credentials", Config{URL: "tcp://u:p@h:1"}, "must not carry credentials"},
		{"unix relative", Config{URL: "unix://dev/log"}, "ABSOLUTE/PATH"},
		{"CA without tls", Config{URL: "tcp://h:1", CAFile: m.caFile}, "not a tcp+tls:// URL"},
		{"missing CA", Config{URL: "tcp+tls://h:1", CAFile: "/nonexistent/ca.pem"}, "reading the collector CA"},
		{"cert without key", Config{URL: "tcp+tls://h:1", CertFile: m.certFile}, "both the certificate and the key"},
		{"cert key mismatch", Config{URL: "tcp+tls://h:1", CertFile: m.certFile, KeyFile: m.caFile}, "loading the client certificate"},
		{"facility", Config{URL: "udp://h", Facility: 24}, "facility"},
		{"sdid", Config{URL: "udp://h", SDID: "a b"}, "structured data ID"},
	}
	notPEM := filepath.Join(t.TempDir(), "x.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests = append(tests, struct {
		name string
		cfg  Config
		want string
	}{"CA file without PEM", Config{URL: "tcp+tls://h:1", CAFile: notPEM}, "holds no PEM certificate"})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := New(tc.cfg)
			if err == nil {
				f.Close()
				t.Fatalf("accepted %+v", tc.cfg)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

func TestParseURLDefaults(t *testing.T) {
	tests := []struct{ url, network, address string }{
		{"udp://collector", "udp", "collector:514"},
		{"udp://collector:1514", "udp", "collector:1514"},
		{"tcp://10.0.0.1", "tcp", "10.0.0.1:514"},
		{"tcp+tls://collector", "tls", "collector:6514"},
		{"TLS://[::1]", "tls", "[::1]:6514"},
		{"tls://[::1]:7000", "tls", "[::1]:7000"},
		{"unix:///dev/log", "unixauto", "/dev/log"},
		{"unixgram:///run/x", "unixgram", "/run/x"},
		{"unixstream:///run/x", "unix", "/run/x"},
	}
	for _, tc := range tests {
		var f Forwarder
		if err := f.parseURL(tc.url); err != nil {
			t.Errorf("%s: %v", tc.url, err)
			continue
		}
		if f.network != tc.network || f.address != tc.address {
			t.Errorf("%s: got %s %s, want %s %s", tc.url, f.network, f.address, tc.network, tc.address)
		}
	}
}

// BenchmarkForward measures what forwarding adds to the audit writer: one
// Forward call (copy and enqueue, or count a drop), with a UDP collector
// that reads everything.
func BenchmarkForward(b *testing.B) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer pc.Close()
	go func() {
		buf := make([]byte, 64<<10)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return
			}
		}
	}()
	f, err := New(Config{URL: "udp://" + pc.LocalAddr().String(), Logger: &testLogger{}})
	if err != nil {
		b.Fatal(err)
	}
	line := recordLine(1, "build-1", "allow")
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f.Forward(line)
	}
	b.StopTimer()
	f.Close()
	b.ReportMetric(float64(f.Sent.Load())/float64(b.N), "sent/op")
}

// Over UDP, a record larger than a datagram is dropped and counted, and the
// records after it still go through on the same socket.
func TestUDPOversizedRecord(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := packetCollector(t, pc)
	log := &testLogger{}
	f, err := New(Config{URL: "udp://" + c.addr, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	huge := []byte(`{"time":"2026-11-23T10:00:00Z","seq":2,"stage":"request","reason":"` + strings.Repeat("x", 70000) + `"}`)
	f.Forward(recordLine(1, "h", "allow"))
	f.Forward(huge)
	f.Forward(recordLine(3, "h", "deny"))
	msgs := c.wait(t, 2)
	if err := f.Close(); err == nil || f.Dropped.Load() != 1 || f.Errors.Load() != 1 || f.Sent.Load() != 2 {
		t.Fatalf("Close %v; sent %d dropped %d errors %d", err, f.Sent.Load(), f.Dropped.Load(), f.Errors.Load())
	}
	if parse5424(t, msgs[1]).msg != string(recordLine(3, "h", "deny")) {
		t.Fatalf("second datagram: %.100s", msgs[1])
	}
	if !strings.Contains(log.String(), "too large for one datagram") {
		t.Fatalf("log:\n%s", log)
	}
}

// Many records over a stream transport arrive complete and in trail order
// (the sender writes them in batches).
func TestStreamKeepsOrder(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := streamCollector(t, l)
	f, err := New(Config{URL: "tcp://" + c.addr, Logger: &testLogger{}, QueueSize: 20000})
	if err != nil {
		t.Fatal(err)
	}
	const n = 10000
	for i := 1; i <= n; i++ {
		f.Forward(recordLine(i, "h", "allow"))
	}
	msgs := c.wait(t, n)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	for i, m := range msgs {
		if want := fmt.Sprintf(`seq="%d"`, i+1); !strings.Contains(m, want) {
			t.Fatalf("message %d is not seq %d: %.120s", i, i+1, m)
		}
	}
}
