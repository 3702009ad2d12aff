package lint

import (
	"fmt"
	"regexp"

	"github.com/oomdoctor/oomdoctor/internal/manifest"
)

const ruleMemoryUnitMistake = "memory-unit-mistake"

func init() {
	register(func(*Config) Rule {
		return &memoryUnitMistake{rule{ruleMemoryUnitMistake, "error", "A memory quantity is in millibytes or bytes where mebibytes were meant"}}
	})
}

type memoryUnitMistake struct{ rule }

var (
	millibytesRe = regexp.MustCompile(`^(\d+(?:\.\d+)?)m$`)
	plainBytesRe = regexp.MustCompile(`^(\d+)$`)
)

// suspicious is a cheap first look: only quantities ending in m or a digit
// can be mistakes.
func suspicious(text string) bool {
	if text == "" {
		return false
	}
	last := text[len(text)-1]
	return last == 'm' || last >= '0' && last <= '9'
}

// CheckWorkload reports memory quantities written with "m" (milli: 512m is
// 0.512 bytes) or as a bare number, for under 1 MiB (512 is 512 bytes): no
// container runs in that, and the kubelet or the runtime fails to start it
// or it is killed at once. Millibytes for a real size (512000000000m, as
// a VPA may write them) are odd but meant.
func (r *memoryUnitMistake) CheckWorkload(ctx *Context, w *Workload) {
	check := func(q *manifest.Quantity, container, what string) {
		if q == nil || !suspicious(q.Text) {
			return
		}
		var meant string
		switch {
		case millibytesRe.MatchString(q.Text) && q.Bytes() < 1<<20:
			meant = millibytesRe.FindStringSubmatch(q.Text)[1] + "Mi"
			ctx.Report(Finding{Object: w.Object, Path: q.Path, Container: container,
				Message: fmt.Sprintf("%s %q is in millibytes (m means milli: %s is %s bytes), not mebibytes: write %s.", what, q.Text, q.Text, millis(q.Text), meant),
				Fix:     fix(fmt.Sprintf("write %s", meant), set(q.Path, meant))})
		case plainBytesRe.MatchString(q.Text) && q.Bytes() > 0 && q.Bytes() < 1<<20:
			meant = q.Text + "Mi"
			ctx.Report(Finding{Object: w.Object, Path: q.Path, Container: container,
				Message: fmt.Sprintf("%s %q is %s bytes, too little for any process: write %s if mebibytes were meant.", what, q.Text, q.Text, meant),
				Fix:     fix(fmt.Sprintf("write %s", meant), set(q.Path, meant))})
		}
	}
	memoryQuantities(w, check)
}

// millis writes "512m" as "0.512".
func millis(text string) string {
	n := millibytesRe.FindStringSubmatch(text)[1]
	var f float64
	fmt.Sscanf(n, "%g", &f)
	return fmt.Sprintf("%g", f/1000)
}
