package bench

import (
	_ "embed"
	"encoding/json"
)

// The bodies the docker CLI 28.2.2 sent to a dockerd speaking API 1.41,
// captured on a unix socket: `docker create --name web alpine:latest sh -c
// 'echo hi'` and `docker exec -d web ls /`.
var (
	//go:embed testdata/create-cli-28.2.2.json
	CreateBody []byte
	//go:embed testdata/exec-cli-28.2.2.json
	ExecBody []byte
)

// Call is one Docker API call as dockerd forwards it to a plugin, with the
// response dockerd reports afterwards in AuthZRes.
type Call struct {
	Name    string // short name for reports
	Weight  int    // share of the mix
	Method  string
	URI     string
	Headers map[string]string
	Body    []byte // nil: no body

	Status      int
	RespHeaders map[string]string
	RespBody    []byte
}

const userAgent = "Docker-Client/28.2.2 (linux)"

// containerList is what GET /containers/json answers with one container.
const containerList = `[{"Id":"5c1d6f4e8f0b9a1b2c3d4e5f60718293a4b5c6d7e8f90123456789abcdef0123","Names":["/web"],"Image":"alpine:latest","ImageID":"sha256:324bc02ae1231fd9255658c128086395d3fa0aedd5a41ab6b034fd649d1a9260","Command":"sh -c 'echo hi'","Created":1732350000,"Ports":[],"Labels":{},"State":"running","Status":"Up 3 minutes","HostConfig":{"NetworkMode":"default"},"NetworkSettings":{"Networks":{"bridge":{"IPAMConfig":null,"Links":null,"Aliases":null,"NetworkID":"0a1b2c3d4e5f","EndpointID":"6a7b8c9d0e1f","Gateway":"172.17.0.1","IPAddress":"172.17.0.2","IPPrefixLen":16,"IPv6Gateway":"","GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,"MacAddress":"02:42:ac:11:00:02","DriverOpts":null}}},"Mounts":[]}]
`

// Mix is the request mix of the plugin-protocol benchmark: what a CI job
// does most (list, ping), and the calls with bodies a build starts with.
func Mix() []Call {
	jsonResp := map[string]string{"Content-Type": "application/json", "Api-Version": "1.41", "Docker-Experimental": "false", "Ostype": "linux", "Server": "Docker/20.10.24+dfsg1 (linux)"}
	return []Call{
		{
			Name: "ping", Weight: 20, Method: "GET", URI: "/_ping",
			Headers: map[string]string{"User-Agent": userAgent},
			Status:  200, RespHeaders: map[string]string{"Content-Type": "text/plain; charset=utf-8", "Api-Version": "1.41"}, RespBody: nil,
		},
		{
			Name: "container-list", Weight: 30, Method: "GET", URI: "/v1.41/containers/json",
			Headers: map[string]string{"User-Agent": userAgent},
			Status:  200, RespHeaders: jsonResp, RespBody: []byte(containerList),
		},
		{
			Name: "container-create", Weight: 20, Method: "POST", URI: "/v1.41/containers/create?name=web",
			Headers: map[string]string{"User-Agent": userAgent, "Content-Type": "application/json", "Content-Length": itoa(len(CreateBody))},
			Body:    CreateBody,
			Status:  201, RespHeaders: jsonResp, RespBody: []byte(`{"Id":"5c1d6f4e8f0b9a1b2c3d4e5f60718293a4b5c6d7e8f90123456789abcdef0123","Warnings":[]}` + "\n"),
		},
		{
			Name: "exec-create", Weight: 20, Method: "POST", URI: "/v1.41/containers/web/exec",
			Headers: map[string]string{"User-Agent": userAgent, "Content-Type": "application/json", "Content-Length": itoa(len(ExecBody))},
			Body:    ExecBody,
			Status:  201, RespHeaders: jsonResp, RespBody: []byte(`{"Id":"8f3c2a1b0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b"}` + "\n"),
		},
		{
			Name: "image-pull", Weight: 10, Method: "POST", URI: "/v1.41/images/create?fromImage=alpine&tag=latest",
			Headers: map[string]string{"User-Agent": userAgent, "Content-Length": "0", "X-Registry-Auth": "e30="},
			Status:  200, RespHeaders: map[string]string{"Content-Type": "application/json", "Api-Version": "1.41"},
		},
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// message is go-plugins-helpers' authorization.Request as dockerd encodes
// it: every field present, certificates as base64 of PEM.
type message struct {
	User                    string            `json:"User"`
	UserAuthNMethod         string            `json:"UserAuthNMethod"`
	RequestMethod           string            `json:"RequestMethod"`
	RequestURI              string            `json:"RequestUri"`
	RequestBody             []byte            `json:"RequestBody"`
	RequestHeaders          map[string]string `json:"RequestHeaders"`
	RequestPeerCertificates [][]byte          `json:"RequestPeerCertificates"`
	ResponseBody            []byte            `json:"ResponseBody"`
	ResponseHeaders         map[string]string `json:"ResponseHeaders"`
	ResponseStatusCode      int               `json:"ResponseStatusCode"`
}

// Caller is who makes the calls: the certificate CN dockerd reports as User
// and the PEM of the client certificate. An empty CertPEM is a caller on
// dockerd's unix socket.
type Caller struct {
	User    string
	CertPEM []byte
}

func (c Call) message(who Caller) message {
	m := message{
		RequestMethod:  c.Method,
		RequestURI:     c.URI,
		RequestBody:    c.Body,
		RequestHeaders: c.Headers,
	}
	if len(who.CertPEM) > 0 {
		m.User, m.UserAuthNMethod = who.User, "TLS"
		m.RequestPeerCertificates = [][]byte{who.CertPEM}
	}
	return m
}

// AuthZReq is the JSON body of the AuthZReq dockerd sends for c.
func (c Call) AuthZReq(who Caller) []byte {
	b, err := json.Marshal(c.message(who))
	if err != nil {
		panic(err) // only plain types: cannot fail
	}
	return b
}

// AuthZRes is the JSON body of the AuthZRes dockerd sends after c ran.
func (c Call) AuthZRes(who Caller) []byte {
	m := c.message(who)
	m.ResponseStatusCode, m.ResponseHeaders, m.ResponseBody = c.Status, c.RespHeaders, c.RespBody
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return b
}

// Find returns the call of the mix with the given name.
func Find(name string) (Call, bool) {
	for _, c := range Mix() {
		if c.Name == name {
			return c, true
		}
	}
	return Call{}, false
}
