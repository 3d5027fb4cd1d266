package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/docker-authz/docker-authz/test/bench"
)

// runAllowAll is `authzbench allowall -socket PATH`: the reference plugin in
// its own process, like docker-authz, on the same kind of socket and with
// the same http.Server. GET /bench/count reports how many AuthZReq it
// answered (the Docker API measurement uses it to see which plugin dockerd
// is calling).
func runAllowAll(args []string) int {
	fs := flag.NewFlagSet("allowall", flag.ContinueOnError)
	sock := fs.String("socket", "", "unix socket to listen on")
	if err := fs.Parse(args); err != nil || *sock == "" {
		fmt.Fprintln(os.Stderr, "usage: authzbench allowall -socket PATH")
		return 2
	}
	_ = os.Remove(*sock)
	l, err := net.Listen("unix", *sock)
	if err != nil {
		fmt.Fprintln(os.Stderr, "allowall:", err)
		return 1
	}
	defer os.Remove(*sock)
	var n atomic.Uint64
	plugin := bench.AllowAll()
	mux := http.NewServeMux()
	mux.Handle("/", plugin)
	mux.HandleFunc("/AuthZPlugin.AuthZReq", func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		plugin.ServeHTTP(w, r)
	})
	mux.HandleFunc("/bench/count", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, n.Load())
	})
	// The same server settings as docker-authz (authz.Server.httpServer).
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-sigs
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}()
	if err := srv.Serve(l); err != nil && err != http.ErrServerClosed {
		fmt.Fprintln(os.Stderr, "allowall:", err)
		return 1
	}
	return 0
}

// proc is a child process: its own process group, killed with the parent
// (Pdeathsig), output to a log file.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

func startProc(name, logPath string, argv ...string) (*proc, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); f.Close(); close(p.done) }()
	return p, nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM to the process group, waits up to grace, then kills.
func (p *proc) stop(grace time.Duration) {
	if p == nil || p.exited() {
		return
	}
	_ = syscall.Kill(-p.pid(), syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = syscall.Kill(-p.pid(), syscall.SIGKILL)
		<-p.done
	}
}

// tail returns the end of the process log, for error messages.
func (p *proc) tail() string {
	b, _ := os.ReadFile(p.log)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return strings.TrimSpace(string(b))
}

// waitSocket waits until something accepts on the unix socket.
func waitSocket(p *proc, path string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if p.exited() {
			return fmt.Errorf("%s exited: %s", p.name, p.tail())
		}
		if c, err := net.Dial("unix", path); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s did not listen on %s within %v: %s", p.name, path, d, p.tail())
}

// memStatus is VmRSS and VmHWM (peak RSS) of a process, in KiB.
type memStatus struct{ RSS, HWM uint64 }

func readMem(pid int) (memStatus, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return memStatus{}, err
	}
	return parseMem(b)
}

func parseMem(b []byte) (memStatus, error) {
	var m memStatus
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		var dst *uint64
		switch k {
		case "VmRSS":
			dst = &m.RSS
		case "VmHWM":
			dst = &m.HWM
		default:
			continue
		}
		f := strings.Fields(v)
		if len(f) != 2 || f[1] != "kB" {
			return m, fmt.Errorf("unexpected %s line %q", k, sc.Text())
		}
		n, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			return m, fmt.Errorf("unexpected %s line %q", k, sc.Text())
		}
		*dst = n
	}
	if m.RSS == 0 || m.HWM == 0 {
		return m, fmt.Errorf("no VmRSS/VmHWM in /proc status")
	}
	return m, nil
}
