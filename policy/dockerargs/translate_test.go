package dockerargs

import (
	"encoding/json"
	"net/url"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/docker-authz/docker-authz/authz/request"
)

func loadCaptures(t *testing.T) []captured {
	t.Helper()
	data, err := os.ReadFile(captureFile)
	if err != nil {
		t.Fatal(err)
	}
	var cs []captured
	if err := json.Unmarshal(data, &cs); err != nil {
		t.Fatal(err)
	}
	if len(cs) < 100 {
		t.Fatalf("only %d captured command lines", len(cs))
	}
	return cs
}

// TestTranslateMatchesCLI checks every command line recorded from the real
// docker CLI 20.10: same method, path, query, Content-Type and body.
func TestTranslateMatchesCLI(t *testing.T) {
	for _, c := range loadCaptures(t) {
		t.Run(c.Args, func(t *testing.T) {
			args, err := SplitArgs(c.Args)
			if err != nil {
				t.Fatal(err)
			}
			r, err := Translate(args)
			if err != nil {
				t.Fatalf("Translate: %v", err)
			}
			if r.Method != c.Method {
				t.Errorf("method %s, CLI sent %s", r.Method, c.Method)
			}
			gotPath, gotQuery, _ := strings.Cut(r.URI, "?")
			wantPath, wantQuery, _ := strings.Cut(c.URI, "?")
			if gotPath != wantPath {
				t.Errorf("path %s, CLI sent %s", gotPath, wantPath)
			}
			gq, _ := url.ParseQuery(gotQuery)
			wq, _ := url.ParseQuery(wantQuery)
			if !reflect.DeepEqual(gq, wq) {
				t.Errorf("query\n got %v\nwant %v", gq, wq)
			}
			if ct := r.Headers["Content-Type"]; ct != c.ContentType {
				t.Errorf("Content-Type %q, CLI sent %q", ct, c.ContentType)
			}
			if string(r.Body) != c.Body {
				t.Errorf("body\n got %s\nwant %s", r.Body, c.Body)
			}
			if _, err := request.Normalize(r.Raw()); err != nil {
				t.Errorf("Normalize refuses the translated request: %v", err)
			}
		})
	}
}

func TestTranslateErrors(t *testing.T) {
	for _, args := range []string{
		"",
		"frobnicate",
		"--host tcp://x ps",
		"run --no-such-flag alpine",
		"run",
		"run -v ./x:/x alpine",
		"run --security-opt seccomp=/etc/p.json alpine",
		"run --gpus device=0 alpine",
		"run --mount type=bind,src=rel,dst=/x alpine",
		"run --privileged=maybe alpine",
		"exec c",
		"cp a b",
		"build -",
		"build https://github.com/x/y.git",
		"rm a b",
		"image prune",
		"container frob",
		"pull UPPER/case",
		"commit -p=maybe c",
	} {
		a, err := SplitArgs(args)
		if err != nil {
			t.Fatal(err)
		}
		if r, err := Translate(a); err == nil {
			t.Errorf("%q: translated to %s %s, want an error", args, r.Method, r.URI)
		}
	}
}

func TestSplitArgs(t *testing.T) {
	for in, want := range map[string][]string{
		`run -v /:/h alpine`:              {"run", "-v", "/:/h", "alpine"},
		`commit -c 'CMD ["sh"]' c`:        {"commit", "-c", `CMD ["sh"]`, "c"},
		`run -e "A=b c" -e B=\"x\" i`:     {"run", "-e", "A=b c", "-e", `B="x"`, "i"},
		`  a   ''  "" `:                   {"a", "", ""},
		`run --entrypoint "" alpine "\\"`: {"run", "--entrypoint", "", "alpine", `\`},
	} {
		got, err := SplitArgs(in)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("SplitArgs(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{`'x`, `"x`, `x\`} {
		if _, err := SplitArgs(bad); err == nil {
			t.Errorf("SplitArgs(%q): want an error", bad)
		}
	}
}

// The management-command forms translate like the short ones.
func TestManagementAliases(t *testing.T) {
	for long, short := range map[string]string{
		"container run --privileged alpine": "run --privileged alpine",
		"container ls -a":                   "ps -a",
		"image ls":                          "images",
		"image pull alpine":                 "pull alpine",
		"image rm alpine":                   "rmi alpine",
		"container exec c sh":               "exec c sh",
		"volume remove v":                   "volume rm v",
	} {
		la, _ := SplitArgs(long)
		sa, _ := SplitArgs(short)
		lr, err1 := Translate(la)
		sr, err2 := Translate(sa)
		if err1 != nil || err2 != nil || !reflect.DeepEqual(lr, sr) {
			t.Errorf("%q -> %+v %v; %q -> %+v %v", long, lr, err1, short, sr, err2)
		}
	}
}
