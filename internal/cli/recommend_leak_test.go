package cli

import (
	"regexp"
	"strings"
	"testing"
)

// The leak check reads 7 days at most, at 5-minute steps or finer: a
// coarse --step the sizing takes would hide the sawtooth, and one over
// half of 7 days would be refused.
func TestLeakFlags(t *testing.T) {
	for _, c := range []struct{ history, step, wantHistory, wantStep string }{
		{"30d", "5d", "1w", "auto"},
		{"28d", "auto", "1w", "auto"},
		{"3d", "1m", "3d", "1m"},
		{"15m", "20s", "15m", "20s"},
		{"14d", "6h", "1w", "auto"},
	} {
		p := newPromFlags()
		p.History, p.Step = c.history, c.step
		q := leakFlags(p)
		if q.History != c.wantHistory || q.Step != c.wantStep {
			t.Errorf("--history %s --step %s: the leak check reads %s at %s, want %s at %s", c.history, c.step, q.History, q.Step, c.wantHistory, c.wantStep)
		}
		if p.History != c.history || p.Step != c.step {
			t.Errorf("leakFlags changed the flags it was given: %s %s", p.History, p.Step)
		}
	}
	r := run("recommend", "--snapshot", "../../examples/snapshot", "--history", "30d", "--step", "5d")
	if r.code != 0 {
		t.Errorf("--history 30d --step 5d: exit %d: %s", r.code, r.stderr)
	}
}

// --leak-check=false skips the second read: cart, which leaks, gets no
// warning, and the sizing is the same.
func TestLeakCheckOff(t *testing.T) {
	on := run("recommend", "--snapshot", "../../examples/snapshot", "-o", "json")
	off := run("recommend", "--snapshot", "../../examples/snapshot", "-o", "json", "--leak-check=false")
	if on.code != 0 || off.code != 0 {
		t.Fatalf("exit %d and %d: %s %s", on.code, off.code, on.stderr, off.stderr)
	}
	if !strings.Contains(on.stdout, "the working set grows 18.0Mi/h") || strings.Contains(off.stdout, "the working set grows") {
		t.Errorf("want cart's leak warning with the check only:\n%s\n---\n%s", on.stdout, off.stdout)
	}
	sizes := regexp.MustCompile(`"memory(Request|Limit)Bytes": \d+`)
	if a, b := sizes.FindAllString(on.stdout, -1), sizes.FindAllString(off.stdout, -1); len(a) == 0 || strings.Join(a, ",") != strings.Join(b, ",") {
		t.Errorf("the sizes differ: %v and %v", a, b)
	}
}
