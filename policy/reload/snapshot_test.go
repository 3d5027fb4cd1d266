package reload_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker-authz/docker-authz/policy"
	"github.com/docker-authz/docker-authz/policy/reload"
)

// An edit made and undone while a load runs (A→B→A) must not leave B in
// force. A loader that read the directory itself saw B, while the digests
// taken before and after saw A: B stayed in force and Run saw no reason to
// load again. The loader is handed the reading that was hashed instead.
func TestReloadEditUndoneDuringLoad(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, policy.PolicyFile, policyA)
	h := &holder{}
	edit := false
	r, err := reload.New(reload.Options{Target: h, Dir: dir, Settle: time.Millisecond,
		Load: func(_ context.Context, files fs.FS) (*policy.Policy, error) {
			if edit {
				write(t, dir, policy.PolicyFile, policyB)
				defer write(t, dir, policy.PolicyFile, policyA)
			}
			return policy.LoadFS(files, dir)
		}})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Reload(context.Background(), reload.TriggerStart); err != nil {
		t.Fatal(err)
	}
	edit = true
	if err := r.Reload(context.Background(), reload.TriggerSignal); err != nil {
		t.Fatal(err)
	}
	if got, want := h.revision(), revisionOf(t, policyA); got != want {
		t.Fatalf("in force: %s, the files hold %s (policy B = %s)", got, want, revisionOf(t, policyB))
	}
}

// An edit in progress while the files are read (B visible in one reading
// only) is never what stays in force: the reading that was loaded is
// compared with the files after the load and retried when they differ.
// Each case arms the edit in a different reading of the attempt.
func TestReloadEditDuringRead(t *testing.T) {
	for _, tc := range []struct {
		name    string
		reading int32 // which reading of policy.csv sees B (1: the one loaded, 2: the re-check)
	}{
		{"while the loaded reading is taken", 1},
		{"while the re-check reading is taken", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, dir, policy.PolicyFile, policyA)
			h := &holder{}
			r, err := reload.New(reload.Options{Target: h, Dir: dir, Settle: 1})
			if err != nil {
				t.Fatal(err)
			}
			var armed atomic.Bool
			var readings atomic.Int32
			reload.SetReadHook(r, func(name string) {
				if !armed.Load() {
					return
				}
				switch name {
				case policy.PolicyFile:
					if readings.Add(1) == tc.reading {
						write(t, dir, policy.PolicyFile, policyB) // edit…
					}
				case policy.ModelFile:
					write(t, dir, policy.PolicyFile, policyA) // …undone
				}
			})
			if err := r.Reload(context.Background(), reload.TriggerStart); err != nil {
				t.Fatal(err)
			}
			armed.Store(true)
			if err := r.Reload(context.Background(), reload.TriggerSignal); err != nil {
				t.Fatalf("reload: %v", err)
			}
			armed.Store(false)
			if got, want := h.revision(), revisionOf(t, policyA); got != want {
				t.Fatalf("in force: %s, the files hold %s (policy B = %s)", got, want, revisionOf(t, policyB))
			}
			if got := r.Status().Revision; got != h.revision() {
				t.Fatalf("status says %s, in force %s", got, h.revision())
			}
		})
	}
}

// The cases a reload checks come from the same reading as the policy: a
// cases file replaced after the reading is not the one the policy was
// checked against.
func TestReloadChecksTheReadingItLoaded(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, policy.PolicyFile, policyA)
	write(t, dir, reload.CasesFile, "first")
	var seen []string
	check := func(fsys fs.FS, _ string, p *policy.Policy) error {
		b, err := fs.ReadFile(fsys, reload.CasesFile)
		if err != nil {
			return err
		}
		seen = append(seen, string(b))
		// The files change after the reading: the check still sees what was read.
		write(t, dir, reload.CasesFile, "second")
		if b2, _ := fs.ReadFile(fsys, reload.CasesFile); string(b2) != string(b) {
			return errors.New("the reading changed under the check")
		}
		if _, err := fs.ReadFile(fsys, "../"+reload.CasesFile); !errors.Is(err, fs.ErrInvalid) {
			return errors.New("a path outside the reading was served")
		}
		if _, err := fs.ReadFile(fsys, "other.txt"); !errors.Is(err, fs.ErrNotExist) {
			return errors.New("a file outside the watched set was served")
		}
		return nil
	}
	h := &holder{}
	r, err := reload.New(reload.Options{Target: h, Dir: dir, Check: check, Settle: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Reload(context.Background(), reload.TriggerStart); err != nil {
		t.Fatal(err)
	}
	// first reading "first", changed during the check → retried, "second" read
	// and loaded.
	if strings.Join(seen, ",") != "first,second" {
		t.Fatalf("check saw %q", seen)
	}
}

// An unreadable policy file fails the load with the file's own error, and
// the error names the file.
func TestReloadUnreadablePolicyFile(t *testing.T) {
	dir := t.TempDir() // a directory where the file should be: unreadable even for root
	if err := os.Mkdir(filepath.Join(dir, policy.PolicyFile), 0o755); err != nil {
		t.Fatal(err)
	}
	h := &holder{}
	r, err := reload.New(reload.Options{Target: h, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	err = r.Reload(context.Background(), reload.TriggerStart)
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, policy.PolicyFile)) || !strings.Contains(err.Error(), "is a directory") {
		t.Fatalf("err = %v", err)
	}
	if h.revision() != "" {
		t.Fatal("a policy went into force")
	}
}

// A reading serves its files through Open as well as ReadFile, as a
// read-only fs.FS: what fs.Stat and a plain Read see is what was read.
func TestReadingIsAFileSystem(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, policy.PolicyFile, policyA)
	r, err := reload.New(reload.Options{Target: &holder{}, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	fsys := reload.Reading(r)
	write(t, dir, policy.PolicyFile, policyB) // after the reading

	f, err := fsys.Open(policy.PolicyFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.Name() != policy.PolicyFile || st.Size() != int64(len(policyA)) || st.IsDir() || st.Mode()&0o222 != 0 {
		t.Fatalf("stat: %v %+v", err, st)
	}
	b := make([]byte, len(policyA)+8)
	n, _ := f.Read(b)
	if string(b[:n]) != policyA {
		t.Fatalf("read %q", b[:n])
	}
	for _, tc := range []struct {
		name string
		want error
	}{
		{policy.ModelFile, fs.ErrNotExist}, // watched, absent
		{"other.txt", fs.ErrNotExist},      // not watched
		{"../" + policy.PolicyFile, fs.ErrInvalid},
		{"/" + policy.PolicyFile, fs.ErrInvalid},
	} {
		if _, err := fsys.Open(tc.name); !errors.Is(err, tc.want) {
			t.Errorf("Open(%q) = %v, want %v", tc.name, err, tc.want)
		}
		if _, err := fs.Stat(fsys, tc.name); !errors.Is(err, tc.want) {
			t.Errorf("Stat(%q) = %v, want %v", tc.name, err, tc.want)
		}
	}
	// ReadFile hands out a copy: changing it does not change the reading.
	c, _ := fs.ReadFile(fsys, policy.PolicyFile)
	c[0] = 'X'
	if again, _ := fs.ReadFile(fsys, policy.PolicyFile); string(again) != policyA {
		t.Fatal("the reading changed through a returned slice")
	}
}
