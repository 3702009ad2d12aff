package explain

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/oomdoctor/oomdoctor/internal/diagnose"
	"github.com/oomdoctor/oomdoctor/internal/model"
)

const mi = 1 << 20

// sample is a leak sawtooth killed at its 256Mi limit every 6 hours.
func sample() *Explanation {
	t0 := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC).Unix()
	h := &diagnose.History{Source: "Prometheus http://127.0.0.1:9090", Step: time.Minute}
	for i := int64(0); i < 24*60; i++ {
		s := i * 60
		h.WorkingSet = append(h.WorkingSet, model.Point{T: t0 + s, V: 100*mi + 156*mi*float64(s%21600)/21600})
		h.RSS = append(h.RSS, model.Point{T: t0 + s, V: 90*mi + 150*mi*float64(s%21600)/21600})
		h.Cache = append(h.Cache, model.Point{T: t0 + s, V: 8 * mi})
	}
	h.Limit = []model.Point{{T: t0, V: 256 * mi}}
	h.Request = []model.Point{{T: t0, V: 128 * mi}}
	for k := int64(1); k <= 3; k++ {
		h.Kills = append(h.Kills, diagnose.Kill{T: t0 + k*21600 - 60, Count: 1, Limit: 256 * mi, Source: "kube-state-metrics"})
	}
	last := time.Unix(h.Kills[2].T, 0).UTC()
	lim, req := int64(256*mi), int64(128*mi)
	f := model.Finding{Type: model.OOMKilled, Namespace: "shop", Pod: "cart-1", Container: "cart", Workload: model.WorkloadRef{Kind: "Deployment", Name: "cart", Namespace: "shop"},
		LastKill: &last, MemoryLimitBytes: &lim, MemoryRequestBytes: &req, Restarts: 3, Explanation: "The kernel OOM-killed the container <b>at</b> its limit."}
	in := &diagnose.Input{Finding: &f, History: h}
	f.Causes, f.Undecided = diagnose.Diagnose(in)
	return Build("pod shop/cart-1", time.Unix(t0+86400, 0), []model.Finding{f}, func(*model.Finding) *diagnose.History { return h }, nil)
}

func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("the HTML test needs headless Chromium: run make deps (apt-get install -y chromium)")
	return ""
}

func run(t *testing.T, bin string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	home := t.TempDir()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--user-data-dir=" + filepath.Join(home, "profile")}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+home)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, errOut.String())
	}
	return out.Bytes()
}

// The HTML page draws its chart by itself in a real browser: the DOM has
// the working-set line with its points and a line per kill, and the
// screenshot shows the line's and the kills' colours in the chart.
func TestHTMLChartInChromium(t *testing.T) {
	bin := chromium(t)
	dir := t.TempDir()
	page := filepath.Join(dir, "explain.html")
	var b bytes.Buffer
	if err := WriteHTML(&b, sample()); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "<b>at</b>") || !strings.Contains(b.String(), "&lt;b&gt;at&lt;/b&gt;") {
		t.Error("text from the cluster is not escaped")
	}
	for _, remote := range []string{"http://", "https://", "src=", "<script"} {
		if strings.Contains(strings.ReplaceAll(b.String(), `xmlns="http://www.w3.org/2000/svg"`, ""), remote) && remote != "http://" {
			t.Errorf("the page is not self-contained: it has %q", remote)
		}
	}
	if err := os.WriteFile(page, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	dom := string(run(t, bin, "--dump-dom", "file://"+page))
	if !strings.Contains(dom, `id="memory-chart-0"`) {
		t.Fatalf("no chart in the rendered DOM:\n%.2000s", dom)
	}
	ws := regexp.MustCompile(`<polyline class="ws"[^>]* points="([^"]+)"`).FindStringSubmatch(dom)
	if ws == nil || len(strings.Fields(ws[1])) < 100 {
		t.Errorf("the working-set line has too few points in the DOM: %v", ws)
	}
	if n := strings.Count(dom, `class="kill"`); n != 3 {
		t.Errorf("%d kill lines in the DOM, want 3", n)
	}
	for _, want := range []string{"memory-leak", "high confidence", "OOM kill at the limit 256Mi"} {
		if !strings.Contains(dom, want) {
			t.Errorf("the rendered page lacks %q", want)
		}
	}

	shot := filepath.Join(dir, "shot.png")
	run(t, bin, "--screenshot="+shot, "--window-size=1100,900", "--hide-scrollbars", "file://"+page)
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	blue, red := count(img, 0x15, 0x65, 0xc0), count(img, 0xc6, 0x28, 0x28)
	if blue < 300 || red < 100 {
		t.Errorf("the screenshot shows %d working-set (blue) and %d limit/kill (red) pixels: the chart was not drawn", blue, red)
	}
}

// count counts pixels within a small distance of a colour.
func count(img image.Image, r, g, b int) int {
	n := 0
	bd := img.Bounds()
	for y := bd.Min.Y; y < bd.Max.Y; y++ {
		for x := bd.Min.X; x < bd.Max.X; x++ {
			pr, pg, pb, _ := img.At(x, y).RGBA()
			if abs(int(pr>>8)-r) < 40 && abs(int(pg>>8)-g) < 40 && abs(int(pb>>8)-b) < 40 {
				n++
			}
		}
	}
	return n
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
