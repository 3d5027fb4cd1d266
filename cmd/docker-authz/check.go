package main

import (
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/docker-authz/docker-authz/policy"
)

const checkUsage = `Usage: docker-authz check [--strict] [POLICY_DIR]

Checks a policy directory (default /etc/docker-authz) the way a policy
repository's CI should:

  1. validates DIR/model.conf (optional) and DIR/policy.csv: unknown facets,
     unknown profiles, malformed lines refuse the policy;
  2. lints the rules: rules that can never match (a facet value no request
     can have, <=N on a facet that is not a number) are errors; roles nobody
     has, allow rules a broader deny makes pointless, deny rules a broader
     deny already covers and duplicate lines are warnings;
  3. runs the policy test cases in DIR/cases.yaml, like opa test, and prints
     PASS or FAIL for each, with the actual decision and reason on failure.

Exit status: 0 when the policy is valid, has no lint errors (and, with
--strict, no warnings) and every case passes; 1 otherwise; 2 on usage errors.

Options:`

func runCheck(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	strict := fs.Bool("strict", false, "treat lint warnings as errors")
	fs.StringVar(&checkCasesFrom, "cases", "", "with a database policy (postgres://...): the directory holding the cases.yaml to run against it") // serve_policy.go
	fs.Usage = func() {
		fmt.Fprintln(stderr, checkUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	dir := "/etc/docker-authz"
	switch fs.NArg() {
	case 0:
	case 1:
		dir = fs.Arg(0)
	default:
		fs.Usage()
		return 2
	}
	return checkDir(dir, *strict, stdout)
}

// checkDir prints the report for one policy directory and returns the exit
// status.
func checkDir(dir string, strict bool, w io.Writer) int {
	dir = cleanPolicyLocation(dir) // serve_policy.go: a postgres:// URL stays as it is
	fmt.Fprintf(w, "checking %s\n", policyLocation(dir))
	p, err := loadPolicy(dir)
	if err != nil {
		fmt.Fprintf(w, "policy: INVALID: %v\n", err)
		fmt.Fprintln(w, "result: FAIL (invalid policy)")
		return 1
	}
	fmt.Fprintf(w, "policy: valid, %d rules, revision %s\n", len(p.Rules), p.Revision)

	var nErr, nWarn int
	for _, f := range policy.Lint(p) {
		if f.Severity == policy.SeverityError {
			nErr++
		} else {
			nWarn++
		}
		fmt.Fprintf(w, "lint:   %s:%d: %s: %s\n        %s\n", f.File, f.Line, f.Severity, f.Message, f.Rule)
	}
	fmt.Fprintf(w, "lint:   %s, %s\n", plural(nErr, "error"), plural(nWarn, "warning"))

	var failures []string
	if nErr > 0 {
		failures = append(failures, plural(nErr, "lint error"))
	}
	if strict && nWarn > 0 {
		failures = append(failures, plural(nWarn, "lint warning")+" (--strict)")
	}

	cases, ok, err := policy.LoadCases(checkCasesDir(dir))
	switch {
	case err != nil:
		fmt.Fprintf(w, "cases:  INVALID: %v\n", err)
		failures = append(failures, "invalid "+policy.CasesFile)
	case !ok:
		fmt.Fprintf(w, "cases:  none (add %s to test the policy)\n", filepath.Join(dir, policy.CasesFile))
	default:
		pass, fail := 0, 0
		for _, r := range p.RunCases(cases) {
			if r.Pass {
				pass++
				fmt.Fprintf(w, "PASS  %s\n", r.Case.Name)
				continue
			}
			fail++
			fmt.Fprintf(w, "FAIL  %s (%s:%d)\n", r.Case.Name, policy.CasesFile, r.Case.Line)
			fmt.Fprintf(w, "      %s\n", r.Problem)
			if r.Evaluation.Facts != nil || r.Evaluation.Refused != nil {
				d := r.Evaluation.Decision
				fmt.Fprintf(w, "      actual: %s: %s\n", decisionWord(d.Allow), d.Reason)
			}
		}
		fmt.Fprintf(w, "cases:  %d passed, %d failed\n", pass, fail)
		if fail > 0 {
			failures = append(failures, plural(fail, "failed case"))
		}
	}
	if len(failures) > 0 {
		fmt.Fprintf(w, "result: FAIL (%s)\n", strings.Join(failures, ", "))
		return 1
	}
	fmt.Fprintln(w, "result: OK")
	return 0
}

func decisionWord(allow bool) string {
	if allow {
		return "allow"
	}
	return "deny"
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
