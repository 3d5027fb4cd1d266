package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/docker-authz/docker-authz/test/bench"
)

// message is one pre-encoded plugin request: the HTTP/1.1 bytes dockerd's
// plugin client would write on the socket.
type message struct {
	call string
	req  []byte // AuthZReq
	res  []byte // AuthZRes, sent when the request was allowed
}

func httpPost(path string, body []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "POST %s HTTP/1.1\r\nHost: plugin\r\nUser-Agent: Go-http-client/1.1\r\nContent-Length: %d\r\nAccept: application/vnd.docker.plugins.v1.2+json\r\nContent-Type: application/json\r\nAccept-Encoding: gzip\r\n\r\n", path, len(body))
	b.Write(body)
	return b.Bytes()
}

// schedule is the request mix as a sequence of 100 messages in a fixed
// pseudo-random order, each call appearing Weight times.
func schedule(who bench.Caller) []message {
	var out []message
	for _, c := range bench.Mix() {
		m := message{call: c.Name, req: httpPost("/AuthZPlugin.AuthZReq", c.AuthZReq(who)), res: httpPost("/AuthZPlugin.AuthZRes", c.AuthZRes(who))}
		for i := 0; i < c.Weight; i++ {
			out = append(out, m)
		}
	}
	r := rand.New(rand.NewPCG(7, 7))
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// conn is one plugin connection, used by one goroutine, kept alive like
// dockerd's plugin client.
type conn struct {
	c  net.Conn
	br *bufio.Reader
}

func dial(sock string) (*conn, error) {
	c, err := net.DialTimeout("unix", sock, 5*time.Second)
	if err != nil {
		return nil, err
	}
	return &conn{c: c, br: bufio.NewReaderSize(c, 16<<10)}, nil
}

var allowTrue = []byte(`"Allow":true`)

// roundTrip sends one message and reports whether the plugin allowed it.
func (c *conn) roundTrip(msg []byte) (allowed bool, body []byte, err error) {
	_ = c.c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.c.Write(msg); err != nil {
		return false, nil, err
	}
	res, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return false, nil, err
	}
	body, err = io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return false, nil, err
	}
	if res.StatusCode != http.StatusOK {
		return false, body, fmt.Errorf("HTTP %d: %s", res.StatusCode, bytes.TrimSpace(body))
	}
	return bytes.Contains(body, allowTrue), body, nil
}

// phaseResult is what one measured phase produced.
type phaseResult struct {
	elapsed   time.Duration
	decisions uint64 // AuthZReq answered
	allowed   uint64
	responses uint64 // AuthZRes answered
	errors    uint64
	firstErr  string
	reqLat    []int64 // AuthZReq round trip, ns
	resLat    []int64 // AuthZRes round trip, ns
	perCall   map[string][]int64
}

// counter, when set, counts every AuthZReq answered (for the RSS series).
type loadSpec struct {
	sock     string
	conns    int
	warmup   time.Duration
	duration time.Duration // 0: until decisions reaches limit
	limit    uint64        // stop after this many decisions (0: no limit)
	sched    []message
	record   bool
	counter  *atomic.Uint64
}

// drive runs spec.conns connections, each sending the mix in a closed loop
// (next message as soon as the answer is in), first for the warm-up and
// then measured.
func drive(ctx context.Context, spec loadSpec) (*phaseResult, error) {
	conns := make([]*conn, spec.conns)
	for i := range conns {
		c, err := dial(spec.sock)
		if err != nil {
			for _, x := range conns[:i] {
				x.c.Close()
			}
			return nil, fmt.Errorf("connect to %s: %w", spec.sock, err)
		}
		conns[i] = c
	}
	defer func() {
		for _, c := range conns {
			c.c.Close()
		}
	}()
	var measuring atomic.Bool
	var stop atomic.Bool
	var total atomic.Uint64
	measuring.Store(spec.warmup <= 0)
	results := make([]*phaseResult, spec.conns)
	var wg sync.WaitGroup
	for i, c := range conns {
		r := &phaseResult{perCall: map[string][]int64{}}
		if spec.record {
			r.reqLat = make([]int64, 0, 4096)
			r.resLat = make([]int64, 0, 4096)
		}
		results[i] = r
		wg.Add(1)
		go func(i int, c *conn, r *phaseResult) {
			defer wg.Done()
			n := len(spec.sched)
			for k := i * 37; !stop.Load(); k++ {
				m := spec.sched[k%n]
				t0 := time.Now()
				allowed, body, err := c.roundTrip(m.req)
				t1 := time.Now()
				meas := measuring.Load()
				if err != nil {
					if meas {
						r.errors++
						if r.firstErr == "" {
							r.firstErr = m.call + " AuthZReq: " + err.Error()
						}
					}
					if c2, derr := dial(spec.sock); derr == nil {
						c.c.Close()
						*c = *c2
					} else {
						time.Sleep(10 * time.Millisecond)
					}
					continue
				}
				if spec.counter != nil {
					spec.counter.Add(1)
				}
				if meas {
					r.decisions++
					if spec.record {
						d := int64(t1.Sub(t0))
						r.reqLat = append(r.reqLat, d)
						r.perCall[m.call] = append(r.perCall[m.call], d)
					}
				}
				if !allowed {
					if meas && r.firstErr == "" {
						r.firstErr = m.call + " denied: " + string(bytes.TrimSpace(body))
					}
					continue
				}
				if meas {
					r.allowed++
				}
				_, _, err = c.roundTrip(m.res)
				t2 := time.Now()
				if err != nil {
					if meas {
						r.errors++
						if r.firstErr == "" {
							r.firstErr = m.call + " AuthZRes: " + err.Error()
						}
					}
					continue
				}
				if meas {
					r.responses++
					if spec.record {
						r.resLat = append(r.resLat, int64(t2.Sub(t1)))
					}
					if spec.limit > 0 && total.Add(1) >= spec.limit {
						stop.Store(true)
					}
				}
			}
		}(i, c, r)
	}
	sleepCtx(ctx, spec.warmup)
	measuring.Store(true)
	start := time.Now()
	if spec.duration > 0 {
		sleepCtx(ctx, spec.duration)
		stop.Store(true)
	} else {
		go func() {
			<-ctx.Done()
			stop.Store(true)
		}()
	}
	wg.Wait()
	out := &phaseResult{elapsed: time.Since(start), perCall: map[string][]int64{}}
	for _, r := range results {
		out.decisions += r.decisions
		out.allowed += r.allowed
		out.responses += r.responses
		out.errors += r.errors
		if out.firstErr == "" {
			out.firstErr = r.firstErr
		}
		out.reqLat = append(out.reqLat, r.reqLat...)
		out.resLat = append(out.resLat, r.resLat...)
		for k, v := range r.perCall {
			out.perCall[k] = append(out.perCall[k], v...)
		}
	}
	return out, ctx.Err()
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// getCount asks the allow-all plugin how many AuthZReq it answered.
func getCount(sock string) (uint64, error) {
	c, err := dial(sock)
	if err != nil {
		return 0, err
	}
	defer c.c.Close()
	if _, err := c.c.Write([]byte("GET /bench/count HTTP/1.1\r\nHost: plugin\r\n\r\n")); err != nil {
		return 0, err
	}
	res, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return 0, err
	}
	return strconv.ParseUint(string(bytes.TrimSpace(b)), 10, 64)
}
