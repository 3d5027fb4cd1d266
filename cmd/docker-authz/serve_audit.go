package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/docker-authz/docker-authz/authz/audit"
)

// auditCoreFlags are serve's flags for the trail itself: checkpoint
// signing, HMAC redaction, rotation and audit levels.
type auditCoreFlags struct {
	keyFile, hmacKeyFile   string
	maxSize                string
	maxFiles               int
	cpEvery                int
	cpInterval             time.Duration
	levelReads, levelWrite string
}

func (a *auditCoreFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&a.keyFile, "audit-key", "", "Ed25519 private key `FILE` (PEM PKCS #8, mode 0600; `docker-authz audit keygen` or `openssl genpkey -algorithm ed25519`) that signs checkpoints of the trail; without it the trail is hash-chained but unsigned")
	fs.StringVar(&a.hmacKeyFile, "audit-hmac-key", "", "`FILE` holding a secret of at least 16 bytes (e.g. `head -c 32 /dev/urandom`, mode 0600): secrets in records become keyed HMACs, so equal secrets can be correlated without being revealed; without it they become [REDACTED]")
	fs.StringVar(&a.maxSize, "audit-max-size", "100MiB", "rotate the trail file before it grows beyond this `SIZE` (bytes, or with k/KiB, M/MiB, G/GiB); the chain continues in the new file; 0 never rotates")
	fs.IntVar(&a.maxFiles, "audit-max-files", 0, "keep at most this many rotated trail files, removing the oldest; 0 keeps them all")
	fs.IntVar(&a.cpEvery, "audit-checkpoint-every", audit.DefaultCheckpointEvery, "with --audit-key: write a signed checkpoint after this many records (0 or less: never by count)")
	fs.DurationVar(&a.cpInterval, "audit-checkpoint-interval", audit.DefaultCheckpointInterval, "with --audit-key: write a signed checkpoint when records have waited this long unsealed (0 or less: never by time); checkpoints are also written at rotation and at shutdown")
	fs.StringVar(&a.levelReads, "audit-level-reads", string(audit.LevelMetadata), "audit level of reads (GET, HEAD): none (no record for allowed reads; denials are always recorded), metadata, or request (adds the redacted body)")
	fs.StringVar(&a.levelWrite, "audit-level-writes", string(audit.LevelRequest), "audit level of mutations (every other method): none, metadata, or request (adds the redacted body)")
}

// options completes the audit.Options with the trail flags.
func (a *auditCoreFlags) options(o audit.Options) (audit.Options, error) {
	if a.keyFile != "" {
		s, err := audit.LoadSigningKey(a.keyFile)
		if err != nil {
			return o, fmt.Errorf("--audit-key: %w", err)
		}
		o.Signer = s
	}
	if a.hmacKeyFile != "" {
		k, err := loadHMACKey(a.hmacKeyFile)
		if err != nil {
			return o, fmt.Errorf("--audit-hmac-key: %w", err)
		}
		o.HMACKey = k
	}
	size, err := parseSize(a.maxSize)
	if err != nil {
		return o, fmt.Errorf("--audit-max-size: %w", err)
	}
	if a.maxFiles < 0 {
		return o, errors.New("--audit-max-files must not be negative")
	}
	o.MaxSize, o.MaxFiles = size, a.maxFiles
	o.CheckpointEvery, o.CheckpointInterval = a.cpEvery, a.cpInterval
	if a.cpEvery <= 0 {
		o.CheckpointEvery = -1
	}
	if a.cpInterval <= 0 {
		o.CheckpointInterval = -1
	}
	return o, nil
}

// levels parses the audit level flags.
func (a *auditCoreFlags) levels() (audit.Levels, error) {
	r, err := audit.ParseLevel(a.levelReads)
	if err != nil {
		return audit.Levels{}, fmt.Errorf("--audit-level-reads: %w", err)
	}
	w, err := audit.ParseLevel(a.levelWrite)
	if err != nil {
		return audit.Levels{}, fmt.Errorf("--audit-level-writes: %w", err)
	}
	return audit.Levels{Reads: r, Writes: w}, nil
}

// describe gives the log fields that say how the trail is protected.
func (a *auditCoreFlags) describe(o audit.Options, lv audit.Levels) logrus.Fields {
	f := logrus.Fields{"audit_level_reads": lv.For("GET"), "audit_level_writes": lv.For("POST"), "audit_max_size": o.MaxSize, "audit_max_files": o.MaxFiles}
	if o.Signer != nil {
		f["audit_key_id"] = o.Signer.KeyID()
	}
	return f
}

// loadHMACKey reads the HMAC key file: its bytes, without a final newline.
func loadHMACKey(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s is readable by others (mode %v): chmod 600 it", path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	b = []byte(strings.TrimRight(string(b), "\r\n"))
	if len(b) < audit.MinHMACKeySize {
		return nil, fmt.Errorf("%s holds %d bytes; at least %d random bytes are needed (head -c 32 /dev/urandom > %s)", path, len(b), audit.MinHMACKeySize, path)
	}
	return b, nil
}

// parseSize parses 1048576, 512k, 100M, 100MiB, 1G, 1GiB (binary units).
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	mult := int64(1)
	lower := strings.ToLower(t)
	for _, u := range []struct {
		suffix string
		m      int64
	}{{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"kb", 1 << 10}, {"mb", 1 << 20}, {"gb", 1 << 30}, {"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30}, {"b", 1}} {
		if strings.HasSuffix(lower, u.suffix) {
			mult, t = u.m, strings.TrimSpace(t[:len(t)-len(u.suffix)])
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("%q is not a size (e.g. 100MiB, 1G, 0)", s)
	}
	return n * mult, nil
}

// closeTrail closes the trail at shutdown (writing the final checkpoint
// when it is signed) and says where it ends.
func closeTrail(trail *audit.Log, log *logrus.Logger) {
	err := trail.Close()
	seq, head := trail.Head()
	st := trail.Stats()
	e := log.WithFields(logrus.Fields{"audit": trail.Path(), "seq": seq, "head": head, "checkpoints": st.Checkpoints})
	if err != nil {
		e.WithError(err).Error("audit trail closed with an error")
		return
	}
	e.Info("audit trail closed")
}
