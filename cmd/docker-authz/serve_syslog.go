package main

import (
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/sirupsen/logrus"

	"github.com/docker-authz/docker-authz/authz/audit"
	"github.com/docker-authz/docker-authz/authz/audit/syslog"
)

// auditSinkFlags are serve's flags for the record host name and the
// additional audit sinks (syslog forwarding to a central collector).
type auditSinkFlags struct {
	host                                       string
	syslogURL, syslogCA, syslogCert, syslogKey string
	syslogServerName                           string
	syslogQueue                                int
}

func (a *auditSinkFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&a.host, "audit-host", "", "host name written into every audit record (and the syslog HOSTNAME), so a central collector can keep and verify one chain per host; empty means the machine's host name")
	fs.StringVar(&a.syslogURL, "audit-syslog", "", "also forward every audit record as RFC 5424 syslog to this collector: tcp+tls://HOST[:6514], tcp://HOST[:514], udp://HOST[:514] or unix:///dev/log. Never delays decisions: a bounded queue, drops counted and logged; the local trail stays complete")
	fs.StringVar(&a.syslogCA, "audit-syslog-ca", "", "PEM bundle of the CAs trusted for the collector's TLS certificate (tcp+tls://); empty means the system roots")
	fs.StringVar(&a.syslogCert, "audit-syslog-cert", "", "client certificate (PEM) presented to the collector (tcp+tls://), with --audit-syslog-key")
	fs.StringVar(&a.syslogKey, "audit-syslog-key", "", "private key (PEM) of --audit-syslog-cert")
	fs.StringVar(&a.syslogServerName, "audit-syslog-server-name", "", "name expected in the collector's certificate; empty means the host of --audit-syslog")
	fs.IntVar(&a.syslogQueue, "audit-syslog-queue", syslog.DefaultQueueSize, "records waiting for the collector before new ones are dropped")
}

// open returns the audit host name and the forwarders to hand to
// audit.Options, and a function that closes them; call it after the trail is
// closed, so the last records (shutdown checkpoint) are forwarded too.
func (a *auditSinkFlags) open(log *logrus.Logger) (host string, fw []audit.Forwarder, closeSinks func(), err error) {
	host = a.host
	if host == "" {
		if host, err = os.Hostname(); err != nil {
			return "", nil, nil, fmt.Errorf("--audit-host is empty and the host name is unknown: %w", err)
		}
	}
	closeSinks = func() {}
	if a.syslogURL == "" {
		if a.syslogCA != "" || a.syslogCert != "" || a.syslogKey != "" || a.syslogServerName != "" {
			return "", nil, nil, errors.New("--audit-syslog-ca, -cert, -key and -server-name need --audit-syslog")
		}
		return host, nil, closeSinks, nil
	}
	entry := log.WithField("sink", "syslog")
	f, err := syslog.New(syslog.Config{
		URL:        a.syslogURL,
		CAFile:     a.syslogCA,
		CertFile:   a.syslogCert,
		KeyFile:    a.syslogKey,
		ServerName: a.syslogServerName,
		Hostname:   host,
		QueueSize:  a.syslogQueue,
		Logger:     entry,
	})
	if err != nil {
		return "", nil, nil, fmt.Errorf("--audit-syslog: %w", err)
	}
	closeSinks = func() {
		if err := f.Close(); err != nil {
			entry.Warn(err.Error())
		}
		entry.WithFields(logrus.Fields{"sent": f.Sent.Load(), "dropped": f.Dropped.Load(), "errors": f.Errors.Load()}).Info("audit syslog forwarding stopped")
	}
	return host, []audit.Forwarder{f}, closeSinks, nil
}
