// Package dockerargs turns docker CLI arguments ("run --privileged -v /:/h
// alpine") into the Docker API request the docker CLI 20.10 sends for them,
// so that policy test cases and `docker-authz explain` can be written the way
// users type commands.
//
// Contract:
//   - Translate returns the one request that decides the command (for
//     `docker run` the POST /containers/create, for `docker exec` the POST
//     /containers/{id}/exec, for `docker plugin install` the POST
//     /plugins/pull, ...), with the /v1.41 version prefix, the query string
//     and the JSON body the CLI 20.10 would send, field for field (the
//     testdata holds requests captured from the real CLI).
//   - A flag or command it does not know is an error naming it: a test case
//     that silently dropped `--privileged` would test nothing. Write such
//     cases as raw API requests instead.
//   - Requests that dockerd forwards without a body (build contexts, pulls)
//     carry none here either.
//   - Where the CLI's request depends on the daemon's answers (docker cp
//     stats the destination, plugin install asks which privileges the
//     plugin wants), Translate assumes the plain answer: the destination is
//     a directory, the plugin asks for none. Write other cases as raw
//     requests.
//
// testdata/cli-20.10.24.json holds what the real docker CLI 20.10 (Debian's
// docker.io) sent for ~150 command lines, recorded against a fake daemon with
// `go test ./policy/dockerargs -run TestCaptureCLI -capture`;
// TestTranslateMatchesCLI checks every one, byte for byte.
package dockerargs
