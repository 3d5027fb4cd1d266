package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/docker-authz/docker-authz/authz/audit"
)

// auditCommands are the `audit` subcommands. Other files add theirs from an
// init function (query, stats, report), so that this dispatcher need not
// change.
var auditCommands = map[string]command{
	"verify": {"prove the trail is complete and unmodified (hash chain, sequence, signed checkpoints)", runAuditVerify},
	"keygen": {"create the Ed25519 key pair that signs checkpoints (serve --audit-key) and verifies them (verify --key)", runAuditKeygen},
}

// Exit codes of `audit verify`.
const (
	verifyOK       = 0 // the chain verifies (with --key: every record sealed by a checkpoint signed with it)
	verifyTampered = 1 // modified, damaged, forged checkpoint or truncated below --min-seq
	verifyUsage    = 2 // bad arguments, or a file could not be read
	verifyWarning  = 3 // the chain verifies, but something cannot be proven: unsealed tail, no checkpoint although --key was given, partial start, torn last line
)

func auditUsage(w io.Writer) {
	fmt.Fprintln(w, "Usage: docker-authz audit COMMAND [OPTIONS]\n\nCommands:")
	listCommands(w, auditCommands)
	fmt.Fprintln(w, "\nRun 'docker-authz audit COMMAND --help' for the options of a command.")
}

func runAudit(args []string, stdout, stderr io.Writer) int {
	return dispatch("docker-authz audit", auditCommands, auditUsage, args, stdout, stderr)
}

const verifyHelp = `Usage: docker-authz audit verify [--key PUB] [--min-seq N] [--list-unanswered] PATH...

Proves that the audit trail is complete and unmodified. PATH is a trail file,
a directory (every audit file in it: *.jsonl and rotated *.jsonl.N), or a glob
pattern. Files may be given in any order: they are put in chain order by the
seq of their first record, and the chain is checked across them.

Detected, with the file, line and seq where the chain breaks: an edited
field, a deleted or inserted line, reordered lines, a missing rotated file,
a checkpoint that does not seal the chain, a forged checkpoint (bad
signature, or signed by another key than --key), and with --min-seq a trail
cut below a seq known from elsewhere (e.g. the last checkpoint your SIEM got).

Records after the last checkpoint are "unsealed": they verify as a chain, but
whole records cut from the end of the trail after the last checkpoint cannot
be detected from the files alone.

Exit status: 0 verified (NOTEs say what an unsigned trail, or a check without
--key, cannot prove); 1 TAMPERED or damaged; 2 usage error or unreadable
file; 3 verified with warnings (records after the last checkpoint, no
checkpoint although --key was given, trail starting after seq 1, torn last
line).

Options:`

func runAuditVerify(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("audit verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), verifyHelp)
		fs.PrintDefaults()
	}
	keyFile := fs.String("key", "", "Ed25519 public key `FILE` (PEM, from audit keygen or openssl pkey -pubout) that must have signed every checkpoint")
	minSeq := fs.Uint64("min-seq", 0, "the trail must reach at least this `SEQ` (e.g. the seq of the last checkpoint seen by your SIEM)")
	listAll := fs.Bool("list-unanswered", false, "list every allowed request that has no response record (default: the first 10)")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return verifyUsage
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return verifyUsage
	}
	files, err := expandTrailPaths(fs.Args())
	if err != nil {
		fmt.Fprintln(stderr, "audit verify:", err)
		return verifyUsage
	}
	opts := audit.VerifyOptions{AllowPartialStart: true, MinSeq: *minSeq}
	if *keyFile != "" {
		pub, err := audit.LoadPublicKey(*keyFile)
		if err != nil {
			fmt.Fprintln(stderr, "audit verify:", err)
			return verifyUsage
		}
		opts.PublicKey = pub
	}
	sum, err := audit.VerifyTrail(opts, files...)
	torn := false
	if err != nil {
		var ve *audit.VerifyError
		switch {
		case !errors.As(err, &ve) || ve.Problem == audit.ProblemRead:
			fmt.Fprintf(stderr, "audit verify: %v\n", err)
			return verifyUsage
		case ve.Problem == audit.ProblemTornTail && len(sum.Paths) > 0 && ve.File == sum.Paths[len(sum.Paths)-1]:
			// What a crash (or a write in progress) leaves; never
			// acknowledged, and removed when the plugin opens the trail.
			torn = true
		default:
			fmt.Fprintf(stdout, "FAILED: %v\n", ve)
			fmt.Fprintf(stdout, "TAMPERED: the trail was modified or damaged at %s; %d record(s) verified before it", where(ve), sum.Records)
			if sum.Records > 0 {
				fmt.Fprintf(stdout, " (seq %d..%d)", sum.FirstSeq, sum.LastSeq)
			}
			fmt.Fprintln(stdout)
			return verifyTampered
		}
	}
	return reportVerified(stdout, sum, opts, torn, *listAll)
}

func where(ve *audit.VerifyError) string {
	w := ve.File
	if ve.Line > 0 {
		w += fmt.Sprintf(" line %d", ve.Line)
	}
	if ve.Seq > 0 {
		w += fmt.Sprintf(" (seq %d)", ve.Seq)
	}
	return w
}

func reportVerified(w io.Writer, sum audit.Summary, opts audit.VerifyOptions, torn, listAll bool) int {
	var warnings, notes []string
	if sum.Records == 0 {
		fmt.Fprintf(w, "OK: empty trail (%d file(s))\n", sum.Files)
		return verifyOK
	}
	fmt.Fprintf(w, "OK: %d records, seq %d..%d, chain head %s\n", sum.Records, sum.FirstSeq, sum.LastSeq, sum.LastHash)
	if sum.Files > 1 {
		fmt.Fprintf(w, "files (chain order): %s\n", strings.Join(sum.Paths, " "))
	}
	switch {
	case sum.Checkpoints == 0:
		unsigned := "UNSIGNED: the trail has no checkpoint (the plugin runs without --audit-key): the chain proves that no record was edited, deleted or reordered in the middle, but not that records were not cut from the end, nor that the whole trail was not rewritten by someone able to recompute the hashes"
		if opts.PublicKey != nil { // signatures were expected
			warnings = append(warnings, unsigned)
		} else {
			notes = append(notes, unsigned)
		}
	case opts.PublicKey == nil:
		fmt.Fprintf(w, "checkpoints: %d, last seals seq %d, key id(s) %s\n", sum.Checkpoints, sum.SealedSeq, strings.Join(sum.KeyIDs, ", "))
		notes = append(notes, "signatures NOT checked: give the public key with --key to prove the checkpoints were signed by the plugin")
	default:
		fmt.Fprintf(w, "checkpoints: %d, every signature verified with key %s; the last seals seq %d\n", sum.Checkpoints, audit.KeyID(opts.PublicKey), sum.SealedSeq)
	}
	if sum.Checkpoints > 0 && sum.Unsealed > 0 {
		warnings = append(warnings, fmt.Sprintf("UNSEALED: %d record(s) after the last checkpoint (seq %d..%d): they verify as a chain, but records cut from the end of the trail after seq %d cannot be detected (normal for a running plugin; they are sealed by the next checkpoint)", sum.Unsealed, sum.SealedSeq+1, sum.LastSeq, sum.SealedSeq))
	}
	if sum.FirstSeq > 1 {
		warnings = append(warnings, fmt.Sprintf("PARTIAL: the files given start at seq %d: records 1..%d are not in them (older rotated files removed by --audit-max-files, or not given) and cannot be checked", sum.FirstSeq, sum.FirstSeq-1))
	}
	if torn {
		warnings = append(warnings, "TORN: the last file ends with an incomplete line (a write interrupted by a crash, or in progress): it was never acknowledged, and the plugin removes it when it opens the trail")
	}
	if opts.MinSeq > 0 {
		fmt.Fprintf(w, "reaches seq %d, at least the --min-seq %d\n", sum.LastSeq, opts.MinSeq)
	}
	if sum.UnansweredCount > 0 {
		fmt.Fprintf(w, "%d allowed request(s) have no response record (still running, dockerd crashed, or the plugin restarted in between; denied requests never get one):\n", sum.UnansweredCount)
		n := len(sum.Unanswered)
		if !listAll {
			n = min(n, 10)
		}
		for _, r := range sum.Unanswered[:n] {
			fmt.Fprintf(w, "  %s line %d seq %d id %s\n", r.File, r.Line, r.Seq, r.ID)
		}
		if n < sum.UnansweredCount {
			fmt.Fprintf(w, "  ... %d more (--list-unanswered)\n", sum.UnansweredCount-n)
		}
	}
	if sum.Orphans > 0 {
		fmt.Fprintf(w, "%d response record(s) refer to no request record in these files (the plugin restarted between request and response, or the request is in an older file)\n", sum.Orphans)
	}
	for _, s := range notes {
		fmt.Fprintln(w, "NOTE:", s)
	}
	for _, s := range warnings {
		fmt.Fprintln(w, "WARNING:", s)
	}
	if len(warnings) > 0 {
		return verifyWarning
	}
	return verifyOK
}

// expandTrailPaths turns arguments into trail files: a directory gives its
// *.jsonl and rotated *.jsonl.N files, a pattern with glob characters is
// expanded (and must match something), and a plain path is kept.
func expandTrailPaths(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		fi, err := os.Stat(a)
		switch {
		case err == nil && fi.IsDir():
			ents, err := os.ReadDir(a)
			if err != nil {
				return nil, err
			}
			n := 0
			for _, e := range ents {
				if e.Type().IsRegular() && isTrailName(e.Name()) {
					out = append(out, filepath.Join(a, e.Name()))
					n++
				}
			}
			if n == 0 {
				return nil, fmt.Errorf("%s: no audit files (*.jsonl, *.jsonl.N) in this directory", a)
			}
		case err != nil && strings.ContainsAny(a, "*?["):
			m, gerr := filepath.Glob(a)
			if gerr != nil {
				return nil, fmt.Errorf("%s: %w", a, gerr)
			}
			if len(m) == 0 {
				return nil, fmt.Errorf("%s: matches no file", a)
			}
			out = append(out, m...)
		default:
			out = append(out, a) // unreadable files are reported by verification
		}
	}
	return out, nil
}

func isTrailName(n string) bool {
	if strings.HasSuffix(n, ".jsonl") {
		return true
	}
	i := strings.LastIndex(n, ".jsonl.")
	if i < 0 {
		return false
	}
	_, err := strconv.ParseUint(n[i+len(".jsonl."):], 10, 64)
	return err == nil
}

func runAuditKeygen(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("audit keygen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: docker-authz audit keygen [--out PRIVATE] [--pub PUBLIC]\n\nCreates an Ed25519 key pair: the private key (PEM PKCS #8, mode 0600) for\n`serve --audit-key`, and the public key (PEM) for `audit verify --key`.\nExisting files are never overwritten. Keep the public key where the people\nwho can write the trail cannot change it (the auditor's machine).\n`openssl genpkey -algorithm ed25519 -out PRIVATE` makes a compatible private\nkey; `openssl pkey -in PRIVATE -pubout -out PUBLIC` its public key.\n\nOptions:")
		fs.PrintDefaults()
	}
	priv := fs.String("out", "audit-signing.pem", "private key file to create")
	pub := fs.String("pub", "", "public key file to create (default: the private key file name with .pub.pem)")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "audit keygen: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *pub == "" {
		*pub = strings.TrimSuffix(*priv, ".pem") + ".pub.pem"
	}
	id, err := audit.GenerateKeyFiles(*priv, *pub)
	if err != nil {
		fmt.Fprintln(stderr, "audit keygen:", err)
		return 1
	}
	fmt.Fprintf(stdout, "key id %s\nprivate key: %s (give it to `serve --audit-key`; readable by root only)\npublic key:  %s (give it to auditors: `audit verify --key %s`)\n", id, *priv, *pub, *pub)
	return 0
}
