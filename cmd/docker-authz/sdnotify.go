package main

import (
	"net"
	"os"
	"strings"
)

// sdNotify sends a state to systemd (Type=notify units): READY=1 once the
// plugin serves, RELOADING=1 / READY=1 around a reload, STOPPING=1 on
// shutdown. Outside systemd (no NOTIFY_SOCKET) it does nothing. Errors are
// ignored: the notification is advisory, the socket is what dockerd uses.
func sdNotify(state string) {
	path := os.Getenv("NOTIFY_SOCKET")
	if path == "" {
		return
	}
	if strings.HasPrefix(path, "@") { // abstract namespace
		path = "\x00" + path[1:]
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return
	}
	defer c.Close()
	_, _ = c.Write([]byte(state))
}
