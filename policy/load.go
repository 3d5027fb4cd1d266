package policy

import (
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/casbin/casbin/v2/constant"
	"github.com/casbin/casbin/v2/model"

	"github.com/docker-authz/docker-authz/authz/request"
)

// File names inside a policy directory.
const (
	ModelFile  = "model.conf"
	PolicyFile = "policy.csv"
)

// Rule is one validated policy line.
type Rule struct {
	Type   string   // "p" or "g"
	Fields []string // the values after the type
	File   string
	Line   int
}

func (r Rule) String() string {
	return r.Type + ", " + strings.Join(r.Fields, ", ")
}

// LineError names the file and line of a policy error.
type LineError struct {
	File string
	Line int
	Err  error
}

func (e *LineError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.File, e.Err)
}

func (e *LineError) Unwrap() error { return e.Err }

// KnownFacet reports whether a facet kind exists; policy lines naming any
// other facet are rejected (a misspelt deny rule would otherwise deny
// nothing).
func KnownFacet(kind string) bool {
	if kind == request.KindUnknownRoute {
		return true
	}
	_, ok := request.LookupKind(kind)
	return ok
}

var (
	userName  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$`)
	groupName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9 ._@+-]{0,127}$`)
	roleName  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$`)
)

// subjectKind classifies a subject name: "user", "group", "role", "profile",
// or "" when it is not a valid name.
func subjectKind(s string) string {
	switch {
	case strings.HasPrefix(s, "group:"):
		if groupName.MatchString(s[len("group:"):]) {
			return "group"
		}
	case strings.HasPrefix(s, "role:"):
		if roleName.MatchString(s[len("role:"):]) {
			return "role"
		}
	case strings.HasPrefix(s, "profile:"):
		for _, p := range Profiles() {
			if p == s {
				return "profile"
			}
		}
	case userName.MatchString(s):
		return "user"
	}
	return ""
}

// ParseRules reads and validates policy CSV. Lines: `p, SUBJECT, FACET,
// VALUE, allow|deny` and `g, MEMBER, ROLE`; `#` starts a comment line.
func ParseRules(file string, r io.Reader) ([]Rule, error) {
	cr := csv.NewReader(r)
	cr.Comment = '#'
	cr.TrimLeadingSpace = true
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = false
	var rules []Rule
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return rules, nil
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, &LineError{file, pe.Line, pe.Err}
			}
			return nil, &LineError{File: file, Err: err}
		}
		for i := range rec {
			rec[i] = strings.TrimSpace(rec[i])
		}
		rule := Rule{Type: rec[0], Fields: rec[1:], File: file, Line: line}
		if err := validateRule(rule); err != nil {
			return nil, &LineError{file, line, err}
		}
		rules = append(rules, rule)
	}
}

func validateRule(r Rule) error {
	switch r.Type {
	case "p":
		if len(r.Fields) != 4 {
			return fmt.Errorf("a p rule has 4 fields after p (subject, facet, value, allow|deny), this one has %d", len(r.Fields))
		}
		sub, facet, value, eft := r.Fields[0], r.Fields[1], r.Fields[2], r.Fields[3]
		switch subjectKind(sub) {
		case "user", "group", "role":
		case "profile":
			return fmt.Errorf("%q is a built-in profile; its rules cannot be changed (grant it with `g, SUBJECT, %s` and add rules for that subject)", sub, sub)
		default:
			return fmt.Errorf("subject %q is not a user name, group:NAME or role:NAME", sub)
		}
		if facet != "*" && !KnownFacet(facet) {
			return fmt.Errorf("unknown facet %q (see the facet table in the README, or use * for every facet)", facet)
		}
		if err := checkPattern(value); err != nil {
			return err
		}
		if eft != "allow" && eft != "deny" {
			return fmt.Errorf("the last field must be allow or deny, not %q", eft)
		}
	case "g":
		if len(r.Fields) != 2 {
			return fmt.Errorf("a g rule has 2 fields after g (member, role), this one has %d", len(r.Fields))
		}
		member, role := r.Fields[0], r.Fields[1]
		switch subjectKind(member) {
		case "user", "group", "role":
		default:
			return fmt.Errorf("member %q is not a user name, group:NAME or role:NAME", member)
		}
		switch subjectKind(role) {
		case "group", "role", "profile":
		default:
			if strings.HasPrefix(role, "profile:") {
				return fmt.Errorf("unknown profile %q (built-in profiles: %s)", role, strings.Join(Profiles(), ", "))
			}
			return fmt.Errorf("role %q is not group:NAME, role:NAME or a built-in profile", role)
		}
		if member == role {
			return fmt.Errorf("%q cannot be a member of itself", member)
		}
	default:
		return fmt.Errorf("unknown rule type %q: lines start with p or g", r.Type)
	}
	return nil
}

// checkModel verifies that a Casbin model has the shape the engine needs.
func checkModel(file, text string) (model.Model, error) {
	m, err := model.NewModelFromString(text)
	if err != nil {
		return nil, &LineError{File: file, Err: err}
	}
	want := func(sec, key string, tokens ...string) error {
		a, ok := m[sec][key]
		if !ok {
			return fmt.Errorf("missing %s in [%s]", key, sec)
		}
		if len(a.Tokens) != len(tokens) {
			return fmt.Errorf("%s must have %d fields (%s)", key, len(tokens), strings.Join(tokens, ", "))
		}
		return nil
	}
	for _, err := range []error{
		want("r", "r", "sub", "facet", "value"),
		want("p", "p", "sub", "facet", "value", "eft"),
	} {
		if err != nil {
			return nil, &LineError{File: file, Err: err}
		}
	}
	if a := m["p"]["p"]; a.Tokens[3] != "p_eft" {
		return nil, &LineError{File: file, Err: errors.New("the 4th policy field must be eft (allow|deny)")}
	}
	if e, ok := m["e"]["e"]; !ok || e.Value != constant.AllowAndDenyEffect {
		return nil, &LineError{File: file, Err: errors.New("policy_effect must be `some(where (p.eft == allow)) && !some(where (p.eft == deny))` (deny by default, deny overrides allow)")}
	}
	if _, ok := m["g"]["g"]; !ok {
		return nil, &LineError{File: file, Err: errors.New("missing g = _, _ in [role_definition]")}
	}
	return m, nil
}

// LoadDir loads DIR/policy.csv and DIR/model.conf (the built-in DefaultModel
// when model.conf is absent).
func LoadDir(dir string) (*Policy, error) { return LoadFS(dirFS(dir), dir) }

// dirFS is os.DirFS, with "" meaning the working directory as it does for
// os.ReadFile.
func dirFS(dir string) fs.FS {
	if dir == "" {
		dir = "."
	}
	return os.DirFS(dir)
}

// LoadFS loads policy.csv and model.conf (the built-in DefaultModel when
// model.conf is absent) from fsys; dir names the directory in messages.
// Reading the files from a snapshot lets a caller load exactly the bytes it
// hashed (policy/reload does).
func LoadFS(fsys fs.FS, dir string) (*Policy, error) {
	polPath := filepath.Join(dir, PolicyFile)
	pol, err := fs.ReadFile(fsys, PolicyFile)
	if err != nil {
		return nil, fmt.Errorf("read policy %s: %w (the policy directory must contain %s)", polPath, err, PolicyFile)
	}
	modPath := filepath.Join(dir, ModelFile)
	mod, err := fs.ReadFile(fsys, ModelFile)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		mod, modPath = []byte(DefaultModel), "(built-in model)"
	case err != nil:
		return nil, fmt.Errorf("read model %s: %w", modPath, err)
	}
	return New(modPath, string(mod), polPath, pol)
}

// New builds a policy from model text and policy CSV. The names are used in
// error messages.
func New(modelName, modelText, policyName string, policyCSV []byte) (*Policy, error) {
	m, err := checkModel(modelName, modelText)
	if err != nil {
		return nil, err
	}
	rules, err := ParseRules(policyName, bytes.NewReader(policyCSV))
	if err != nil {
		return nil, err
	}
	sum := sha256.New()
	sum.Write([]byte(modelText))
	sum.Write([]byte{0})
	sum.Write(policyCSV)
	p, err := compile(m, rules, hex.EncodeToString(sum.Sum(nil))[:12])
	if err != nil {
		return nil, err
	}
	p.Model = modelText
	return p, nil
}
