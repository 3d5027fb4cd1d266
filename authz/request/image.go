package request

import (
	"fmt"
	"strings"
)

// Image reference normalisation, following github.com/distribution/reference
// (the grammar dockerd 20.10 vendors as github.com/docker/distribution/reference)
// and the docker CLI: "alpine" -> "docker.io/library/alpine:latest".
//
//	reference      := name [ ":" tag ] [ "@" digest ]
//	name           := [domain '/'] path-component ['/' path-component]*
//	domain         := domain-component ['.' domain-component]* [':' port-number]
//	domain-component := /([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])/
//	path-component := alpha-numeric [separator alpha-numeric]*
//	alpha-numeric  := /[a-z0-9]+/
//	separator      := /[_.]|__|[-]*/
//	tag            := /[\w][\w.-]{0,127}/
//	digest         := algorithm ":" hex   (algorithm [A-Za-z][A-Za-z0-9]*([-_+.][A-Za-z][A-Za-z0-9]*)*, hex [0-9a-fA-F]{32,})
const (
	defaultDomain    = "docker.io"
	legacyDomain     = "index.docker.io"
	officialRepoName = "library"
	nameTotalLength  = 255
)

// ImageRef is a parsed, normalised image reference.
type ImageRef struct {
	Domain string // docker.io, registry.internal.example:5000, ...
	Path   string // library/alpine
	Tag    string // "" when absent
	Digest string // "sha256:..." when present
}

// Name is domain/path.
func (r ImageRef) Name() string { return r.Domain + "/" + r.Path }

// String is the full normalised reference: name[:tag][@digest].
func (r ImageRef) String() string {
	tagSep, digestSep := "", ""
	if r.Tag != "" {
		tagSep = ":"
	}
	if r.Digest != "" {
		digestSep = "@"
	}
	return r.Domain + "/" + r.Path + tagSep + r.Tag + digestSep + r.Digest
}

// ParseImageRef parses ref like reference.ParseNormalizedNamed: a name
// without a registry gets docker.io, a single path component on docker.io
// gets library/. It does not add a default tag (see NormalizeImage).
func ParseImageRef(ref string) (ImageRef, error) {
	var r ImageRef
	if ref == "" {
		return r, fmt.Errorf("empty image reference")
	}
	if isHex(ref) && len(ref) == 64 {
		return r, fmt.Errorf("invalid image reference %q: cannot specify 64-byte hexadecimal strings as a repository name", ref)
	}
	name := ref
	if i := strings.IndexByte(name, '@'); i >= 0 {
		r.Digest = name[i+1:]
		name = name[:i]
		if !validDigest(r.Digest) {
			return r, fmt.Errorf("invalid image reference %q: bad digest %q", ref, r.Digest)
		}
	}
	// A tag is after the last ':' that follows the last '/'.
	if i := strings.LastIndexByte(name, ':'); i >= 0 && i > strings.LastIndexByte(name, '/') {
		r.Tag = name[i+1:]
		name = name[:i]
		if !validTag(r.Tag) {
			return r, fmt.Errorf("invalid image reference %q: bad tag %q", ref, r.Tag)
		}
	}
	if len(name) > nameTotalLength {
		return r, fmt.Errorf("invalid image reference %q: repository name longer than %d characters", ref, nameTotalLength)
	}
	domain, rest := defaultDomain, name
	if i := strings.IndexByte(name, '/'); i >= 0 {
		first := name[:i]
		if strings.ContainsAny(first, ".:") || first == "localhost" || strings.ToLower(first) != first {
			domain, rest = first, name[i+1:]
		}
	}
	if domain == legacyDomain {
		domain = defaultDomain
	}
	if !validDomain(domain) {
		return r, fmt.Errorf("invalid image reference %q: bad registry %q", ref, domain)
	}
	if strings.ToLower(rest) != rest {
		return r, fmt.Errorf("invalid image reference %q: repository name must be lowercase", ref)
	}
	if domain == defaultDomain && !strings.Contains(rest, "/") {
		rest = officialRepoName + "/" + rest
	}
	for comps, more := rest, true; more; {
		var comp string
		comp, comps, more = strings.Cut(comps, "/")
		if !validPathComponent(comp) {
			return r, fmt.Errorf("invalid image reference %q: bad path component %q", ref, comp)
		}
	}
	r.Domain, r.Path = domain, rest
	return r, nil
}

// NormalizeImage returns the facet value for an image a container or service
// runs: the normalised reference with ":latest" added when neither tag nor
// digest is given, or "id:<hex>" for an image ID (sha256:<hex> or a bare hex
// ID of 12 to 64 characters, which dockerd resolves against local images).
func NormalizeImage(ref string) (string, error) {
	if id, ok := imageID(ref); ok {
		return "id:" + id, nil
	}
	r, err := ParseImageRef(ref)
	if err != nil {
		return "", err
	}
	if r.Tag == "" && r.Digest == "" {
		r.Tag = "latest"
	}
	return r.String(), nil
}

func imageID(ref string) (string, bool) {
	if h, ok := strings.CutPrefix(ref, "sha256:"); ok && len(h) >= 1 && len(h) <= 64 && isLowerHex(h) {
		return h, true
	}
	if len(ref) >= 12 && len(ref) <= 64 && isLowerHex(ref) {
		return ref, true
	}
	return "", false
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return s != ""
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return s != ""
}

func isAlnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }

func validPathComponent(s string) bool {
	if s == "" || !isAlnum(s[0]) || !isAlnum(s[len(s)-1]) {
		return false
	}
	for i := 0; i < len(s); {
		if isAlnum(s[i]) {
			i++
			continue
		}
		// separator: "." | "_" | "__" | "-"+
		j := i
		switch s[i] {
		case '.':
			j++
		case '_':
			j++
			if j < len(s) && s[j] == '_' {
				j++
			}
		case '-':
			for j < len(s) && s[j] == '-' {
				j++
			}
		default:
			return false
		}
		if j >= len(s) || !isAlnum(s[j]) {
			return false
		}
		i = j
	}
	return true
}

func validDomain(d string) bool {
	host, port := d, ""
	if i := strings.LastIndexByte(d, ':'); i >= 0 {
		host, port = d[:i], d[i+1:]
		if port == "" {
			return false
		}
		for i := 0; i < len(port); i++ {
			if port[i] < '0' || port[i] > '9' {
				return false
			}
		}
	}
	if host == "" {
		return false
	}
	for _, comp := range strings.Split(host, ".") {
		if comp == "" {
			return false
		}
		for i := 0; i < len(comp); i++ {
			c := comp[i]
			ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || (c == '-' && i > 0 && i < len(comp)-1)
			if !ok {
				return false
			}
		}
	}
	return true
}

func isWord(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

func validTag(t string) bool {
	if t == "" || len(t) > 128 || !isWord(t[0]) {
		return false
	}
	for i := 1; i < len(t); i++ {
		if !isWord(t[i]) && t[i] != '.' && t[i] != '-' {
			return false
		}
	}
	return true
}

func validDigest(d string) bool {
	alg, hex, ok := strings.Cut(d, ":")
	if !ok || len(hex) < 32 || !isHex(hex) || alg == "" {
		return false
	}
	for _, part := range strings.FieldsFunc(alg, func(r rune) bool { return r == '-' || r == '_' || r == '+' || r == '.' }) {
		if part == "" {
			return false
		}
		if !(part[0] >= 'a' && part[0] <= 'z' || part[0] >= 'A' && part[0] <= 'Z') {
			return false
		}
		for i := 1; i < len(part); i++ {
			c := part[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
				return false
			}
		}
	}
	// separators may not start, end or repeat
	if strings.IndexAny(alg[:1], "-_+.") == 0 || strings.LastIndexAny(alg, "-_+.") == len(alg)-1 ||
		strings.Contains(alg, "..") || strings.Contains(alg, "--") || strings.Contains(alg, "__") || strings.Contains(alg, "++") {
		return false
	}
	// dockerd only knows sha256/sha384/sha512 digests; the registry client
	// would reject others, so refuse them here instead of guessing.
	switch alg {
	case "sha256":
		return len(hex) == 64 && isLowerHex(hex)
	case "sha384":
		return len(hex) == 96 && isLowerHex(hex)
	case "sha512":
		return len(hex) == 128 && isLowerHex(hex)
	}
	return false
}
