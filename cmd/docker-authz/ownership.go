package main

import (
	"flag"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/docker-authz/docker-authz/authz"
	"github.com/docker-authz/docker-authz/authz/owner"
)

// ownershipOptions are the serve flags of ownership (authz/owner).
type ownershipOptions struct {
	enabled       bool
	dockerHost    string
	lookupTimeout time.Duration
}

func (o *ownershipOptions) register(fs *flag.FlagSet) {
	fs.BoolVar(&o.enabled, "ownership", false, "enforce ownership: creates must carry --label "+owner.Label+"=<user>, and requests on a container, volume or network raise the ownership facet (own, other, none); needs --docker-host")
	fs.StringVar(&o.dockerHost, "docker-host", "unix:///var/run/docker.sock", "dockerd's unix socket, for --ownership lookups (they pass through this plugin as docker-authz:lookup, read-only)")
	fs.DurationVar(&o.lookupTimeout, "lookup-timeout", 2*time.Second, "bound on one --ownership lookup; a lookup that fails or times out denies the request")
}

// start returns the enricher to wire into the server (nil when ownership is
// off) and a function that stops it.
func (o *ownershipOptions) start(log logrus.FieldLogger) (authz.Enricher, func(), error) {
	if !o.enabled {
		return nil, func() {}, nil
	}
	r, err := owner.New(owner.Config{Host: o.dockerHost, Timeout: o.lookupTimeout, Log: log})
	if err != nil {
		return nil, nil, err
	}
	r.Start()
	log.WithField("docker_host", o.dockerHost).Info("ownership on: owner label " + owner.Label)
	return &owner.Enricher{R: r}, r.Close, nil
}
