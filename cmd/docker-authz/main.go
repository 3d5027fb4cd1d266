// Command docker-authz is a Docker Engine authorization plugin that
// identifies callers by TLS client certificate, decides with Casbin
// policies and keeps a tamper-evident audit trail.
package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// command is one subcommand.
type command struct {
	summary string
	run     func(args []string, stdout, stderr io.Writer) int
}

var commands = map[string]command{
	"serve":   {"run the plugin (dockerd calls it on every API request)", runServe},
	"check":   {"validate a policy directory and run its test cases", runCheck},
	"explain": {"show the facets and decision for one request", runExplain},
	"audit":   {"verify the audit trail", runAudit},
	"version": {"print the version", runVersion},
	"policy":  {"import, export and diff policies (directories and PostgreSQL)", runPolicy},
	"status":  {"show the state of the running plugin (exit 0 only when ready)", runStatus},
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	return dispatch("docker-authz", commands, usage, args, stdout, stderr)
}

// dispatch runs the command args[0] of cmds with the remaining arguments;
// name ("docker-authz", "docker-authz audit") prefixes its messages. Every
// command group behaves alike: no arguments print the usage on stderr (exit
// 2); -h, --help and help print it on stdout (exit 0); "help COMMAND" is
// "COMMAND --help"; an unknown command is named on stderr, with the usage
// (exit 2).
func dispatch(name string, cmds map[string]command, usage func(io.Writer), args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	if args[0] == "help" && len(args) == 2 {
		if _, ok := cmds[args[1]]; ok {
			args = []string{args[1], "--help"}
		}
	}
	switch args[0] {
	case "-h", "--help", "help":
		usage(stdout)
		return 0
	}
	c, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "%s: unknown command %q\n\n", name, args[0])
		usage(stderr)
		return 2
	}
	return c.run(args[1:], stdout, stderr)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: docker-authz COMMAND [OPTIONS]")
	fmt.Fprintln(w, "\nA Docker Engine authorization plugin: TLS identities, Casbin policies, audit trail.\n\nCommands:")
	listCommands(w, commands)
	fmt.Fprintln(w, "\nRun 'docker-authz COMMAND --help' for the options of a command.")
}

// listCommands prints a command table, sorted by name, one line each.
func listCommands(w io.Writer, cmds map[string]command) {
	var names []string
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-8s %s\n", n, cmds[n].summary)
	}
}

// Version is set at build time with -ldflags "-X main.Version=...".
var Version = "dev"

func runVersion(args []string, stdout, stderr io.Writer) int {
	fmt.Fprintf(stdout, "docker-authz %s\n", strings.TrimSpace(Version))
	return 0
}
