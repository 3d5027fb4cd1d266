package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/docker-authz/docker-authz/policy"
	"github.com/docker-authz/docker-authz/policy/pgsource"
)

var policyCommands = map[string]command{
	"init":   {"--to URL [--model FILE]: create the tables and the change trigger (idempotent)", runPolicyInit},
	"import": {"--from DIR --to URL: validate DIR and replace the database policy with it, in one transaction", runPolicyImport},
	"export": {"--from SRC [--to DIR]: write a policy (directory or database) as policy.csv + model.conf, or policy.csv to stdout", runPolicyExport},
	"diff":   {"A B: rule-level difference of two policies (directories or databases); exit 0 equal, 1 different, 2 error", runPolicyDiff},
}

func policyUsage(w io.Writer) {
	fmt.Fprint(w, `Usage: docker-authz policy COMMAND [OPTIONS]

Move a policy between a directory (policy.csv, model.conf) and a PostgreSQL
database shared by many hosts (serve --policy postgres://...).

Commands:
`)
	listCommands(w, policyCommands)
	fmt.Fprint(w, `
URL is postgres://USER@HOST:PORT/DB?sslmode=verify-full; give the password in
PGPASSFILE or PGPASSWORD rather than in the URL (command lines are visible
to every user). Every plugin reading the database picks up an import within
a second. Run 'docker-authz policy COMMAND --help' for the options of a command.
`)
}

func runPolicy(args []string, stdout, stderr io.Writer) int {
	return dispatch("docker-authz policy", policyCommands, policyUsage, args, stdout, stderr)
}

func policyFlags(name string, stderr io.Writer, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet("policy "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, usage)
		fs.PrintDefaults()
	}
	return fs
}

func parsePolicyFlags(fs *flag.FlagSet, args []string) (int, bool) {
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0, false
		}
		return 2, false
	}
	return 0, true
}

func openStore(to string) (*pgsource.Store, error) {
	if !pgsource.IsURL(to) {
		return nil, fmt.Errorf("--to must be a database URL (postgres://...), not %q", to)
	}
	return pgsource.Open(to)
}

func runPolicyInit(args []string, stdout, stderr io.Writer) int {
	fs := policyFlags("init", stderr, "Usage: docker-authz policy init --to URL [--model FILE]\n\nCreates the policy tables and the change trigger. The model is stored only\nif the database has none yet (default: the built-in model).")
	to := fs.String("to", "", "database URL")
	modelFile := fs.String("model", "", "Casbin model file (default: the built-in model)")
	if rc, ok := parsePolicyFlags(fs, args); !ok {
		return rc
	}
	if *to == "" || fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	modelText := policy.DefaultModel
	if *modelFile != "" {
		b, err := os.ReadFile(*modelFile)
		if err != nil {
			fmt.Fprintln(stderr, "policy init:", err)
			return 2
		}
		modelText = string(b)
		// Validate the model with an empty policy before storing it.
		if _, err := policy.FromRules(*modelFile, modelText, nil); err != nil {
			fmt.Fprintln(stderr, "policy init: invalid model:", err)
			return 1
		}
	}
	st, err := openStore(*to)
	if err != nil {
		fmt.Fprintln(stderr, "policy init:", err)
		return 2
	}
	defer st.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := st.Init(ctx, modelText); err != nil {
		fmt.Fprintln(stderr, "policy init:", err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: policy tables ready (%s, %s)\n", st, pgsource.RuleTable, pgsource.MetaTable)
	return 0
}

func runPolicyImport(args []string, stdout, stderr io.Writer) int {
	fs := policyFlags("import", stderr, "Usage: docker-authz policy import --from DIR --to URL\n\nValidates DIR like `docker-authz check` and makes the database hold exactly\nits model and rules, in one transaction. Nothing is written when DIR is invalid.")
	from := fs.String("from", "", "policy directory (policy.csv, model.conf)")
	to := fs.String("to", "", "database URL")
	if rc, ok := parsePolicyFlags(fs, args); !ok {
		return rc
	}
	if *from == "" || *to == "" || fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	p, err := policy.LoadDir(*from)
	if err != nil {
		fmt.Fprintln(stderr, "policy import: invalid policy, nothing imported:", err)
		return 1
	}
	st, err := openStore(*to)
	if err != nil {
		fmt.Fprintln(stderr, "policy import:", err)
		return 2
	}
	defer st.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := st.Init(ctx, p.Model); err != nil {
		fmt.Fprintln(stderr, "policy import:", err)
		return 1
	}
	rev, err := st.Replace(ctx, p)
	if err != nil {
		fmt.Fprintln(stderr, "policy import:", err)
		return 1
	}
	fmt.Fprintf(stdout, "imported %s into %s: %d rules, policy revision %s, store revision %d\n", *from, st, len(p.Rules), p.Revision, rev)
	return 0
}

func runPolicyExport(args []string, stdout, stderr io.Writer) int {
	fs := policyFlags("export", stderr, "Usage: docker-authz policy export --from SRC [--to DIR] [--force]\n\nWrites the policy of SRC (a directory or a database URL) to DIR as policy.csv\nand model.conf (the exported directory has the same policy revision), or\npolicy.csv to standard output without --to.")
	from := fs.String("from", "", "policy directory or database URL")
	to := fs.String("to", "", "directory to write (created if needed)")
	force := fs.Bool("force", false, "overwrite an existing policy.csv in DIR")
	if rc, ok := parsePolicyFlags(fs, args); !ok {
		return rc
	}
	if *from == "" || fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	p, err := loadPolicy(*from)
	if err != nil {
		fmt.Fprintln(stderr, "policy export:", err)
		return 1
	}
	if *to == "" {
		stdout.Write(policy.FormatRules(p.Rules))
		return 0
	}
	if err := exportDir(*to, p, *force); err != nil {
		fmt.Fprintln(stderr, "policy export:", err)
		return 1
	}
	fmt.Fprintf(stdout, "exported %s to %s: %d rules, policy revision %s\n", policyLocation(*from), *to, len(p.Rules), p.Revision)
	return 0
}

// exportDir writes model.conf then policy.csv, each by rename.
func exportDir(dir string, p *policy.Policy, force bool) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(dir, policy.PolicyFile)); err == nil && !force {
		return fmt.Errorf("%s already exists (use --force to overwrite it)", filepath.Join(dir, policy.PolicyFile))
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{policy.ModelFile, []byte(p.Model)}, {policy.PolicyFile, policy.FormatRules(p.Rules)}} {
		tmp := filepath.Join(dir, "."+f.name+".tmp")
		if err := os.WriteFile(tmp, f.data, 0o644); err != nil {
			return err
		}
		if err := os.Rename(tmp, filepath.Join(dir, f.name)); err != nil {
			os.Remove(tmp)
			return err
		}
	}
	return nil
}

func runPolicyDiff(args []string, stdout, stderr io.Writer) int {
	fs := policyFlags("diff", stderr, "Usage: docker-authz policy diff A B\n\nA and B are policy directories or database URLs. Prints the rules only in A\n(\"- \") and only in B (\"+ \"), order and comments ignored.\nExit status 0 when equal, 1 when different, 2 on error.")
	if rc, ok := parsePolicyFlags(fs, args); !ok {
		return rc
	}
	if fs.NArg() != 2 {
		fs.Usage()
		return 2
	}
	var pols [2]*policy.Policy
	for i := range pols {
		p, err := loadPolicy(fs.Arg(i))
		if err != nil {
			fmt.Fprintln(stderr, "policy diff:", err)
			return 2
		}
		pols[i] = p
	}
	d := policy.Diff(pols[0], pols[1])
	a, b := policyLocation(fs.Arg(0)), policyLocation(fs.Arg(1))
	if d.Empty() {
		fmt.Fprintf(stdout, "same policy: %d rules (revisions %s, %s)\n", len(pols[0].Rules), pols[0].Revision, pols[1].Revision)
		return 0
	}
	fmt.Fprintf(stdout, "--- %s (revision %s)\n+++ %s (revision %s)\n", a, pols[0].Revision, b, pols[1].Revision)
	if d.ModelDiffers {
		fmt.Fprintln(stdout, "! the models differ")
	}
	for _, r := range d.OnlyA {
		fmt.Fprintf(stdout, "- %s\n", r)
	}
	for _, r := range d.OnlyB {
		fmt.Fprintf(stdout, "+ %s\n", r)
	}
	return 1
}
