package pgsource

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/docker-authz/docker-authz/policy"
)

// DefaultSnapshot is where serve keeps the last policy loaded from the
// database.
const DefaultSnapshot = "/var/lib/docker-authz/policy-snapshot.csv"

const snapshotMagic = "# docker-authz policy snapshot v1"

// Snapshot is a policy saved locally, with where and when it came from.
type Snapshot struct {
	Policy        *policy.Policy
	Source        string // redacted database URL
	StoreRevision int64
	Saved         time.Time
}

// WriteSnapshot saves p atomically: a temporary file in the same
// directory, fsynced, renamed over path, and the directory fsynced. The
// file is a policy.csv (docker-authz check reads the rules) with the model
// and the revisions in comment lines.
func WriteSnapshot(path string, snap Snapshot) error {
	var b bytes.Buffer
	fmt.Fprintln(&b, snapshotMagic)
	fmt.Fprintln(&b, "# The last policy docker-authz loaded from its database. It is served only")
	fmt.Fprintln(&b, "# when the database cannot be reached at start. Do not edit: the policy")
	fmt.Fprintln(&b, "# revision below is checked when it is read.")
	fmt.Fprintf(&b, "# source: %s\n", snap.Source)
	fmt.Fprintf(&b, "# store-revision: %d\n", snap.StoreRevision)
	fmt.Fprintf(&b, "# policy-revision: %s\n", snap.Policy.Revision)
	fmt.Fprintf(&b, "# saved: %s\n", snap.Saved.UTC().Format(time.RFC3339Nano))
	// Every line of the model, the empty last one included: the model text
	// comes back byte for byte (it is part of the policy revision).
	for _, l := range strings.Split(snap.Policy.Model, "\n") {
		if l == "" {
			b.WriteString("#model\n")
		} else {
			fmt.Fprintf(&b, "#model %s\n", l)
		}
	}
	b.Write(policy.FormatRules(snap.Policy.Rules))

	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	f, err := os.CreateTemp(dir, ".policy-snapshot-*")
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after the rename
	if _, err := f.Write(b.Bytes()); err != nil {
		f.Close()
		return fmt.Errorf("snapshot: %w", err)
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("snapshot: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("snapshot: fsync: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("snapshot: fsync %s: %w", dir, err)
	}
	return nil
}

// ReadSnapshot reads and validates a snapshot: the rules go through
// policy.ParseRules and policy.FromRules like any policy, and the result
// must have the revision written in the file.
func ReadSnapshot(path string) (*Snapshot, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(data, []byte(snapshotMagic+"\n")) {
		return nil, fmt.Errorf("%s is not a docker-authz policy snapshot", path)
	}
	snap := &Snapshot{}
	var modelLines []string
	var want string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if !strings.HasPrefix(l, "#") {
			continue
		}
		switch {
		case l == "#model":
			modelLines = append(modelLines, "")
		case strings.HasPrefix(l, "#model "):
			modelLines = append(modelLines, l[len("#model "):])
		case strings.HasPrefix(l, "# source: "):
			snap.Source = l[len("# source: "):]
		case strings.HasPrefix(l, "# store-revision: "):
			snap.StoreRevision, err = strconv.ParseInt(l[len("# store-revision: "):], 10, 64)
			if err != nil {
				return nil, fmt.Errorf("%s: bad store-revision line", path)
			}
		case strings.HasPrefix(l, "# policy-revision: "):
			want = l[len("# policy-revision: "):]
		case strings.HasPrefix(l, "# saved: "):
			snap.Saved, _ = time.Parse(time.RFC3339Nano, l[len("# saved: "):])
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(modelLines) == 0 || want == "" {
		return nil, fmt.Errorf("%s: the snapshot has no model or no policy revision; it is damaged", path)
	}
	rules, err := policy.ParseRules(path, bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	p, err := policy.FromRules(path+" (model)", strings.Join(modelLines, "\n"), rules)
	if err != nil {
		return nil, err
	}
	if p.Revision != want {
		return nil, errors.New(path + ": the rules do not match the policy revision recorded in the snapshot (revision " + p.Revision + ", recorded " + want + "); the file was edited or damaged")
	}
	snap.Policy = p
	return snap, nil
}
