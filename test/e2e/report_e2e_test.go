//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker-authz/docker-authz/authz/audit"
	"github.com/docker-authz/docker-authz/authz/request"
)

// writeSampleTrail writes, through the real audit Log, a working day on a
// shared host: four users over six hours, allowed runs with their
// responses, and denials of privileged mode, host mounts and capabilities.
// The trail is signed (checkpoints) and rotated into several files. It
// returns the trail's directory, the public key file and the number of
// denials by user.
func writeSampleTrail(t *testing.T, dir string) (string, string, map[string]int) {
	t.Helper()
	trailDir := filepath.Join(dir, "trail")
	priv, pub := filepath.Join(dir, "audit.key"), filepath.Join(dir, "audit.pub")
	if _, err := audit.GenerateKeyFiles(priv, pub); err != nil {
		t.Fatal(err)
	}
	signer, err := audit.LoadSigningKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	l, err := audit.Open(filepath.Join(trailDir, "audit.jsonl"), audit.Options{Host: "build-1", Signer: signer, CheckpointEvery: 50, MaxSize: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	users := []string{"alice", "bob", "carol", "dave"}
	escal := []request.Facet{{Kind: "privileged", Value: "container"}, {Kind: "bind", Value: "/"}, {Kind: "cap", Value: "SYS_ADMIN"}}
	routes := []string{"container:create", "container:list", "container:start", "image:pull", "exec:create"}
	denials := map[string]int{}
	for i := 0; i < 240; i++ {
		u := users[i%len(users)]
		rt := routes[i%len(routes)]
		r := &audit.Record{
			Time: start.Add(time.Duration(i) * 90 * time.Second), Stage: audit.StageRequest,
			User: u, Groups: []string{"group:developers"}, Method: "POST", URI: "/v1.41/x", Route: rt,
			Facets: []request.Facet{{Kind: "route", Value: rt}}, Decision: audit.Allow,
		}
		if i%6 == 0 && u != "dave" { // dave never gets refused
			f := escal[(i/6)%len(escal)]
			r.Facets = append(r.Facets, f)
			r.Decision = audit.Deny
			r.Reason = fmt.Sprintf("%s (group:developers) may not ... [no rule allows %s; denied by default]", u, f.String())
			denials[u]++
		}
		if err := l.Write(context.Background(), r); err != nil {
			t.Fatal(err)
		}
		if r.Decision == audit.Allow {
			res := &audit.Record{Time: r.Time.Add(time.Second), Stage: audit.StageResponse, RequestID: r.ID, User: u, Method: r.Method, URI: r.URI, Route: rt, Status: 200, Decision: audit.Allow}
			if err := l.Write(context.Background(), res); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if files, _ := filepath.Glob(filepath.Join(trailDir, "audit.jsonl*")); len(files) < 2 {
		t.Fatalf("the sample trail was not rotated: %v", files)
	}
	return trailDir, pub, denials
}

// needChromium fails when Debian's chromium is missing (.ci/run installs it).
func needChromium(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium not found: apt-get install chromium (.ci/run does this)")
	}
	return p
}

// screenshot renders a local HTML file in headless Chromium with the
// network features off, and returns the PNG.
func screenshot(t *testing.T, chromium, htmlPath, pngPath string) image.Image {
	t.Helper()
	profile := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+profile, "--screenshot="+pngPath, "--window-size=1200,1600", "file://"+htmlPath)
	cmd.Env = append(os.Environ(), "HOME="+profile)
	cmd.WaitDelay = 5 * time.Second
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, out)
	}
	f, err := os.Open(pngPath)
	if err != nil {
		t.Fatalf("chromium wrote no screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	return img
}

// colorRegion is where a colour appears in an image.
type colorRegion struct {
	n                      int
	minX, minY, maxX, maxY int
}

func (r colorRegion) String() string {
	return fmt.Sprintf("%d px in x %d..%d y %d..%d", r.n, r.minX, r.maxX, r.minY, r.maxY)
}

// findColor counts the pixels of img within 3 of the #rrggbb colour per
// channel, and their bounding box.
func findColor(img image.Image, hex string) colorRegion {
	var cr, cg, cb int
	fmt.Sscanf(strings.TrimPrefix(hex, "#"), "%02x%02x%02x", &cr, &cg, &cb)
	reg := colorRegion{minX: 1 << 30, minY: 1 << 30, maxX: -1, maxY: -1}
	b := img.Bounds()
	near := func(a, b int) bool { return a-b <= 3 && b-a <= 3 }
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if near(int(r>>8), cr) && near(int(g>>8), cg) && near(int(bl>>8), cb) {
				reg.n++
				reg.minX, reg.maxX = min(reg.minX, x), max(reg.maxX, x)
				reg.minY, reg.maxY = min(reg.minY, y), max(reg.maxY, y)
			}
		}
	}
	return reg
}

// TestReportInChromium writes the HTML report with the real binary, renders
// it in headless Chromium and checks, in the pixels, that every chart was
// drawn where the layout puts it: decisions over time across the top, then
// denials by user (left) beside denied facets (right), then top routes.
func TestReportInChromium(t *testing.T) {
	chromium := needChromium(t)
	dir := t.TempDir()
	trail, pub, denials := writeSampleTrail(t, dir)
	bin := buildPlugin(t, dir)
	report := filepath.Join(dir, "report.html")
	out, err := exec.Command(bin, "audit", "report", "--key", pub, "-o", report, trail).CombinedOutput()
	if err != nil {
		t.Fatalf("audit report: %v\n%s", err, out)
	}
	b, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	html := string(b)
	for _, want := range []string{`<svg id="chart-time"`, `<svg id="chart-users"`, `<svg id="chart-facets"`, `<svg id="chart-routes"`, `<div class="verify ok" id="verify"><b>✔ Trail verified</b>`, "checkpoint(s) signed by key", "Denials (" + fmt.Sprint(denials["alice"]+denials["bob"]+denials["carol"]) + ")"} {
		if !strings.Contains(html, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	for _, bad := range []string{"<script", "<link", "<img", "src=", "href=", "url(", "http://", "https://"} {
		if strings.Contains(html, bad) {
			t.Errorf("report is not self-contained: %q", bad)
		}
	}

	img := screenshot(t, chromium, report, filepath.Join(dir, "report.png"))
	if w, h := img.Bounds().Dx(), img.Bounds().Dy(); w < 1000 || h < 1200 {
		t.Fatalf("screenshot is %dx%d", w, h)
	}
	allow := findColor(img, audit.ColorAllow)
	deny := findColor(img, audit.ColorDeny)
	users := findColor(img, audit.ColorUserDeny)
	facets := findColor(img, audit.ColorFacetDeny)
	routes := findColor(img, audit.ColorRouteAllow)
	t.Logf("allow %v; deny %v; users %v; facets %v; routes %v", allow, deny, users, facets, routes)
	for name, r := range map[string]colorRegion{"time chart (allowed)": allow, "denials": deny, "denials by user": users, "denied facets": facets, "top routes": routes} {
		if r.n < 300 {
			t.Errorf("%s: only %d pixels of its colour: the chart was not drawn", name, r.n)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	// Decisions over time: a wide chart above the others.
	if allow.maxX-allow.minX < 700 {
		t.Errorf("decisions over time spans only x %d..%d: bars missing", allow.minX, allow.maxX)
	}
	if !(allow.maxY < users.minY && allow.maxY < facets.minY) {
		t.Errorf("decisions over time (y..%d) is not above denials by user (y %d..) and denied facets (y %d..)", allow.maxY, users.minY, facets.minY)
	}
	// Denials by user and denied facets side by side.
	if !(users.maxX < facets.minX) {
		t.Errorf("denials by user (x ..%d) is not left of denied facets (x %d..)", users.maxX, facets.minX)
	}
	if users.maxY < facets.minY || facets.maxY < users.minY {
		t.Errorf("denials by user (y %d..%d) and denied facets (y %d..%d) are not side by side", users.minY, users.maxY, facets.minY, facets.maxY)
	}
	// Top routes below both.
	if !(routes.minY > users.maxY && routes.minY > facets.maxY) {
		t.Errorf("top routes (y %d..) is not below the user and facet charts", routes.minY)
	}
	// Three users were refused, so three bars: the purple area spans three
	// rows of 22 px (two gaps of 6 px), not one.
	if h := users.maxY - users.minY; h < 2*22 {
		t.Errorf("denials by user is %d px high: fewer than 3 bars drawn", h)
	}
	// The verification banner (pale green) is at the top of the page.
	if banner := findColor(img, "#e8f5e9"); banner.n < 1000 || banner.minY > allow.minY {
		t.Errorf("no verification banner above the charts: %v", banner)
	}
}
