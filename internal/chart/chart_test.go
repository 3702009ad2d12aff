package chart

import (
	"bytes"
	"strings"
	"testing"
)

func TestRender(t *testing.T) {
	var pts []Point
	for i := 0; i <= 20; i++ {
		pts = append(pts, Point{At: float64(i) / 2, Value: int64(i) << 20})
	}
	var b bytes.Buffer
	Render(&b, pts, Options{Width: 21, Height: 5, Limit: 16 << 20, Request: 8 << 20, Markers: map[float64]rune{10: 'K'}, Title: "usage"})
	out := b.String()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	want := []string{
		"usage",
		"20Mi │                 ▄▄▄█",
		"16Mi │─────────────▄▄▄█████ limit",
		"     │         ▄▄▄█████████",
		"     │·····▄▄▄█████████████ request",
		"     │ ▄▄▄█████████████████",
		"   0 └─────────────────────",
		"                          K",
		"      0s              10.0s",
	}
	if len(lines) != len(want) {
		t.Fatalf("got:\n%s", out)
	}
	for i := range want {
		if strings.TrimRight(lines[i], " ") != strings.TrimRight(want[i], " ") {
			t.Errorf("line %d:\n got %q\nwant %q", i, lines[i], want[i])
		}
	}
}
