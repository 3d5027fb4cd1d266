package authz

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/docker/go-plugins-helpers/authorization"

	"github.com/docker-authz/docker-authz/authz/identity"
	"github.com/docker-authz/docker-authz/authz/request"
)

// Protocol paths.
const (
	activatePath = "/Plugin.Activate"
	reqPath      = "/" + authorization.AuthZApiRequest
	resPath      = "/" + authorization.AuthZApiResponse

	pluginContentType = "application/vnd.docker.plugins.v1.2+json"
)

// maxMessage bounds one protocol message: dockerd forwards bodies under
// 1 MiB, base64 makes that 1.4 MiB, plus headers and certificates.
const maxMessage = 4 << 20

// Message is the AuthZReq / AuthZRes body dockerd sends (and what
// `docker-authz explain` reads from a file). Peer certificates are kept as
// the PEM bytes dockerd base64-encoded, instead of the helper library's
// PeerCertificate, whose decoder panics on input that is not PEM.
type Message struct {
	User                    string            `json:"User"`
	UserAuthNMethod         string            `json:"UserAuthNMethod"`
	RequestMethod           string            `json:"RequestMethod"`
	RequestURI              string            `json:"RequestUri"`
	RequestBody             []byte            `json:"RequestBody"`
	RequestHeaders          map[string]string `json:"RequestHeaders"`
	RequestPeerCertificates [][]byte          `json:"RequestPeerCertificates"`
	ResponseStatusCode      int               `json:"ResponseStatusCode"`
	ResponseBody            []byte            `json:"ResponseBody"`
	ResponseHeaders         map[string]string `json:"ResponseHeaders"`
}

// Request is the API request the message carries, for request.Normalize.
func (m *Message) Request() request.Raw {
	return request.Raw{Method: m.RequestMethod, URI: m.RequestURI, Headers: m.RequestHeaders, Body: m.RequestBody}
}

// Caller is what the message says of its caller, for identity.Identify.
func (m *Message) Caller() identity.Input {
	return identity.Input{User: m.User, AuthMethod: m.UserAuthNMethod, PeerCerts: m.RequestPeerCertificates}
}

// decodeWire reads one protocol message. Errors say what was wrong.
func decodeWire(r *http.Request) (*Message, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxMessage+1))
	if err != nil {
		return nil, fmt.Errorf("reading the plugin request: %v", err)
	}
	if len(body) > maxMessage {
		return nil, fmt.Errorf("plugin request larger than %d bytes", maxMessage)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	var w Message
	if err := dec.Decode(&w); err != nil {
		return nil, fmt.Errorf("plugin request is not valid JSON: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("plugin request has data after the JSON object")
	}
	if w.RequestMethod == "" || w.RequestURI == "" {
		return nil, errors.New("plugin request has no RequestMethod or RequestUri")
	}
	return &w, nil
}

func writeResponse(w http.ResponseWriter, res authorization.Response) {
	w.Header().Set("Content-Type", pluginContentType)
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(res)
}
