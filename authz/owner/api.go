package owner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// dockerAPI is the resolver's Docker API client: GET requests over dockerd's
// unix socket, decoded into github.com/docker/docker/api/types.
//
// Why not github.com/docker/docker/client: at v20.10.24 it needs
// github.com/docker/distribution and a github.com/docker/go-connections
// older than the one this module uses (sockets.DialPipe was removed), and
// the resolver needs only five GET endpoints plus the events stream, with
// its own timeouts and a clear "stream connected" signal.
type dockerAPI struct {
	hc    *http.Client
	base  string // http://docker/v1.41
	token string
}

// maxAPIBody bounds what the resolver reads from one API answer.
const maxAPIBody = 32 << 20

func newDockerAPI(host, token string) (*dockerAPI, error) {
	u, err := url.Parse(host)
	if err != nil {
		return nil, fmt.Errorf("--docker-host %q: %v", host, err)
	}
	var dial func(ctx context.Context, _, _ string) (net.Conn, error)
	switch u.Scheme {
	case "unix":
		path := u.Path
		if path == "" {
			path = u.Opaque
		}
		if path == "" {
			return nil, fmt.Errorf("--docker-host %q: no socket path", host)
		}
		dial = func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		}
	default:
		// TCP would need the plugin's own client certificate; dockerd's
		// unix socket is the only supported transport.
		return nil, fmt.Errorf("--docker-host %q: only unix:///path/to/docker.sock is supported", host)
	}
	tr := &http.Transport{
		DialContext:           dial,
		MaxIdleConns:          16,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       30 * time.Second,
		ResponseHeaderTimeout: 0, // bounded by each request's context
		DisableCompression:    true,
	}
	return &dockerAPI{hc: &http.Client{Transport: tr}, base: "http://docker/v" + APIVersion, token: token}, nil
}

// apiError is a non-2xx answer from dockerd.
type apiError struct {
	Status  int
	Message string
}

func (e *apiError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("dockerd answered HTTP %d", e.Status)
	}
	return fmt.Sprintf("dockerd answered HTTP %d: %s", e.Status, e.Message)
}

func isNotFound(err error) bool {
	var ae *apiError
	return errors.As(err, &ae) && ae.Status == http.StatusNotFound
}

func (a *dockerAPI) request(ctx context.Context, path string, q url.Values) (*http.Response, error) {
	u := a.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set(TokenHeader, a.token)
	req.Header.Set("User-Agent", "docker-authz-owner-lookup")
	resp, err := a.hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		var m struct {
			Message string `json:"message"`
		}
		msg := strings.TrimSpace(string(b))
		if json.Unmarshal(b, &m) == nil && m.Message != "" {
			msg = m.Message
		}
		return nil, &apiError{Status: resp.StatusCode, Message: msg}
	}
	return resp, nil
}

// get decodes the JSON answer of GET path into out.
func (a *dockerAPI) get(ctx context.Context, path string, q url.Values, out any) error {
	resp, err := a.request(ctx, path, q)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxAPIBody)).Decode(out); err != nil {
		return fmt.Errorf("decoding dockerd's answer to GET %s: %v", path, err)
	}
	return nil
}

func (a *dockerAPI) close() { a.hc.CloseIdleConnections() }
