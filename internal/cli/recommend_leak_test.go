package cli

import "testing"

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
