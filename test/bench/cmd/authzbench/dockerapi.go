package main

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/docker-authz/docker-authz/test/bench"
)

const (
	modeNone = "no plugin"
	opList   = "GET /containers/json"
	opCreate = "POST /containers/create + DELETE"
	apiImage = "authzbench-busybox:latest"
)

var apiModes = []string{modeNone, pluginAllowAll, pluginAuthz}

// dockerd is a throw-away dockerd: TLS on a loopback port for the user
// (alice's client certificate), a unix socket for setup, temp dirs, and the
// authorization plugins in a daemon.json it reloads on SIGHUP.
type dockerd struct {
	p      *proc
	dir    string
	config string
	unix   *http.Client
	tls    *http.Client
	base   string // https://127.0.0.1:PORT
}

func dockerAPI(ctx context.Context, o options, st *stack, logf func(string, ...any)) (*APIResult, error) {
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("the Docker API measurement starts dockerd and needs root (or run with -dockerd=false)")
	}
	for _, n := range []string{"dockerd", "containerd", "runc", "busybox"} {
		if _, err := exec.LookPath(n); err != nil {
			return nil, errNoDockerd
		}
	}
	logf("starting dockerd")
	d, err := startDockerd(st)
	if err != nil {
		return nil, err
	}
	defer d.stop()
	var ver struct{ Version string }
	if err := d.getJSON(d.unix, "http://docker/version", &ver); err != nil {
		return nil, err
	}
	if err := d.importBusybox(st.dir); err != nil {
		return nil, err
	}
	body := bytes.Replace(bench.CreateBody, []byte(`"Image":"alpine:latest"`), []byte(`"Image":"`+apiImage+`"`), 1)
	if bytes.Equal(body, bench.CreateBody) {
		return nil, fmt.Errorf("the captured create body has no \"Image\":\"alpine:latest\"")
	}
	lat := map[string]map[string][]int64{opList: {}, opCreate: {}}
	for r := 0; r < o.rounds; r++ {
		for i := range apiModes {
			mode := apiModes[(i+r)%len(apiModes)]
			if err := d.setMode(st, mode); err != nil {
				return nil, err
			}
			for k := 0; k < 20; k++ { // warm-up: connections, plugin client, caches
				if _, err := d.call("GET", "/v1.41/containers/json", nil, 200); err != nil {
					return nil, fmt.Errorf("%s: %w", mode, err)
				}
			}
			for k := 0; k < o.apiGets; k++ {
				t0 := time.Now()
				if _, err := d.call("GET", "/v1.41/containers/json", nil, 200); err != nil {
					return nil, fmt.Errorf("%s: %w", mode, err)
				}
				lat[opList][mode] = append(lat[opList][mode], int64(time.Since(t0)))
			}
			for k := 0; k < o.apiRuns; k++ {
				t0 := time.Now()
				b, err := d.call("POST", "/v1.41/containers/create", body, 201)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", mode, err)
				}
				var created struct{ Id string }
				if err := json.Unmarshal(b, &created); err != nil || created.Id == "" {
					return nil, fmt.Errorf("%s: create answered %s", mode, b)
				}
				if _, err := d.call("DELETE", "/v1.41/containers/"+created.Id, nil, 204); err != nil {
					return nil, fmt.Errorf("%s: %w", mode, err)
				}
				lat[opCreate][mode] = append(lat[opCreate][mode], int64(time.Since(t0)))
			}
			logf("docker API round %d/%d  %-12s GET p50 %s  create+delete p50 %s", r+1, o.rounds, mode,
				fmtDur(quantileUnsorted(lat[opList][mode], 0.5)), fmtDur(quantileUnsorted(lat[opCreate][mode], 0.5)))
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
		}
	}
	res := &APIResult{Dockerd: ver.Version, Ops: map[string]map[string]*Latency{}, MeanRatio: map[string]map[string]float64{}, MedianRatio: map[string]map[string]float64{}}
	for op, byMode := range lat {
		res.Ops[op], res.MeanRatio[op], res.MedianRatio[op] = map[string]*Latency{}, map[string]float64{}, map[string]float64{}
		for mode, v := range byMode {
			l := summarize(v)
			res.Ops[op][mode] = &l
		}
		none := res.Ops[op][modeNone]
		for mode, l := range res.Ops[op] {
			res.MeanRatio[op][mode] = ratio(l.Mean, none.Mean)
			res.MedianRatio[op][mode] = ratio(l.P50, none.P50)
		}
	}
	return res, nil
}

func startDockerd(st *stack) (*dockerd, error) {
	dir := filepath.Join(st.dir, "dockerd")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	d := &dockerd{dir: dir, config: filepath.Join(dir, "daemon.json")}
	if err := os.WriteFile(d.config, []byte(`{"authorization-plugins": []}`+"\n"), 0o600); err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	sock := filepath.Join(dir, "docker.sock")
	ns := "authzbench" + randHex(4)
	d.p, err = startProc("dockerd", filepath.Join(dir, "dockerd.log"), "dockerd",
		"--config-file", d.config,
		"--data-root", filepath.Join(dir, "data"),
		"--exec-root", filepath.Join(dir, "exec"),
		"--pidfile", filepath.Join(dir, "dockerd.pid"),
		"-H", "unix://"+sock,
		"-H", "tcp://127.0.0.1:"+strconv.Itoa(port),
		"--tlsverify", "--tlscacert", st.pki.CAFile, "--tlscert", st.pki.ServerCert, "--tlskey", st.pki.ServerKey,
		"--iptables=false", "--ip6tables=false", "--bridge=none",
		"--containerd-namespace", ns, "--containerd-plugins-namespace", ns+"p",
		"--log-level", "info")
	if err != nil {
		return nil, err
	}
	d.unix = &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		},
	}}
	alice := st.pki.Users["alice"]
	cert, err := tls.LoadX509KeyPair(alice.CertFile, alice.KeyFile)
	if err != nil {
		d.stop()
		return nil, err
	}
	caPEM, err := os.ReadFile(st.pki.CAFile)
	if err != nil {
		d.stop()
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	d.tls = &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{
		TLSClientConfig:     &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool, ServerName: "127.0.0.1"},
		MaxIdleConnsPerHost: 4,
	}}
	d.base = "https://127.0.0.1:" + strconv.Itoa(port)
	deadline := time.Now().Add(60 * time.Second)
	for {
		if d.p.exited() {
			return nil, fmt.Errorf("dockerd exited: %s", d.p.tail())
		}
		if res, err := d.unix.Get("http://docker/_ping"); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			d.stop()
			return nil, fmt.Errorf("dockerd not up within 60s: %s", d.p.tail())
		}
		time.Sleep(200 * time.Millisecond)
	}
	return d, nil
}

func (d *dockerd) stop() {
	d.p.stop(30 * time.Second)
	// dockerd unmounts on a clean stop; whatever is left goes so the temp
	// tree can be removed.
	if b, err := os.ReadFile("/proc/self/mounts"); err == nil {
		var mnts []string
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) > 1 && strings.HasPrefix(f[1], d.dir+"/") {
				mnts = append(mnts, f[1])
			}
		}
		for i := len(mnts) - 1; i >= 0; i-- {
			_ = syscall.Unmount(mnts[i], syscall.MNT_DETACH)
		}
	}
}

func (d *dockerd) getJSON(c *http.Client, url string, v any) error {
	res, err := c.Get(url)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		b, _ := io.ReadAll(res.Body)
		return fmt.Errorf("GET %s: %d %s", url, res.StatusCode, b)
	}
	return json.NewDecoder(res.Body).Decode(v)
}

// call makes one API call as alice over TLS and checks the status.
func (d *dockerd) call(method, path string, body []byte, want int) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, d.base+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", "Docker-Client/28.2.2 (linux)")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := d.tls.Do(req)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return nil, err
	}
	if res.StatusCode != want {
		return b, fmt.Errorf("%s %s: HTTP %d (want %d): %s", method, path, res.StatusCode, want, bytes.TrimSpace(b))
	}
	return b, nil
}

// importBusybox makes the image the creates use, without a registry.
func (d *dockerd) importBusybox(dir string) error {
	bb, err := exec.LookPath("busybox")
	if err != nil {
		return err
	}
	data, err := os.ReadFile(bb)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	_ = tw.WriteHeader(&tar.Header{Name: "bin/", Typeflag: tar.TypeDir, Mode: 0o755})
	_ = tw.WriteHeader(&tar.Header{Name: "bin/busybox", Mode: 0o755, Size: int64(len(data))})
	_, _ = tw.Write(data)
	_ = tw.WriteHeader(&tar.Header{Name: "bin/sh", Typeflag: tar.TypeSymlink, Linkname: "busybox", Mode: 0o777})
	if err := tw.Close(); err != nil {
		return err
	}
	repo, tag, _ := strings.Cut(apiImage, ":")
	res, err := d.unix.Post("http://docker/v1.41/images/create?fromSrc=-&repo="+repo+"&tag="+tag, "application/x-tar", &buf)
	if err != nil {
		return err
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || bytes.Contains(b, []byte(`"error"`)) {
		return fmt.Errorf("image import: %d %s", res.StatusCode, b)
	}
	return nil
}

// setMode points dockerd at one plugin (or none) through daemon.json and
// SIGHUP, and waits until a ping shows that exactly that plugin is asked.
func (d *dockerd) setMode(st *stack, mode string) error {
	plugins := "[]"
	switch mode {
	case pluginAllowAll:
		plugins = `["` + st.allowName + `"]`
	case pluginAuthz:
		plugins = `["` + st.authzName + `"]`
	}
	if err := os.WriteFile(d.config, []byte(`{"authorization-plugins": `+plugins+"}\n"), 0o600); err != nil {
		return err
	}
	if err := syscall.Kill(d.p.pid(), syscall.SIGHUP); err != nil {
		return err
	}
	counts := func() (uint64, int64, error) {
		n, err := getCount(st.allowSock)
		if err != nil {
			return 0, 0, err
		}
		fi, err := os.Stat(st.auditLog)
		if err != nil {
			return 0, 0, err
		}
		return n, fi.Size(), nil
	}
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		a0, z0, err := counts()
		if err != nil {
			return err
		}
		if _, err := d.call("GET", "/_ping", nil, 200); err != nil && mode != modeNone {
			// The previous plugin may refuse; keep waiting for the reload.
			time.Sleep(50 * time.Millisecond)
			continue
		}
		a1, z1, err := counts()
		if err != nil {
			return err
		}
		allowAsked, authzAsked := a1 > a0, z1 > z0
		switch {
		case mode == modeNone && !allowAsked && !authzAsked,
			mode == pluginAllowAll && allowAsked && !authzAsked,
			mode == pluginAuthz && authzAsked && !allowAsked:
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("dockerd did not switch to %q within 15s after SIGHUP: %s", mode, d.p.tail())
}
