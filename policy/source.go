package policy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Source is where a policy comes from: a directory of CSV files, or a
// database (package policy/pgsource). Load returns a completely validated
// policy or an error; it never returns a partly applied one.
type Source interface {
	Load(ctx context.Context) (*Policy, error)
	// String names the source for logs and messages. It never contains a
	// password.
	String() string
}

// SourceStatus describes the policy source of a running plugin, for
// `docker-authz status` and metrics. The zero value means "nothing loaded".
type SourceStatus struct {
	Backend             string    `json:"backend"`                         // "dir" or "postgres"
	Location            string    `json:"location"`                        // directory, or the database URL without password
	Revision            string    `json:"revision"`                        // revision of the policy in force
	StoreRevision       int64     `json:"store_revision,omitempty"`        // the database's change counter of the policy in force
	LatestStoreRevision int64     `json:"latest_store_revision,omitempty"` // the change counter last read from the database (0: not read yet); ahead of StoreRevision while a newer policy there is invalid
	LastLoad            time.Time `json:"last_load,omitempty"`             // when the policy in force was loaded
	LastAttempt         time.Time `json:"last_attempt,omitempty"`          // last load attempt, successful or not
	LastError           string    `json:"last_error,omitempty"`            // why the last attempt failed ("" when it succeeded)
	Connected           bool      `json:"connected"`                       // the change listener is connected (always true for a directory)
	FromSnapshot        bool      `json:"from_snapshot,omitempty"`         // the policy in force came from the local snapshot, not the database
	Snapshot            string    `json:"snapshot,omitempty"`              // snapshot file path
}

// StatusReporter is implemented by sources that can say how they are doing.
type StatusReporter interface {
	Status() SourceStatus
}

// DirSource loads DIR/policy.csv and DIR/model.conf.
type DirSource struct{ Dir string }

// Load implements Source.
func (d DirSource) Load(context.Context) (*Policy, error) { return LoadDir(d.Dir) }

func (d DirSource) String() string { return d.Dir }

// ReadDirModel returns the model text of a policy directory (DefaultModel
// when DIR/model.conf is absent) and the name to use for it in messages.
func ReadDirModel(dir string) (name, text string, err error) {
	p := filepath.Join(dir, ModelFile)
	b, err := os.ReadFile(p)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return "(built-in model)", DefaultModel, nil
	case err != nil:
		return "", "", fmt.Errorf("read model: %w", err)
	}
	return p, string(b), nil
}

// FromRules builds a policy from rules that were read from a store other
// than a CSV file (a database). Every rule goes through the same validation
// as a line of policy.csv, and the policy is built the same way; an invalid
// rule is a *LineError naming r.File and r.Line. The revision is the hash of
// the model and of FormatRules(rules), so exporting the rules to a
// directory (FormatRules as policy.csv, the model as model.conf) gives a
// policy with the same revision.
func FromRules(modelName, modelText string, rules []Rule) (*Policy, error) {
	m, err := checkModel(modelName, modelText)
	if err != nil {
		return nil, err
	}
	out := make([]Rule, 0, len(rules))
	for _, r := range rules {
		if err := validateStored(r); err != nil {
			return nil, &LineError{File: r.File, Line: r.Line, Err: fmt.Errorf("%s: %w", r, err)}
		}
		out = append(out, Rule{Type: r.Type, Fields: append([]string(nil), r.Fields...), File: r.File, Line: r.Line})
	}
	text := FormatRules(out)
	sum := sha256.New()
	sum.Write([]byte(modelText))
	sum.Write([]byte{0})
	sum.Write(text)
	p, err := compile(m, out, hex.EncodeToString(sum.Sum(nil))[:12])
	if err != nil {
		return nil, err
	}
	p.Model = modelText
	return p, nil
}

// validateStored is validateRule plus what the CSV reader guarantees for
// files: no surrounding blanks (the CSV reader trims them, so a stored
// " alice" would not mean the same once exported), and no line breaks.
func validateStored(r Rule) error {
	for _, f := range append([]string{r.Type}, r.Fields...) {
		if f != strings.TrimSpace(f) {
			return fmt.Errorf("field %q has leading or trailing blanks; remove them", f)
		}
		if strings.ContainsAny(f, "\r\n") {
			return fmt.Errorf("field %q contains a line break", f)
		}
	}
	return validateRule(r)
}

// FormatRules writes rules as policy.csv lines, one rule per line, quoting
// fields where CSV needs it. ParseRules reads the output back to the same
// rules.
func FormatRules(rules []Rule) []byte {
	var b bytes.Buffer
	for _, r := range rules {
		b.WriteString(r.Type)
		for _, f := range r.Fields {
			b.WriteString(", ")
			if f == "" || strings.ContainsAny(f, ",\"") {
				f = `"` + strings.ReplaceAll(f, `"`, `""`) + `"`
			}
			b.WriteString(f)
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// RuleDiff is the rule-level difference between two policies: rules only in
// A, rules only in B. Order and duplicates do not matter.
type RuleDiff struct {
	OnlyA, OnlyB []Rule
	ModelDiffers bool
}

// Empty reports whether the two policies have the same rules and model.
func (d RuleDiff) Empty() bool { return len(d.OnlyA) == 0 && len(d.OnlyB) == 0 && !d.ModelDiffers }

// Diff compares the rules and models of two policies.
func Diff(a, b *Policy) RuleDiff {
	key := func(r Rule) string { return r.Type + "\x00" + strings.Join(r.Fields, "\x00") }
	in := func(rules []Rule) map[string]bool {
		m := map[string]bool{}
		for _, r := range rules {
			m[key(r)] = true
		}
		return m
	}
	ina, inb := in(a.Rules), in(b.Rules)
	var d RuleDiff
	seen := map[string]bool{}
	for _, r := range a.Rules {
		if k := key(r); !inb[k] && !seen[k] {
			seen[k] = true
			d.OnlyA = append(d.OnlyA, r)
		}
	}
	for _, r := range b.Rules {
		if k := key(r); !ina[k] && !seen[k] {
			seen[k] = true
			d.OnlyB = append(d.OnlyB, r)
		}
	}
	less := func(rs []Rule) func(i, j int) bool {
		return func(i, j int) bool { return rs[i].String() < rs[j].String() }
	}
	sort.SliceStable(d.OnlyA, less(d.OnlyA))
	sort.SliceStable(d.OnlyB, less(d.OnlyB))
	d.ModelDiffers = normalizeModel(a.Model) != normalizeModel(b.Model)
	return d
}

// normalizeModel drops comments, blank lines and surrounding blanks, so a
// model.conf that only differs in comments compares equal.
func normalizeModel(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}
