package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/term"

	"github.com/docker-authz/docker-authz/authz"
	"github.com/docker-authz/docker-authz/authz/audit"
	"github.com/docker-authz/docker-authz/authz/identity"
)

type serveOptions struct {
	socket, policyDir, clientCA, auditLog, localUser, logLevel, logFormat string
	own                                                                   ownershipOptions
	sinks                                                                 auditSinkFlags    // serve_syslog.go: --audit-host, --audit-syslog*
	pdb                                                                   policySourceFlags // serve_policy.go: --policy postgres://, --policy-snapshot
	trail                                                                 auditCoreFlags    // serve_audit.go: --audit-key, --audit-hmac-key, rotation, checkpoints, levels
	ops                                                                   opsOptions        // serve_ops.go: --admin-socket, --metrics-addr, --watch-interval
}

func runServe(args []string, stdout, stderr io.Writer) int {
	var o serveOptions
	fs := serveFlags(&o, stderr)
	fs.Usage = serveUsage(fs, args, stdout, stderr) // serve_help.go: the manual
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "serve: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if err := applyConfigFile(fs); err != nil {
		fmt.Fprintln(stderr, "serve:", err)
		return 2
	}
	log, err := newLogger(stderr, o.logLevel, o.logFormat)
	if err != nil {
		fmt.Fprintln(stderr, "serve:", err)
		return 2
	}
	if err := serve(o, log); err != nil {
		log.Error(err.Error())
		return 1
	}
	return 0
}

// serveFlags is the flag set of serve, filling o. (The managed plugin's
// config.json is checked against it.)
func serveFlags(o *serveOptions, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.String(configFlag, "", "YAML `FILE` setting serve options by name (audit-log: /var/log/..., ownership: true); options given on the command line win; an unknown key is an error")
	fs.StringVar(&o.socket, "socket", "/run/docker/plugins/docker-authz.sock", "unix socket dockerd connects to; the file name without .sock is the plugin name for daemon.json")
	fs.StringVar(&o.policyDir, "policy", "/etc/docker-authz", "policy directory holding policy.csv and (optionally) model.conf, or a PostgreSQL database postgres://USER@HOST:PORT/DB?sslmode=verify-full (password in PGPASSFILE or PGPASSWORD, not here: command lines are visible to every user)")
	fs.StringVar(&o.clientCA, "client-ca", "", "PEM bundle of the CAs whose client certificates identify users (CN = user, O/OU = groups); without it no TLS caller can be identified")
	fs.StringVar(&o.auditLog, "audit-log", "/var/log/docker-authz/audit.jsonl", "audit trail file (JSON Lines, hash-chained)")
	fs.StringVar(&o.localUser, "local-user", "", "user name for requests without a certificate (dockerd's unix socket); empty means \"anonymous\"")
	fs.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&o.logFormat, "log-format", "auto", "text, json, or auto (text on a terminal, JSON otherwise)")
	o.own.register(fs)
	o.sinks.register(fs)
	o.trail.register(fs)
	o.pdb.register(fs)
	o.ops.register(fs)
	return fs
}

func newLogger(w io.Writer, level, format string) (*logrus.Logger, error) {
	l := logrus.New()
	l.SetOutput(w)
	lv, err := logrus.ParseLevel(level)
	if err != nil {
		return nil, fmt.Errorf("--log-level: %v", err)
	}
	l.SetLevel(lv)
	switch format {
	case "json":
		l.SetFormatter(&logrus.JSONFormatter{})
	case "text":
		l.SetFormatter(&logrus.TextFormatter{FullTimestamp: true})
	case "auto":
		if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			l.SetFormatter(&logrus.TextFormatter{FullTimestamp: true})
		} else {
			l.SetFormatter(&logrus.JSONFormatter{})
		}
	default:
		return nil, fmt.Errorf("--log-format must be text, json or auto, not %q", format)
	}
	return l, nil
}

func serve(o serveOptions, log *logrus.Logger) error {
	pol, pdb, err := o.pdb.open(o.policyDir, log)
	if err != nil {
		return fmt.Errorf("policy not loaded, refusing to start: %w", err)
	}
	defer pdb.stop()
	ops, err := newOps(o, pol, pdb, log) // serve_ops.go: directory reload (with its cases), status, metrics
	if err != nil {
		return fmt.Errorf("policy not loaded, refusing to start: %w", err)
	}
	defer ops.close()
	pol = ops.holder.Policy()
	ver, err := identity.NewVerifier(identity.Config{ClientCAFile: o.clientCA, LocalUser: o.localUser})
	if err != nil {
		return fmt.Errorf("identity: %w", err)
	}
	if o.clientCA == "" {
		log.Warn("no --client-ca: TLS clients cannot be identified and will be denied")
	}
	host, forwarders, closeSinks, err := o.sinks.open(log)
	if err != nil {
		return err
	}
	defer closeSinks() // after trail.Close (defers run last first): the last records are forwarded too
	aopts, err := o.trail.options(audit.Options{Host: host, Logger: log, Forwarders: forwarders})
	if err != nil {
		return err
	}
	levels, err := o.trail.levels()
	if err != nil {
		return err
	}
	trail, err := audit.Open(o.auditLog, aopts)
	if err != nil {
		return fmt.Errorf("audit trail: %w", err)
	}
	defer closeTrail(trail, log) // writes the final (shutdown) checkpoint
	log.WithFields(o.trail.describe(aopts, levels)).Info("audit trail open")

	holder := ops.holder
	pdb.watch(holder)
	name := strings.TrimSuffix(filepath.Base(o.socket), ".sock")
	enricher, stopOwnership, err := o.own.start(log)
	if err != nil {
		return fmt.Errorf("ownership: %w", err)
	}
	defer stopOwnership()
	srv := authz.NewServer(authz.Config{Name: name, Identity: ver, Policy: holder, Audit: trail, Log: log, AuditLevels: levels, Enricher: enricher, Observer: ops.observer()})

	l, err := authz.ListenUnix(o.socket)
	if err != nil {
		return err
	}
	defer os.Remove(o.socket)
	if err := ops.start(srv, trail, name, o.socket); err != nil {
		return err
	}

	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	log.WithFields(logrus.Fields{"socket": o.socket, "plugin": name, "policy": policyLocation(o.policyDir), "revision": pol.Revision, "audit": o.auditLog}).Info("docker-authz serving")

	for {
		select {
		case err := <-errc:
			return err
		case s := <-sigs:
			if s == syscall.SIGHUP {
				ops.reload() // directory or database
				continue
			}
			ops.shuttingDown()
			log.WithField("signal", s.String()).Info("shutting down: draining in-flight requests")
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			err := srv.Shutdown(ctx)
			cancel()
			return err
		}
	}
}
