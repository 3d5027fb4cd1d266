package bench

import (
	"io"
	"net/http"
)

// AllowAll is the reference plugin: the same protocol and transport as
// docker-authz, and no decision at all. It reads every message (as any
// plugin must, to keep the connection alive) and allows it.
func AllowAll() http.Handler {
	const ct = "application/vnd.docker.plugins.v1.2+json"
	mux := http.NewServeMux()
	mux.HandleFunc("/Plugin.Activate", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", ct)
		_, _ = io.WriteString(w, `{"Implements":["authz"]}`+"\n")
	})
	allow := func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", ct)
		_, _ = io.WriteString(w, `{"Allow":true}`+"\n")
	}
	mux.HandleFunc("/AuthZPlugin.AuthZReq", allow)
	mux.HandleFunc("/AuthZPlugin.AuthZRes", allow)
	return mux
}
