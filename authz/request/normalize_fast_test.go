package request

import (
	"fmt"
	"mime"
	"strings"
	"testing"
)

// Small allocation savings in Normalize, each against the code it replaced.

// imageRefStringRef is ImageRef.String as it was (concatenation step by step).
func imageRefStringRef(r ImageRef) string {
	s := r.Domain + "/" + r.Path
	if r.Tag != "" {
		s += ":" + r.Tag
	}
	if r.Digest != "" {
		s += "@" + r.Digest
	}
	return s
}

// pathComponentsRef is the component check of ParseImageRef as it was
// (strings.Split): the first bad component, or "" and true.
func pathComponentsRef(rest string) (string, bool) {
	for _, comp := range strings.Split(rest, "/") {
		if !validPathComponent(comp) {
			return comp, false
		}
	}
	return "", true
}

func FuzzImageRefSameAsBefore(f *testing.F) {
	for _, s := range []string{
		"alpine", "alpine:3.19", "library/alpine", "a//b", "a/", "/a", "", "registry.example:5000/team/app:v1@sha256:" + strings.Repeat("a", 64),
		"localhost/x", "Upper/x", "docker.io/x", "index.docker.io/library/x:y", "a/b/c/d", "a_b/c__d/e-f", "a/B",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ref string) {
		r, err := ParseImageRef(ref)
		if err == nil {
			if got, want := r.String(), imageRefStringRef(r); got != want {
				t.Fatalf("%q: String %q, before %q", ref, got, want)
			}
			for _, tag := range []string{"", "latest"} {
				for _, dig := range []string{"", "sha256:" + strings.Repeat("b", 64)} {
					r2 := r
					r2.Tag, r2.Digest = tag, dig
					if got, want := r2.String(), imageRefStringRef(r2); got != want {
						t.Fatalf("%+v: String %q, before %q", r2, got, want)
					}
				}
			}
		}
		// The component loop accepts and refuses what strings.Split's did,
		// naming the same component.
		rest := ref
		for comps, more := rest, true; more; {
			var comp string
			comp, comps, more = strings.Cut(comps, "/")
			if !validPathComponent(comp) {
				if bad, ok := pathComponentsRef(rest); ok || bad != comp {
					t.Fatalf("%q: loop refuses %q, Split refuses %q (%v)", rest, comp, bad, !ok)
				}
				return
			}
		}
		if bad, ok := pathComponentsRef(rest); !ok {
			t.Fatalf("%q: loop accepts, Split refuses %q", rest, bad)
		}
	})
}

func TestJoinSrcSameAsBefore(t *testing.T) {
	fields := []string{"Binds[0]", "Sysctls[\"x\"]", "Devices[1]", "Other"}
	for f := range hostConfigSources {
		fields = append(fields, f)
	}
	for _, prefix := range []string{"", "HostConfig", "TaskTemplate", "x"} {
		for _, f := range fields {
			want := f
			if prefix != "" {
				want = prefix + "." + f
			}
			if got := joinSrc(prefix, f); got != want {
				t.Errorf("joinSrc(%q, %q) = %q, want %q", prefix, f, got, want)
			}
		}
	}
}

func TestRequestNamePrintsAsBefore(t *testing.T) {
	for _, c := range [][2]string{{"POST", "/containers/create"}, {"", ""}, {"GET", "/a b%"}} {
		want := c[0] + " " + c[1]
		if got := fmt.Sprintf("%s: x", requestName{c[0], c[1]}); got != want+": x" {
			t.Errorf("%q", got)
		}
	}
}

// checkBodyTransport takes "application/json" without mime.ParseMediaType:
// it gives the same media type and no error.
func TestJSONContentTypeShortcut(t *testing.T) {
	mt, params, err := mime.ParseMediaType("application/json")
	if err != nil || mt != "application/json" || len(params) != 0 {
		t.Fatalf("mime.ParseMediaType(application/json) = %q %v %v", mt, params, err)
	}
}
