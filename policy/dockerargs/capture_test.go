package dockerargs

import (
	"encoding/base64"
	"encoding/json"
	stdflag "flag"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// -capture re-records testdata/cli-20.10.24.json by running the real docker
// CLI 20.10 (Debian's docker.io, /usr/bin/docker) against a recording fake
// daemon: go test ./policy/dockerargs -run TestCaptureCLI -capture
var captureFlag = stdflag.Bool("capture", false, "re-record "+captureFile+" with the real docker CLI 20.10")

const captureFile = "testdata/cli-20.10.24.json"

// captured is one request the CLI sent for a command line.
type captured struct {
	Args        string `json:"args"`
	Method      string `json:"method"`
	URI         string `json:"uri"`
	ContentType string `json:"content_type"`
	Body        string `json:"body"`
}

// captureArgs are the command lines recorded; each must translate to the
// same request (see TestTranslateMatchesCLI).
var captureArgs = []string{
	"run --privileged -v /:/h alpine",
	"exec -u root c sh",
	"pull evil.io/x",
	"volume create -o o=bind -o type=none -o device=/",
	"ps",
	"build -t x .",
	"plugin install x",
	"swarm init",
	"images",
	"logs c",
	"run -d -p 8080:80 --tmpfs /tmp -v data:/data --cap-drop ALL --memory 4g --cpus 2 --pids-limit 1024 --user 1000 --security-opt no-new-privileges --name web alpine sleep 1",
	"run --rm --network none --cap-add NET_ADMIN alpine",
	"run --mount type=bind,src=/,dst=/h alpine",
	"volume create data",
	"pull alpine",
	"run -e A=b --device /dev/fuse --pid host --net host --ipc host --uts host --userns host --security-opt seccomp=unconfined --sysctl net.ipv4.ip_forward=1 --cgroup-parent x --runtime runc --oom-kill-disable --volumes-from other --entrypoint sh --read-only --group-add 10 --label a=b --restart always -w /x -h hname alpine",
	"run -v /srv:/srv:ro --cap-add ALL --cap-drop NET_RAW --memory-swap 8g alpine true",
	"exec c ls",
	"exec --privileged c sh",
	// added for the policy test cases and explain
	"create --name x alpine",
	"run -t --rm alpine sh",
	"run -i alpine",
	"run --cap-add SYS_ADMIN --cap-add cap_net_raw alpine",
	"run --security-opt apparmor=unconfined --security-opt label=disable --security-opt systempaths=unconfined alpine",
	"run --security-opt seccomp:unconfined alpine",
	"run --device-cgroup-rule 'c 1:3 mr' alpine",
	"run --device /dev/sda:/dev/xvda:r alpine",
	"run --gpus all alpine",
	"run --cgroupns host alpine",
	"run --mount type=volume,src=v,dst=/v alpine",
	"run --mount type=bind,source=/srv/builds,target=/b,readonly alpine",
	"run --mount type=tmpfs,dst=/t alpine",
	"run -v /var/run/docker.sock:/var/run/docker.sock alpine",
	"run --memory 512m --cpus 0.5 --pids-limit 100 --user 1000:1000 --cap-drop ALL --security-opt no-new-privileges:true alpine",
	"run --cpu-quota 50000 --cpu-period 100000 -m 1g alpine",
	"run --network container:other alpine",
	"run --network mynet alpine",
	"run --privileged registry.internal.example/team/app:1.0",
	"run evil.io/x",
	"run -P --expose 9000 alpine",
	"run -p 127.0.0.1:8080:80/udp alpine",
	"run --read-only --tmpfs /run:rw,size=64m alpine",
	"run --log-driver json-file --log-opt max-size=10m alpine",
	"run --add-host a:1.2.3.4 --dns 8.8.8.8 --dns-search example.com alpine",
	"run --ulimit nofile=1024:2048 --shm-size 64m alpine",
	"run --oom-kill-disable=false --init alpine",
	"run --sysctl net.ipv4.ip_unprivileged_port_start=0 alpine",
	"run -u root alpine id",
	"run --volume-driver rexray -v data:/data alpine",
	"run --hostname h --domainname d --stop-signal SIGINT --stop-timeout 5 alpine",
	"run --workdir /w alpine",
	"run --restart on-failure:3 alpine",
	"create -i alpine",
	"run -d -i alpine",
	"run --security-opt systempaths=unconfined alpine",
	"run -v /data alpine",
	"run --entrypoint '' alpine",
	"run --memory-swap -1 --memory-reservation 100m --cpu-shares 512 --cpuset-cpus 0-1 alpine",
	"exec -t c sh",
	"exec -d c sh",
	"exec -e A=b -w /tmp c env",
	"exec -u 0 c id",
	"pull registry.internal.example/team/app:1.0",
	"pull docker.io/library/alpine:3.19",
	"pull alpine@sha256:4bcff63911fcb4448bd4fdacec207030997caf25e9bea4045fa6c8c44de311d1",
	"push registry.internal.example/team/app:1.0",
	"push alpine",
	"build -t a -t b:2 -q --force-rm --rm=false .",
	"build -f sub/Dockerfile.x .",
	"build --memory-swap 2g --cpu-quota 1000 --cpu-period 2000 --cpu-shares 10 --shm-size 1g --ulimit nofile=5:6 --add-host h:1.1.1.1 --cache-from alpine .",
	"tag alpine evil.io/x:1",
	"build --network host .",
	"build -t registry.internal.example/app:1 --build-arg A=b --label l=v .",
	"build --cgroup-parent x --no-cache --pull .",
	"build --security-opt seccomp=unconfined .",
	"build -f Dockerfile --target t --memory 1g .",
	"volume create --driver other v",
	"volume create --label a=b v",
	"volume ls",
	"volume rm v",
	"network create n",
	"network create --driver macvlan n",
	"network create -d bridge --internal --subnet 10.9.0.0/24 n",
	"network connect host c",
	"network connect n c",
	"network ls",
	"network disconnect n c",
	"network disconnect -f n c",
	"network rm n",
	"plugin install --grant-all-permissions x",
	"plugin install --alias y --grant-all-permissions vieux/sshfs:latest",
	"plugin enable x",
	"plugin disable x",
	"plugin rm x",
	"plugin set x A=b",
	"plugin ls",
	"swarm init --advertise-addr 10.0.0.1",
	"swarm join --token t 10.0.0.1:2377",
	"swarm leave --force",
	"swarm leave",
	"cp x c:/",
	"cp x c:/etc/",
	"cp c:/etc/passwd .",
	"commit c",
	"commit --change 'USER root' c evil.io/x:1",
	"commit -c 'CMD [\"sh\"]' -c 'ENV A=b' -m msg -a me -p=false c img",
	"update --memory 1g c",
	"update --cpus 2 --pids-limit 10 c",
	"update --memory 2g --memory-swap 4g --restart always c",
	"load",
	"import https://example.com/x.tar img:1",
	"start c",
	"stop c",
	"attach c",
	"stop -t 3 c",
	"restart c",
	"kill c",
	"kill -s HUP c",
	"rm c",
	"rm -f -v c",
	"logs -f --tail 10 c",
	"top c",
	"pause c",
	"unpause c",
	"rename c d",
	"wait c",
	"port c",
	"diff c",
	"export c",
	"rmi alpine",
	"rmi -f alpine",
	"history alpine",
	"image inspect alpine",
	"container inspect c",
	"info",
	"version",
	"ps -a",
	"ps -q --filter status=running",
	"images -a",
	"system df",
	"container prune -f",
	"image prune -f",
	"volume prune -f",
	"network prune -f",
}

// recorder is a fake dockerd that answers just enough for the CLI to send
// the request that decides the command, and records everything.
type recorder struct {
	mu   sync.Mutex
	reqs []captured
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	path := req.URL.Path
	if strings.HasSuffix(path, "/_ping") {
		w.Header().Set("API-Version", "1.41")
		w.Header().Set("OSType", "linux")
		w.Header().Set("Docker-Experimental", "false")
		w.Header().Set("Builder-Version", "1")
		_, _ = io.WriteString(w, "OK")
		return
	}
	rec := captured{Method: req.Method, URI: req.URL.RequestURI(), ContentType: req.Header.Get("Content-Type"), Body: string(body)}
	if ct := req.Header.Get("Content-Type"); ct != "" && ct != "application/json" {
		rec.Body = "" // dockerd forwards only JSON bodies to plugins
	}
	r.mu.Lock()
	r.reqs = append(r.reqs, rec)
	r.mu.Unlock()
	switch {
	case req.Method == http.MethodHead && strings.HasSuffix(path, "/archive"):
		st, _ := json.Marshal(map[string]any{"name": "/", "size": 4096, "mode": 2147484141, "mtime": "2020-01-01T00:00:00Z", "linkTarget": ""})
		w.Header().Set("X-Docker-Container-Path-Stat", base64.StdEncoding.EncodeToString(st))
		return
	case req.Method == http.MethodGet && strings.HasSuffix(path, "/plugins/privileges"):
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, "[]")
		return
	case req.Method == http.MethodGet && strings.HasSuffix(path, "/containers/c/json"):
		// exec and logs inspect the container first
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"Id":"c","Name":"/c","State":{"Running":true,"Status":"running"},"Config":{"Tty":false},"HostConfig":{}}`)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusInternalServerError)
	_, _ = io.WriteString(w, `{"message":"recorded by the docker-authz capture"}`)
}

func (r *recorder) take() []captured {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.reqs
	r.reqs = nil
	return out
}

func TestCaptureCLI(t *testing.T) {
	if !*captureFlag {
		t.Skip("run with -capture to re-record " + captureFile)
	}
	cli := "/usr/bin/docker"
	out, err := exec.Command(cli, "--version").Output()
	if err != nil || !strings.Contains(string(out), "20.10.") {
		t.Fatalf("%s is not the docker CLI 20.10 (Debian's docker.io): %q %v", cli, out, err)
	}
	dir := t.TempDir()
	sock := filepath.Join(dir, "d.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	srv := &http.Server{Handler: rec, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	work := filepath.Join(dir, "work")
	if err := os.MkdirAll(work, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(work, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{"Dockerfile": "FROM alpine\n", "x": "x\n", "sub/Dockerfile.x": "FROM alpine\n"} {
		if err := os.WriteFile(filepath.Join(work, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var all []captured
	for _, a := range captureArgs {
		args, err := SplitArgs(a)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(cli, args...)
		cmd.Dir = work
		cmd.Env = []string{"HOME=" + dir, "PATH=/usr/bin:/bin", "DOCKER_HOST=unix://" + sock, "DOCKER_CONFIG=" + filepath.Join(dir, "cfg"), "DOCKER_BUILDKIT=0"}
		done := make(chan struct{})
		go func() {
			_ = cmd.Run()
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
			t.Fatalf("%q did not finish", a)
		}
		reqs := rec.take()
		if len(reqs) == 0 {
			t.Fatalf("%q sent no request", a)
		}
		last := reqs[len(reqs)-1]
		last.Args = a
		all = append(all, last)
	}
	data, err := json.MarshalIndent(all, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(captureFile, append(data, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("recorded %d command lines in %s", len(all), captureFile)
}
