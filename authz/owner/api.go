package owner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/docker/docker/client"
)

// dockerAPI is the resolver's Docker API client: github.com/docker/docker's
// client (v20.10), set up so that
//   - it speaks only to a unix socket (newDockerAPI refuses other hosts);
//   - every request is pinned to APIVersion (no version negotiation, so no
//     extra /_ping) and carries TokenHeader and userAgent, the events
//     subscription included;
//   - every answer but the events stream is read to at most maxAPIBody
//     bytes: a longer one is an error (errAnswerTooLarge), never silently
//     truncated;
//   - an answer that is neither 2xx nor an error status (a redirect) is an
//     error, not followed;
//   - there is no client-wide timeout: each call is bounded by its context
//     (the resolver's lookup timeout).
//
// The client puts references into the URL path as they are and cleans the
// path (path.Join), so only references checkRef accepted may be passed: no
// "/" but an optional leading one, which the cleaning drops ("/web" is asked
// as "web", as dockerd's router itself does: it redirects a path with "//"
// to the cleaned one).
//
// Errors: a 404 answer satisfies client.IsErrNotFound (see isNotFound); any
// other non-2xx answer is "Error response from daemon: <dockerd's message>".
type dockerAPI struct {
	*client.Client
	tr *boundedTransport
}

// maxAPIBody bounds what the resolver reads from one API answer (the
// events stream excepted).
const maxAPIBody = 32 << 20

// userAgent is the User-Agent of every lookup.
const userAgent = "docker-authz-owner-lookup"

// newDockerAPI returns a client for host, which must be unix:///path (or
// unix:path); each request carries token in TokenHeader.
func newDockerAPI(host, token string) (*dockerAPI, error) {
	path, err := unixSocketPath(host)
	if err != nil {
		return nil, err
	}
	tr := &boundedTransport{max: maxAPIBody, base: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
		MaxIdleConns:          16,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       30 * time.Second,
		ResponseHeaderTimeout: 0, // bounded by each request's context
		DisableCompression:    true,
	}}
	cli, err := client.NewClientWithOpts(
		// WithHost before WithHTTPClient: WithHost reconfigures the client's
		// transport at the time, which must not be ours (it would replace
		// the context-aware dialer).
		client.WithHost("unix://"+path),
		client.WithHTTPClient(&http.Client{Transport: tr}),
		client.WithVersion(APIVersion),
		client.WithHTTPHeaders(map[string]string{TokenHeader: token, "User-Agent": userAgent}),
	)
	if err != nil {
		return nil, fmt.Errorf("--docker-host %q: %v", host, err)
	}
	return &dockerAPI{Client: cli, tr: tr}, nil
}

// unixSocketPath returns the socket path of a unix:// Docker host, or the
// operator-facing reason it is not one.
func unixSocketPath(host string) (string, error) {
	u, err := url.Parse(host)
	if err != nil {
		return "", fmt.Errorf("--docker-host %q: %v", host, err)
	}
	if u.Scheme != "unix" {
		// TCP would need the plugin's own client certificate; dockerd's
		// unix socket is the only supported transport.
		return "", fmt.Errorf("--docker-host %q: only unix:///path/to/docker.sock is supported", host)
	}
	path := u.Path
	if path == "" {
		path = u.Opaque
	}
	if path == "" {
		return "", fmt.Errorf("--docker-host %q: no socket path", host)
	}
	return path, nil
}

// isNotFound reports whether dockerd answered 404 (no such object).
func isNotFound(err error) bool { return client.IsErrNotFound(err) }

// Close closes the idle connections to dockerd. (client.Client's own Close
// cannot: it only knows an *http.Transport, and this one is wrapped.)
func (a *dockerAPI) Close() error {
	a.tr.CloseIdleConnections()
	return nil
}

// streamKey marks a context whose events request may be read without
// bound; its value records whether dockerd answered that request.
type streamKey struct{}

// eventsPath is the one API path whose answer is a stream.
const eventsPath = "/v" + APIVersion + "/events"

// streamContext marks ctx as the context of an events subscription: the
// answer to GET /events under it is not bounded by maxAPIBody, and answered
// is set when dockerd answers it with a 2xx status (the stream's headers).
func streamContext(ctx context.Context, answered *atomic.Bool) context.Context {
	return context.WithValue(ctx, streamKey{}, answered)
}

// streamAnswered returns the flag of an events request, nil for any other.
func streamAnswered(req *http.Request) *atomic.Bool {
	answered, _ := req.Context().Value(streamKey{}).(*atomic.Bool)
	if answered == nil || req.Method != http.MethodGet || req.URL.Path != eventsPath {
		return nil
	}
	return answered
}

// boundedTransport is the http.RoundTripper under the Docker client. It
// refuses answers that are neither 2xx nor 4xx/5xx (redirects: the Docker
// API has none, and following one would move a lookup elsewhere) and
// limits every answer body to max bytes, except the events stream
// (isStream), which is read for as long as the subscription lives.
type boundedTransport struct {
	base *http.Transport
	max  int64
}

func (t *boundedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode < 200 || resp.StatusCode >= 300 && resp.StatusCode < 400 {
		resp.Body.Close()
		return nil, fmt.Errorf("dockerd answered %s %s with HTTP %d, which is not a Docker API answer; docker-authz does not follow it (is --docker-host dockerd's socket?)", req.Method, req.URL.Path, resp.StatusCode)
	}
	if answered := streamAnswered(req); answered != nil {
		if resp.StatusCode/100 == 2 {
			answered.Store(true)
		}
	} else {
		resp.Body = &boundedBody{rc: resp.Body, left: t.max, max: t.max, what: req.Method + " " + req.URL.Path}
	}
	return resp, nil
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the
// underlying transport.
func (t *boundedTransport) CloseIdleConnections() { t.base.CloseIdleConnections() }

// errAnswerTooLarge is an answer longer than the bound.
type errAnswerTooLarge struct {
	what string // method and path
	max  int64
}

func (e *errAnswerTooLarge) Error() string {
	return fmt.Sprintf("dockerd's answer to %s is longer than %d bytes, more than docker-authz reads from one answer; the lookup is refused", e.what, e.max)
}

// boundedBody reads at most max bytes of rc; reading past them fails with
// errAnswerTooLarge (an answer of exactly max bytes is read whole).
type boundedBody struct {
	rc   io.ReadCloser
	left int64
	max  int64
	what string // method and path, for the error
}

func (b *boundedBody) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if b.left <= 0 {
		// The bound is reached: one more byte means the answer is too long.
		var one [1]byte
		n, err := b.rc.Read(one[:])
		if n > 0 {
			return 0, &errAnswerTooLarge{what: b.what, max: b.max}
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *boundedBody) Close() error { return b.rc.Close() }

// eventsConnectError tells why the subscription client.Events has just
// returned is not connected, or nil when it is. client.Events returns once
// dockerd has answered the request or once the request has failed, but on
// failure it returns before it sends the error, so an empty errs says
// nothing; answered (set by the transport on a 2xx answer, before Events
// returns) does. When the request failed, its error is on its way to errs.
func eventsConnectError(answered bool, errs <-chan error) error {
	if answered {
		return nil
	}
	err, ok := <-errs
	if !ok || err == nil {
		return errors.New("the events request ended without an answer or an error")
	}
	return err
}
