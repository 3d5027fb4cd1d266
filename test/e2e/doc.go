// Package e2e holds the end-to-end tests of docker-authz: a real dockerd
// (Debian's docker.io) on its own sockets, data-root and exec-root, TLS
// with a test CA, the real plugin binary on a real unix socket, and the real
// docker CLI with per-user client certificates. Build tag e2e; run as root
// with `make e2e`. Nothing is mocked, and the tests fail (never skip) when
// something they need is missing.
package e2e
