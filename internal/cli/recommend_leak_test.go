package cli

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/oomdoctor/oomdoctor/internal/diagnose"
	"github.com/oomdoctor/oomdoctor/internal/model"
	"github.com/oomdoctor/oomdoctor/internal/scan"
)

// The leak check reads 7 days at most (the page-cache check 3), at
// 5-minute steps or finer: a coarse --step the sizing takes would hide
// the sawtooth, and one over half of 7 days would be refused.
func TestLeakFlags(t *testing.T) {
	for _, c := range []struct{ history, step, wantHistory, wantStep, wantCache string }{
		{"30d", "5d", "1w", "auto", "3d"},
		{"28d", "auto", "1w", "auto", "3d"},
		{"3d", "1m", "3d", "1m", "3d"},
		{"15m", "20s", "15m", "20s", "15m"},
		{"14d", "6h", "1w", "auto", "3d"},
	} {
		p := newPromFlags(nil, nil)
		p.History, p.Step = c.history, c.step
		q := leakFlags(p)
		if q.History != c.wantHistory || q.Step != c.wantStep {
			t.Errorf("--history %s --step %s: the leak check reads %s at %s, want %s at %s", c.history, c.step, q.History, q.Step, c.wantHistory, c.wantStep)
		}
		if p.History != c.history || p.Step != c.step {
			t.Errorf("leakFlags changed the flags it was given: %s %s", p.History, p.Step)
		}
		if q := cacheFlags(p); q.History != c.wantCache || q.Step != c.wantStep {
			t.Errorf("--history %s --step %s: the page-cache check reads %s at %s, want %s at %s", c.history, c.step, q.History, q.Step, c.wantCache, c.wantStep)
		}
	}
	// peak-2x keeps every point (tail refuses a step over its 6 hours).
	r := run("recommend", "--snapshot", "../../examples/snapshot", "--history", "30d", "--step", "5d", "--strategy", "peak-2x")
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
	cache := "page cache, not the processes' memory, filled the limit before 24 of 24 kills (page cache 717Mi, RSS 307Mi, medians; oomdoctor explain redis-0 -n shop --snapshot ../../examples/snapshot)"
	if strings.Count(on.stdout, cache) != 2 || strings.Count(on.stdout, "page cache, not") != 2 || strings.Contains(off.stdout, "page cache, not") {
		t.Errorf("want redis' page-cache warning (in its warnings and reasons) with the check only, and no other:\n%s\n---\n%s", on.stdout, off.stdout)
	}
	sizes := regexp.MustCompile(`"memory(Request|Limit)Bytes": \d+`)
	if a, b := sizes.FindAllString(on.stdout, -1), sizes.FindAllString(off.stdout, -1); len(a) == 0 || strings.Join(a, ",") != strings.Join(b, ",") {
		t.Errorf("the sizes differ: %v and %v", a, b)
	}
}

// The page-cache warning takes the kills of the pods checked from the
// sizing, which sees each within its step (an hour here), placed at the
// second look's restarts within that step, and warns when page cache held
// half or more of the charge, RSS under 70% of the limit, before half or
// more of the kills it has RSS and page cache for.
func TestCacheWarning(t *testing.T) {
	const mi = 1 << 20
	limit := int64(512 * mi)
	r := &model.Recommendation{Workload: model.WorkloadRef{Namespace: "shop", Kind: "StatefulSet", Name: "db"}, Container: "db", CurrentLimitBytes: &limit}
	// hist has a kill every 2 hours, restarting at once; in the half hour
	// before the kills in cacheAt, 400Mi of page cache and 100Mi RSS, else
	// 100Mi of cache and 400Mi RSS; in the hour after every kill 300Mi of
	// cache and 50Mi RSS. The sizing saw each kill half an hour late, at
	// the end of its hour: read there, every kill would look filled by
	// cache, and "under half" and "none" would warn.
	hist := func(pod string, kills int, cacheAt ...int) (checkedPod, *diagnose.History) {
		h := &diagnose.History{Step: time.Minute}
		p := checkedPod{Target: scan.Target{Namespace: "shop", Pod: pod, Container: "db"}, step: time.Hour}
		for i := 1; i <= kills; i++ {
			kill := int64(i*7200 - 1800)
			cache, rss := 100.0*mi, 400.0*mi
			if slices.Contains(cacheAt, i) {
				cache, rss = 400*mi, 100*mi
			}
			for s := kill - 1800; s <= kill+3600; s += 60 {
				c, r := cache, rss
				if s > kill {
					c, r = 300*mi, 50*mi
				}
				h.Cache = append(h.Cache, model.Point{T: s, V: c})
				h.RSS = append(h.RSS, model.Point{T: s, V: r})
			}
			h.Restarts = append(h.Restarts, kill)
			p.kills = append(p.kills, diagnose.Kill{T: kill + 1800, Count: 1, Limit: float64(limit)})
		}
		return p, h
	}
	for _, c := range []struct {
		name string
		pods [][]int // the kills with cache, per pod of 4 kills
		want string
	}{
		{"every kill", [][]int{{1, 2, 3, 4}}, "filled the limit before 4 of 4 kills (page cache 400Mi, RSS 100Mi, medians; oomdoctor explain db-0 -n shop --snapshot S)"},
		{"half of them, over two pods", [][]int{{1, 2, 3}, {4}}, "filled the limit before 4 of 8 kills (page cache 400Mi, RSS 100Mi, medians; oomdoctor explain db-0 -n shop --snapshot S)"},
		{"under half", [][]int{{1}, {2, 3}}, ""},
		{"none", [][]int{{}}, ""},
	} {
		var ps []checkedPod
		hs := map[scan.Target]*diagnose.History{}
		for i, at := range c.pods {
			p, h := hist("db-"+string(rune('0'+i)), 4, at...)
			ps = append(ps, p)
			hs[p.Target] = h
		}
		got := cacheWarning(r, ps, hs, "--snapshot S")
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
	// killsAtRestarts gives the history kills of its own, at its restarts.
	killsAtRestarts := func(h *diagnose.History) {
		for _, r := range h.Restarts {
			h.Kills = append(h.Kills, diagnose.Kill{T: r, Count: 1})
		}
	}
	// Where the kills come from: two kills, both with cache.
	for _, c := range []struct {
		name   string
		change func(p *checkedPod, h *diagnose.History)
		warns  bool
	}{
		{"the restarts place the sizing's kills", func(*checkedPod, *diagnose.History) {}, true},
		{"no restarts: the history's own kills within the step place them", func(_ *checkedPod, h *diagnose.History) {
			killsAtRestarts(h)
			h.Restarts = nil
		}, true},
		{"neither: the kills' moments are unknown, and none is counted", func(_ *checkedPod, h *diagnose.History) { h.Restarts = nil }, false},
		{"no kills from the sizing: the history's own", func(p *checkedPod, h *diagnose.History) {
			killsAtRestarts(h)
			p.kills = nil
		}, true},
		{"no RSS nor page cache (a source without them)", func(_ *checkedPod, h *diagnose.History) { h.Cache, h.RSS = nil, nil }, false},
	} {
		p, h := hist("db-0", 2, 1, 2)
		c.change(&p, h)
		got := cacheWarning(r, []checkedPod{p}, map[scan.Target]*diagnose.History{p.Target: h}, "--snapshot S")
		if c.warns != strings.Contains(got, "before 2 of 2 kills") || !c.warns && got != "" {
			t.Errorf("%s: %q", c.name, got)
		}
	}
}
