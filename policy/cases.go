package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/docker-authz/docker-authz/authz/identity"
	"github.com/docker-authz/docker-authz/authz/request"
	"github.com/docker-authz/docker-authz/policy/dockerargs"
)

// CasesFile is the name of the policy test cases in a policy directory.
const CasesFile = "cases.yaml"

// Cases is a cases.yaml file: requests and the decisions the policy must
// take about them, like `opa test`.
//
//	cases:
//	  - name: developers may not run privileged containers
//	    user: alice
//	    groups: [developers]
//	    docker: run --privileged -v /:/h alpine
//	    expect: deny
//	    facet: privileged
//	    reason_contains: may not run privileged
//	  - name: a raw API request
//	    user: bob
//	    request: {method: GET, uri: /v1.41/containers/json}
//	    expect: allow
type Cases struct {
	Cases []Case `yaml:"cases"`
}

// Case is one policy test case.
type Case struct {
	Name   string   `yaml:"name"`
	User   string   `yaml:"user"`
	Groups []string `yaml:"groups,omitempty"` // with or without the group: prefix
	// Docker is a docker command line without "docker" (a string split like
	// a shell would, or a list of words), turned into the request the
	// docker CLI 20.10 sends (package dockerargs).
	Docker         DockerArgs  `yaml:"docker,omitempty"`
	Request        *RawRequest `yaml:"request,omitempty"`
	Expect         string      `yaml:"expect"`          // allow | deny
	Facet          string      `yaml:"facet,omitempty"` // a denied facet: KIND or KIND=VALUE
	ReasonContains string      `yaml:"reason_contains,omitempty"`

	Line int `yaml:"-"` // line in the file, for messages
}

// DockerArgs is a command line given as a string or a list of words.
type DockerArgs []string

// UnmarshalYAML accepts "run --privileged alpine" and [run, --privileged, alpine].
func (d *DockerArgs) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		words, err := dockerargs.SplitArgs(n.Value)
		if err != nil {
			return fmt.Errorf("line %d: docker: %v", n.Line, err)
		}
		*d = words
		return nil
	case yaml.SequenceNode:
		var words []string
		if err := n.Decode(&words); err != nil {
			return err
		}
		*d = words
		return nil
	}
	return fmt.Errorf("line %d: docker: want a command line string or a list of words", n.Line)
}

// RawRequest is a Docker API request written out.
type RawRequest struct {
	Method  string            `yaml:"method"`
	URI     string            `yaml:"uri"`
	Headers map[string]string `yaml:"headers,omitempty"`
	// Body is a JSON object or array written as YAML (keys keep their order),
	// or a string holding the exact body text (to test malformed bodies).
	Body yaml.Node `yaml:"body,omitempty"`
}

// ParseCases reads a cases file strictly: unknown keys, duplicate keys and
// cases that mix or miss fields are errors naming the line.
func ParseCases(name string, r io.Reader) ([]Case, error) {
	data, err := io.ReadAll(io.LimitReader(r, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	if root.Kind == 0 {
		return nil, fmt.Errorf("%s: empty file; want `cases:` with a list of cases", name)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var cs Cases
	if err := dec.Decode(&cs); err != nil {
		return nil, fmt.Errorf("%s: %v", name, yamlErr(err))
	}
	// Lines of the cases, for messages.
	if len(root.Content) == 1 && root.Content[0].Kind == yaml.MappingNode {
		m := root.Content[0]
		for i := 0; i+1 < len(m.Content); i += 2 {
			if m.Content[i].Value == "cases" && m.Content[i+1].Kind == yaml.SequenceNode {
				for j, item := range m.Content[i+1].Content {
					if j < len(cs.Cases) {
						cs.Cases[j].Line = item.Line
					}
				}
			}
		}
	}
	if len(cs.Cases) == 0 {
		return nil, fmt.Errorf("%s: no cases (want `cases:` with a list of cases)", name)
	}
	names := map[string]int{}
	for i := range cs.Cases {
		c := &cs.Cases[i]
		if err := c.validate(); err != nil {
			return nil, fmt.Errorf("%s:%d: case %q: %v", name, c.Line, c.Name, err)
		}
		if prev, ok := names[c.Name]; ok {
			return nil, fmt.Errorf("%s:%d: case name %q is already used on line %d", name, c.Line, c.Name, prev)
		}
		names[c.Name] = c.Line
	}
	return cs.Cases, nil
}

func yamlErr(err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		return errors.New(strings.Join(te.Errors, "; "))
	}
	return err
}

// LoadCases reads DIR/cases.yaml; ok is false when there is none.
func LoadCases(dir string) (cases []Case, ok bool, err error) {
	return LoadCasesFS(dirFS(dir), dir)
}

// LoadCasesFS reads cases.yaml from fsys; dir names the directory in
// messages. ok is false when there is none.
func LoadCasesFS(fsys fs.FS, dir string) (cases []Case, ok bool, err error) {
	path := filepath.Join(dir, CasesFile)
	data, err := fs.ReadFile(fsys, CasesFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read test cases %s: %w", path, err)
	}
	cases, err = ParseCases(path, bytes.NewReader(data))
	return cases, true, err
}

func (c *Case) validate() error {
	if strings.TrimSpace(c.Name) == "" {
		return errors.New("name is required")
	}
	if c.User == "" {
		return errors.New("user is required (use anonymous for callers without a certificate)")
	}
	if subjectKind(c.User) != "user" {
		return fmt.Errorf("user %q is not a valid user name", c.User)
	}
	for _, g := range c.Groups {
		if !identity.ValidGroupName(strings.TrimPrefix(g, identity.GroupPrefix)) {
			return fmt.Errorf("group %q is not a valid group name", g)
		}
	}
	switch {
	case len(c.Docker) > 0 && c.Request != nil:
		return errors.New("give either docker or request, not both")
	case len(c.Docker) == 0 && c.Request == nil:
		return errors.New("give the request: docker (a docker command line) or request (method, uri, body)")
	case c.Request != nil && (c.Request.Method == "" || c.Request.URI == ""):
		return errors.New("request needs method and uri")
	}
	switch c.Expect {
	case "allow":
		if c.Facet != "" {
			return errors.New("facet names the facet expected to be denied; it makes no sense with expect: allow")
		}
	case "deny":
	default:
		return fmt.Errorf("expect must be allow or deny, not %q", c.Expect)
	}
	if c.Facet != "" {
		kind, _, _ := strings.Cut(c.Facet, "=")
		if !KnownFacet(kind) {
			return fmt.Errorf("facet %q: unknown facet kind %q", c.Facet, kind)
		}
	}
	if len(c.Docker) > 0 {
		if _, err := dockerargs.Translate(c.Docker); err != nil {
			return err
		}
	}
	if c.Request != nil {
		if _, err := c.Request.body(); err != nil {
			return err
		}
	}
	return nil
}

// Subject is the caller of the case.
func (c *Case) Subject() identity.Subject {
	sub := identity.Subject{User: c.User, AuthMethod: "test"}
	for _, g := range c.Groups {
		sub.Groups = append(sub.Groups, identity.GroupPrefix+strings.TrimPrefix(g, identity.GroupPrefix))
	}
	return sub
}

// Raw is the request of the case as dockerd would forward it.
func (c *Case) Raw() (request.Raw, error) {
	if len(c.Docker) > 0 {
		r, err := dockerargs.Translate(c.Docker)
		if err != nil {
			return request.Raw{}, err
		}
		return r.Raw(), nil
	}
	body, err := c.Request.body()
	if err != nil {
		return request.Raw{}, err
	}
	raw := request.Raw{Method: c.Request.Method, URI: c.Request.URI, Headers: c.Request.Headers, Body: body}
	if body != nil && raw.Headers == nil {
		raw.Headers = map[string]string{"Content-Type": "application/json"}
	}
	return raw, nil
}

func (r *RawRequest) body() ([]byte, error) {
	if r.Body.Kind == 0 {
		return nil, nil
	}
	if r.Body.Kind == yaml.ScalarNode && r.Body.Tag == "!!str" {
		return []byte(r.Body.Value), nil
	}
	var b bytes.Buffer
	if err := nodeJSON(&b, &r.Body); err != nil {
		return nil, fmt.Errorf("line %d: body: %v", r.Body.Line, err)
	}
	return b.Bytes(), nil
}

// nodeJSON writes a YAML node as JSON, keeping the order of mapping keys.
func nodeJSON(w *bytes.Buffer, n *yaml.Node) error {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) != 1 {
			return errors.New("empty document")
		}
		return nodeJSON(w, n.Content[0])
	case yaml.AliasNode:
		return nodeJSON(w, n.Alias)
	case yaml.MappingNode:
		w.WriteByte('{')
		for i := 0; i+1 < len(n.Content); i += 2 {
			if i > 0 {
				w.WriteByte(',')
			}
			k, _ := json.Marshal(n.Content[i].Value)
			w.Write(k)
			w.WriteByte(':')
			if err := nodeJSON(w, n.Content[i+1]); err != nil {
				return err
			}
		}
		w.WriteByte('}')
	case yaml.SequenceNode:
		w.WriteByte('[')
		for i, c := range n.Content {
			if i > 0 {
				w.WriteByte(',')
			}
			if err := nodeJSON(w, c); err != nil {
				return err
			}
		}
		w.WriteByte(']')
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			w.WriteString("null")
		case "!!bool":
			var b bool
			if err := n.Decode(&b); err != nil {
				return err
			}
			w.WriteString(strconv.FormatBool(b))
		case "!!int", "!!float":
			var num json.Number
			if err := json.Unmarshal([]byte(n.Value), &num); err != nil {
				return fmt.Errorf("line %d: %q is not a JSON number", n.Line, n.Value)
			}
			w.WriteString(num.String())
		default:
			s, _ := json.Marshal(n.Value)
			w.Write(s)
		}
	default:
		return fmt.Errorf("line %d: unsupported YAML node", n.Line)
	}
	return nil
}

// CaseResult is the outcome of one case.
type CaseResult struct {
	Case       Case
	Pass       bool
	Problem    string // why it failed
	Evaluation Evaluation
}

// RunCases decides every case with p and compares with what it expects.
func (p *Policy) RunCases(cases []Case) []CaseResult {
	out := make([]CaseResult, 0, len(cases))
	for _, c := range cases {
		out = append(out, p.runCase(c))
	}
	return out
}

func (p *Policy) runCase(c Case) CaseResult {
	res := CaseResult{Case: c}
	raw, err := c.Raw()
	if err != nil {
		res.Problem = err.Error()
		return res
	}
	ev := p.Evaluate(c.Subject(), raw)
	res.Evaluation = ev
	got := "deny"
	if ev.Decision.Allow {
		got = "allow"
	}
	var problems []string
	if got != c.Expect {
		problems = append(problems, "expected "+c.Expect+", got "+got)
	}
	if c.Facet != "" && got == "deny" {
		found := false
		for _, f := range ev.Decision.Denied() {
			if c.Facet == f.Kind || c.Facet == f.Kind+"="+f.Value {
				found = true
			}
		}
		if !found {
			var denied []string
			for _, f := range ev.Decision.Denied() {
				denied = append(denied, f.String())
			}
			if ev.Refused != nil {
				denied = append(denied, "none: the request was refused before the policy")
			}
			problems = append(problems, fmt.Sprintf("expected facet %s to be denied; denied: %s", c.Facet, strings.Join(denied, ", ")))
		}
	}
	if c.ReasonContains != "" && !strings.Contains(ev.Decision.Reason, c.ReasonContains) {
		problems = append(problems, fmt.Sprintf("reason does not contain %q", c.ReasonContains))
	}
	res.Problem = strings.Join(problems, "; ")
	res.Pass = len(problems) == 0
	return res
}

// CheckCases runs DIR/cases.yaml against p and returns an error naming the
// failing cases (nil when all pass or there is no cases file).
func CheckCases(dir string, p *Policy) error { return CheckCasesFS(dirFS(dir), dir, p) }

// CheckCasesFS is CheckCases reading cases.yaml from fsys. Its signature
// fits reload.CheckFunc: a reloaded policy that fails its own cases is
// rejected.
func CheckCasesFS(fsys fs.FS, dir string, p *Policy) error {
	cases, ok, err := LoadCasesFS(fsys, dir)
	if err != nil {
		return err
	}
	if !ok {
		return nil
	}
	var failed []string
	for _, r := range p.RunCases(cases) {
		if !r.Pass {
			failed = append(failed, fmt.Sprintf("%q (%s:%d): %s", r.Case.Name, CasesFile, r.Case.Line, r.Problem))
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d policy test cases fail: %s", len(failed), len(cases), strings.Join(failed, "; "))
	}
	return nil
}
