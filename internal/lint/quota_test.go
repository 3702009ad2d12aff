package lint

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oomdoctor/oomdoctor/internal/model"
)

// The rule's figures, hand-checked: requests of 3 x 1Gi and 2 x 768Mi
// (a limit alone is the request too) against 4Gi; a surge pod of 1Gi
// beside 4 of them under 4.5Gi, a warning; and the LimitRange's default
// limit counted for a container that sets none.
func TestOverQuotaFigures(t *testing.T) {
	dir := filepath.Join("testdata", "rules", ruleOverQuota)
	cases := []struct {
		file string
		sev  model.Severity
		want string
	}{
		{"fail/over.yaml", model.SeverityError, "allows requests.memory up to 4Gi, and the workloads of these files in its namespace alone need 4608Mi at their replicas (Deployment shop/api 3 x 1Gi, StatefulSet shop/db 2 x 768Mi)"},
		{"fail/no-room-to-surge.yaml", model.SeverityWarning, "allows requests.memory up to 4608Mi; the workloads of these files in its namespace need 4Gi, which leaves 512Mi, and a rolling update of Deployment shop/api adds 1 pod of 1Gi first (maxSurge 25%, the default)"},
		{"fail/must-specify.yaml", model.SeverityError, `container "worker" of Deployment worker has no memory limit, and ResourceQuota compute (`},
	}
	for _, c := range cases {
		fs := ofRule(lintFile(t, filepath.Join(dir, c.file)), ruleOverQuota)
		if len(fs) != 1 || fs[0].Severity != c.sev || !strings.Contains(fs[0].Message, c.want) {
			t.Errorf("%s: findings %+v, want one %s with %q", c.file, fs, c.sev, c.want)
		}
	}
	// Without the LimitRange, the worker of fits.yaml has no limit, which
	// the NotTerminating quota counts.
	data, err := os.ReadFile(filepath.Join(dir, "pass", "fits.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var docs []string
	for _, d := range strings.Split(string(data), "\n---\n") {
		if !strings.Contains(d, "kind: LimitRange") {
			docs = append(docs, d)
		}
	}
	bare := filepath.Join(t.TempDir(), "no-limitrange.yaml")
	if err := os.WriteFile(bare, []byte(strings.Join(docs, "\n---\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	fs := ofRule(lintFile(t, bare), ruleOverQuota)
	if len(fs) != 1 || !strings.Contains(fs[0].Message, `container "worker" of Deployment shop/worker has no memory limit, and ResourceQuota shop/compute (`) {
		t.Errorf("without the LimitRange's default: %+v", fs)
	}
}

// The sum of regular containers, the quick path, is what the API's own
// rules give for such a pod; an init container takes those rules.
func TestQuotaEffective(t *testing.T) {
	const mi = 1 << 20
	q := quotaWorkload{containers: []quotaContainer{{name: "a", req: 100 * mi, lim: 200 * mi}, {name: "b", lim: 300 * mi}, {name: "c", req: 50 * mi, lim: 50 * mi, cpu: true}}}
	p, _, _ := q.pod(limitDefaults{})
	if got, want := q.effective(), effective(p); got != want || want != [2]float64{450 * mi, 550 * mi} {
		t.Errorf("regular containers: quick %v, component-helpers %v, want [450Mi 550Mi]", got, want)
	}
	q.containers = append(q.containers, quotaContainer{name: "migrate", init: true, req: 600 * mi, lim: 600 * mi})
	if got := q.effective(); got != [2]float64{600 * mi, 600 * mi} {
		t.Errorf("with a larger init container: %v, want [600Mi 600Mi]", got)
	}
}

// A DaemonSet has a pod per node: one by default (and the message says
// so), rules.memory-over-quota.nodes in the config otherwise.
func TestOverQuotaDaemonSetNodes(t *testing.T) {
	file := filepath.Join("testdata", "rules", ruleOverQuota, "pass", "daemonset.yaml")
	run := func(nodes int, lowerTo string) []model.LintFinding {
		t.Helper()
		path := file
		if lowerTo != "" {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			path = filepath.Join(t.TempDir(), "lower.yaml")
			if err := os.WriteFile(path, []byte(strings.Replace(string(data), "requests.memory: 2Gi", "requests.memory: "+lowerTo, 1)), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		cfg := DefaultConfig()
		if nodes != 0 {
			cfg.Rules[ruleOverQuota] = RuleConfig{Nodes: nodes}
		}
		rep, err := New(cfg).Run([]string{path}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return ofRule(rep, ruleOverQuota)
	}
	if fs := run(0, ""); len(fs) != 0 {
		t.Errorf("one pod of the DaemonSet: %+v, want none", fs)
	}
	fs := run(5, "")
	if len(fs) != 1 || !strings.Contains(fs[0].Message, "need 2304Mi at their replicas (DaemonSet ops/log-agent 5 x 256Mi, Deployment ops/api 1 x 1Gi):") {
		t.Errorf("five nodes: %+v, want 1Gi + 5 x 256Mi = 2304Mi over 2Gi", fs)
	}
	fs = run(0, "1Gi")
	if len(fs) != 1 || !strings.Contains(fs[0].Message, "(Deployment ops/api 1 x 1Gi, DaemonSet ops/log-agent 1 x 256Mi; a DaemonSet counted as one pod, though a DaemonSet runs one per node: oomdoctor lint takes how many nodes as rules.memory-over-quota.nodes in its config)") {
		t.Errorf("one pod, over 1Gi: %+v, want the note on the DaemonSet", fs)
	}
	if fs := run(3, "1Gi"); len(fs) != 1 || strings.Contains(fs[0].Message, "counted as one pod") {
		t.Errorf("three nodes given, over 1Gi: %+v, want no note", fs)
	}
}
