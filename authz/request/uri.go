package request

import (
	"fmt"
	"net/url"
	"path"
	"strconv"
	"strings"
)

// API versions dockerd 20.10 serves (api/common.go: MinVersion, DefaultVersion).
const (
	MinAPIMinor = 12
	MaxAPIMinor = 41
)

// ParsedURI is a request URI the way dockerd's router sees it.
type ParsedURI struct {
	Path       string     // decoded, cleaned path without the version prefix
	RawPath    string     // decoded path as received (before cleaning)
	APIVersion string     // "1.41", or "" when the path had no version prefix
	Versioned  bool       // the path had a /v{version} prefix
	Query      url.Values // url.ParseQuery of the raw query
}

// ParseURI parses a RequestURI as net/http and gorilla/mux (dockerd 20.10) do.
//
//   - net/http parses the request target with url.ParseRequestURI (origin form
//     "/path?query" or absolute form "http://host/path?query"); URL.Path is the
//     percent-decoded path, so /containers%2Fcreate routes as /containers/create.
//   - gorilla/mux cleans URL.Path (path.Clean, keeping a trailing slash) and,
//     when the clean path differs, answers 301 to the clean path instead of
//     running the handler. The authorization middleware runs inside the
//     handler, so dockerd never asks a plugin about an unclean path; if one
//     arrives anyway we decide about the cleaned path, which is what a client
//     following the redirect would get executed.
//   - routes are registered as "/v{version:[0-9.]+}" + template and as the bare
//     template; matching is case-sensitive.
//   - the version prefix must be "1.N" with N in [12, 41] and no leading zero;
//     dockerd would also accept forms such as "1.41.0" or "1.041" — we refuse
//     them rather than reason about them.
func ParseURI(uri string) (*ParsedURI, error) {
	if uri == "" {
		return nil, fmt.Errorf("empty request URI")
	}
	u, err := url.ParseRequestURI(uri)
	if err != nil {
		return nil, fmt.Errorf("request URI %q does not parse: %v", uri, err)
	}
	if u.Opaque != "" {
		return nil, fmt.Errorf("request URI %q has an opaque form dockerd does not route", uri)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("query of request URI %q does not parse: %v", uri, err)
	}
	p := cleanPath(u.Path)
	pu := &ParsedURI{RawPath: u.Path, Query: q}
	if rest, v, ok := splitVersion(p); ok {
		if err := checkVersion(v); err != nil {
			return nil, err
		}
		pu.APIVersion, pu.Versioned, p = v, true, rest
	}
	pu.Path = p
	return pu, nil
}

// cleanPath is gorilla/mux's cleanPath.
func cleanPath(p string) string {
	if p == "" {
		return "/"
	}
	if p[0] != '/' {
		p = "/" + p
	}
	np := path.Clean(p)
	if p[len(p)-1] == '/' && np != "/" {
		np += "/"
	}
	return np
}

// splitVersion recognises the router's "/v{version:[0-9.]+}/" prefix.
// A path like "/v1.41" alone matches no route in dockerd (every template
// starts with "/" after the prefix) and is returned unsplit.
func splitVersion(p string) (rest, version string, ok bool) {
	if len(p) < 3 || p[0] != '/' || p[1] != 'v' {
		return p, "", false
	}
	i := 2
	for i < len(p) && (p[i] == '.' || p[i] >= '0' && p[i] <= '9') {
		i++
	}
	if i == 2 || i >= len(p) || p[i] != '/' {
		return p, "", false
	}
	return p[i:], p[2:i], true
}

func checkVersion(v string) error {
	minor, ok := strings.CutPrefix(v, "1.")
	n, err := strconv.Atoi(minor)
	if !ok || err != nil || minor == "" || (len(minor) > 1 && minor[0] == '0') || strings.ContainsAny(minor, "+-") {
		return fmt.Errorf("API version %q in the request path is not of the form 1.N: refusing", v)
	}
	if n < MinAPIMinor || n > MaxAPIMinor {
		return fmt.Errorf("API version %q is outside what dockerd 20.10 serves (1.%d to 1.%d): refusing", v, MinAPIMinor, MaxAPIMinor)
	}
	return nil
}

// versionBefore reports whether the request's API version is lower than 1.minor.
// A request without a version prefix gets dockerd's default (1.41).
func versionBefore(apiVersion string, minor int) bool {
	if apiVersion == "" {
		return MaxAPIMinor < minor
	}
	n, _ := strconv.Atoi(strings.TrimPrefix(apiVersion, "1."))
	return n < minor
}
