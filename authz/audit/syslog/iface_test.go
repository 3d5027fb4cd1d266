package syslog

import "github.com/docker-authz/docker-authz/authz/audit"

// The Forwarder is an audit sink.
var _ audit.Forwarder = (*Forwarder)(nil)
