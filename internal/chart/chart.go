// Package chart draws memory over time in a terminal: usage as columns of
// block characters, with the limit and request as lines and markers (kills)
// under the time axis. It is text, so it goes to logs, CI output and
// golden files alike.
package chart

import (
	"fmt"
	"io"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
)

// Point is one sample: seconds from the start and a value in bytes.
type Point struct {
	At    float64
	Value int64
}

// Options say what to draw beside the values.
type Options struct {
	Width, Height int
	// Limit and Request are drawn as lines (0: none).
	Limit, Request int64
	// Markers are times (seconds from the start) marked under the axis,
	// with their letter (K for a kill).
	Markers map[float64]rune
	Title   string
	// StartLabel and EndLabel name the ends of the time axis (default:
	// 0s and the seconds at the end).
	StartLabel, EndLabel string
}

// Render draws the points.
func Render(w io.Writer, pts []Point, o Options) {
	if o.Width <= 0 {
		o.Width = 60
	}
	if o.Height <= 0 {
		o.Height = 10
	}
	if len(pts) == 0 {
		fmt.Fprintln(w, "(no samples)")
		return
	}
	end := pts[len(pts)-1].At
	if end <= 0 {
		end = 1
	}
	// The highest value of each column.
	cols := make([]int64, o.Width)
	seen := make([]bool, o.Width)
	var top int64
	for _, p := range pts {
		c := int(p.At / end * float64(o.Width-1))
		if p.Value > cols[c] {
			cols[c] = p.Value
		}
		seen[c] = true
		top = max(top, p.Value)
	}
	// Carry values into empty columns so gaps do not look like drops.
	for c := 1; c < o.Width; c++ {
		if !seen[c] {
			cols[c] = cols[c-1]
		}
	}
	top = max(top, o.Limit, o.Request)
	if top == 0 {
		top = 1
	}
	rowOf := func(v int64) int { return int(float64(v) / float64(top) * float64(o.Height)) }
	limitRow, requestRow := -1, -1
	if o.Limit > 0 {
		limitRow = min(rowOf(o.Limit), o.Height) - 1
	}
	if o.Request > 0 {
		requestRow = min(rowOf(o.Request), o.Height) - 1
	}
	if o.Title != "" {
		fmt.Fprintln(w, o.Title)
	}
	labelWidth := len(label(top))
	for r := o.Height - 1; r >= 0; r-- {
		var b strings.Builder
		for c := 0; c < o.Width; c++ {
			h := float64(cols[c]) / float64(top) * float64(o.Height)
			switch {
			case h >= float64(r+1):
				b.WriteRune('█')
			case h > float64(r):
				b.WriteRune('▄')
			case r == limitRow:
				b.WriteRune('─')
			case r == requestRow:
				b.WriteRune('·')
			default:
				b.WriteRune(' ')
			}
		}
		lab := ""
		switch r {
		case o.Height - 1:
			lab = label(top)
		case limitRow:
			lab = label(o.Limit)
		}
		suffix := ""
		switch r {
		case limitRow:
			suffix = " limit"
		case requestRow:
			suffix = " request"
		}
		fmt.Fprintf(w, "%*s │%s%s\n", labelWidth, lab, b.String(), suffix)
	}
	axis := strings.Repeat("─", o.Width)
	fmt.Fprintf(w, "%*s └%s\n", labelWidth, "0", axis)
	if len(o.Markers) > 0 {
		marks := []rune(strings.Repeat(" ", o.Width))
		for at, m := range o.Markers {
			c := int(at / end * float64(o.Width-1))
			if c >= 0 && c < o.Width {
				marks[c] = m
			}
		}
		fmt.Fprintf(w, "%*s  %s\n", labelWidth, "", string(marks))
	}
	if o.StartLabel != "" || o.EndLabel != "" {
		fmt.Fprintf(w, "%*s  %s%*s\n", labelWidth, "", o.StartLabel, max(1, o.Width-len([]rune(o.StartLabel))), o.EndLabel)
		return
	}
	fmt.Fprintf(w, "%*s  0s%*s\n", labelWidth, "", o.Width-2, fmt.Sprintf("%.1fs", end))
}

func label(b int64) string {
	return resource.NewQuantity(b, resource.BinarySI).String()
}
