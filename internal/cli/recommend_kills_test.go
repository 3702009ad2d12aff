package cli

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/oomdoctor/oomdoctor/internal/model"
	"github.com/oomdoctor/oomdoctor/internal/recommend"
	"github.com/oomdoctor/oomdoctor/internal/usage/prom"
)

func killedPod(name, limit string, at time.Time) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: name}}
	c := corev1.Container{Name: "app"}
	if limit != "" {
		c.Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(limit)}
	}
	p.Spec.Containers = []corev1.Container{c}
	p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", RestartCount: 1,
		State:                corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(at)}},
		LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "OOMKilled", ExitCode: 137, FinishedAt: metav1.NewTime(at)}}}}
	return p
}

func agentEvent(pod, scope string, at time.Time, limit int64) *corev1.Event {
	raw, _ := json.Marshal(model.KernelKill{At: at, Namespace: "shop", Pod: pod, Container: "app", Scope: scope, MainProcess: "true", LimitBytes: limit})
	return &corev1.Event{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: pod + ".1", Annotations: map[string]string{model.KillAnnotation: string(raw)}},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "shop", Name: pod}, Type: corev1.EventTypeWarning}
}

// The kills the cluster shows join those Prometheus had, once each; a
// kill the node agent saw at the pod's limit is not the container's
// demand, whichever source reported it.
func TestKnownKillsMerge(t *testing.T) {
	web := model.WorkloadRef{Namespace: "shop", Kind: "Deployment", Name: "web"}
	base := time.Unix(1_790_000_000, 0)
	step := 6 * time.Hour
	win := window{from: base.Add(-14 * 24 * time.Hour), to: base, step: step}
	k := knownKills{own: map[string][]knownKill{}, foreign: map[string][]knownKill{}}
	owners := map[string]model.WorkloadRef{}
	status := func(name, limit string, at time.Time) {
		p := killedPod(name, limit, at)
		owners["shop/"+name] = web
		k.fromStatus(p, web)
	}
	t1 := base.Add(-50 * time.Hour)  // web-1: status only
	t2 := base.Add(-30 * time.Hour)  // web-2: status and Prometheus (end of its step)
	t3 := base.Add(-20 * time.Hour)  // web-3: status and the agent at the pod's limit, and Prometheus
	t4 := base.Add(-10 * time.Hour)  // web-4: a child kill only the agent saw
	t5 := base.Add(-400 * time.Hour) // web-5: before the history
	status("web-1", "256Mi", t1)
	status("web-2", "256Mi", t2)
	status("web-3", "256Mi", t3)
	status("web-5", "256Mi", t5)
	status("web-6", "", base.Add(-5*time.Hour)) // no limit: the node's memory ran out
	owners["shop/web-4"] = web
	k.fromAgent(agentEvent("web-1", "container", t1.Add(2*time.Second), 256<<20), owners) // the same kill as web-1's status
	k.fromAgent(agentEvent("web-3", "pod", t3.Add(time.Second), 640<<20), owners)
	k.fromAgent(agentEvent("web-4", "container", t4, 256<<20), owners)
	k.fromAgent(agentEvent("gone", "container", t4, 256<<20), owners) // a pod no longer there

	stepEnd := func(t time.Time) int64 { return (t.Unix()/int64(step.Seconds()) + 1) * int64(step.Seconds()) }
	steps := []recommend.Kill{{T: stepEnd(t2), Limit: 256 << 20}, {T: stepEnd(t3), Limit: 256 << 20}, {T: stepEnd(t2), Limit: 256 << 20}}
	pods := []string{"web-2", "web-3", "web-7"} // web-7 killed in web-2's step: another kill

	kept, extra, reasons := k.merge(web, "app", steps, pods, win)
	if len(kept) != 2 || kept[0].T != stepEnd(t2) || kept[1].T != stepEnd(t2) {
		t.Errorf("kept %+v: want web-2's and web-7's (web-3's hit the pod's limit)", kept)
	}
	want := []recommend.Kill{{T: t1.Unix(), Limit: 256 << 20}, {T: t4.Unix(), Limit: 256 << 20}}
	if len(extra) != 2 || extra[0] != want[0] || extra[1] != want[1] {
		t.Errorf("extra %+v, want %+v", extra, want)
	}
	all := strings.Join(reasons, "\n")
	for _, w := range []string{"1 OOM kill from the pods' status", "1 OOM kill from the node agent's events", "2 OOM kills not taken as this container's demand: the node agent saw the pod's limit hit"} {
		if !strings.Contains(all, w) {
			t.Errorf("reasons lack %q:\n%s", w, all)
		}
	}
	// Per pod: web-1's kill is web-1's alone.
	_, extra, _ = k.merge(model.WorkloadRef{Namespace: "shop", Kind: "Pod", Name: "web-1"}, "app", nil, nil, win)
	if len(extra) != 1 || extra[0].T != t1.Unix() {
		t.Errorf("pod web-1: %+v", extra)
	}
	// Nothing known: Prometheus' kills pass as they are.
	kept, extra, reasons = k.merge(web, "sidecar", steps, pods, win)
	if len(kept) != 3 || len(extra) != 0 || len(reasons) != 0 {
		t.Errorf("another container: %v %v %v", kept, extra, reasons)
	}
}

// A limit no node can hold is capped at the largest node's allocatable
// memory, with a warning of its own, not one reason among many: the table
// shows it beside the limit's reason.
func TestRecommendWarnsAboveAllocatable(t *testing.T) {
	g := &prom.Group{Workload: model.WorkloadRef{Namespace: "shop", Kind: "Deployment", Name: "big"}, Container: "app", Pods: []string{"big-1"}}
	for i := int64(0); i < 4*24*12; i++ {
		g.WorkingSet = append(g.WorkingSet, prom.Point{T: 1_790_000_000 + i*300, V: 10 << 30})
	}
	st, _ := recommend.Lookup(recommend.Default)
	r, ok := recommendGroup(sizing{st: st}, recommend.Guardrails{Floor: 4 << 20, MaxAllocatable: 8 << 30}, g)
	if !ok || len(r.Warnings) != 1 || !strings.HasPrefix(r.Warnings[0], "capped the limit at 8192Mi, the largest node's allocatable memory 8192Mi (it needs 15360Mi): ") ||
		*r.MemoryLimitBytes != 8<<30 || *r.MemoryRequestBytes != 8<<30 {
		t.Fatalf("%+v", r)
	}
	r, _ = recommendGroup(sizing{st: st}, recommend.Guardrails{Floor: 4 << 20, MaxAllocatable: 64 << 30}, g)
	if len(r.Warnings) != 0 {
		t.Errorf("room on a node, yet %q", r.Warnings)
	}
}

// A container the cluster shows OOM-killed that the history lacks (killed
// before any sample) is sized from its kills alone, its current limit the
// spec's; one the history has, or killed outside it, is not repeated.
func TestOrphanKills(t *testing.T) {
	base := time.Unix(1_790_000_000, 0)
	boot := model.WorkloadRef{Namespace: "shop", Kind: "Deployment", Name: "boot"}
	web := model.WorkloadRef{Namespace: "shop", Kind: "Deployment", Name: "web"}
	sp := &specs{byKey: map[string]*corev1.Container{}, owners: map[string]model.WorkloadRef{},
		kills: knownKills{own: map[string][]knownKill{}, foreign: map[string][]knownKill{}},
		win:   window{from: base.Add(-14 * 24 * time.Hour), to: base, step: 5 * time.Minute}}
	add := func(w model.WorkloadRef, pod string, at time.Time) {
		p := killedPod(pod, "64Mi", at)
		c := &p.Spec.Containers[0]
		c.Resources.Requests = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("32Mi")}
		sp.byKey[specKey(w, "app")] = c
		sp.byKey[specKey(model.WorkloadRef{Namespace: "shop", Kind: "Pod", Name: pod}, "app")] = c
		sp.owners["shop/"+pod] = w
		sp.kills.fromStatus(p, w)
	}
	add(boot, "boot-1", base.Add(-time.Hour))
	add(boot, "boot-2", base.Add(-2*time.Hour))
	add(web, "web-1", base.Add(-time.Hour))
	add(model.WorkloadRef{Namespace: "shop", Kind: "Deployment", Name: "old"}, "old-1", base.Add(-30*24*time.Hour))
	seen := map[string]bool{specKey(web, "app"): true}

	gs := sp.orphans(seen, false, nil)
	if len(gs) != 1 || gs[0].Workload != boot || gs[0].Container != "app" || len(gs[0].Pods) != 2 || len(gs[0].WorkingSet) != 0 {
		t.Fatalf("orphans %+v: want boot's app alone, its 2 pods, no history", gs)
	}
	st, _ := recommend.Lookup(recommend.Default)
	sz := sizing{st: st, minChange: 0.1, maxRatio: 4, sp: sp}
	r, ok := recommendGroup(sz, sz.guard(0), gs[0])
	if !ok || r.OOMKills != 2 || *r.MemoryRequestBytes != 64<<20 || *r.MemoryLimitBytes != 128<<20 ||
		r.CurrentLimitBytes == nil || *r.CurrentLimitBytes != 64<<20 || r.CurrentRequestBytes == nil || *r.CurrentRequestBytes != 32<<20 {
		t.Fatalf("boot: %+v; want 2 kills, request 64Mi (the limit it was killed at) and limit 128Mi, from the spec's 32Mi and 64Mi", r)
	}
	all := strings.Join(r.Reasons, "\n")
	for _, w := range []string{"no usage in the history, only OOM kills", "2 OOM kills from the pods' status that the history did not show"} {
		if !strings.Contains(all, w) {
			t.Errorf("reasons lack %q:\n%s", w, all)
		}
	}
	// Per pod: each pod on its own; one workload asked for: only its own.
	if gs := sp.orphans(seen, true, nil); len(gs) != 3 || gs[0].Workload.Name != "boot-1" || gs[2].Workload.Name != "web-1" {
		t.Errorf("per pod: %+v, want boot-1, boot-2 and web-1 (the history has web's workload, not its pods)", gs)
	}
	if gs := sp.orphans(seen, false, &web); len(gs) != 0 {
		t.Errorf("asked for web, which the history has: %+v", gs)
	}
}

// A kill whose limit the history lacks (cAdvisor's OOM events or the node
// agent's counter, without kube-state-metrics) is taken at the limit in
// the killed pod's spec, else the current limit; else at the usage before
// it, with a warning: a child process killed between samples leaves a
// usage far below the limit it hit.
func TestUnknownKillLimit(t *testing.T) {
	base := int64(1_790_000_000)
	w := model.WorkloadRef{Namespace: "shop", Kind: "Pod", Name: "child"}
	group := func() *prom.Group {
		g := &prom.Group{Workload: w, Container: "app", Pods: []string{"child"}, Kills: []prom.Kill{{T: base, Count: 1, Pod: "child"}}}
		for i := int64(0); i < 12; i++ {
			g.WorkingSet = append(g.WorkingSet, prom.Point{T: base - 3600 + i*300, V: 2 << 20})
		}
		return g
	}
	st, _ := recommend.Lookup(recommend.Default)
	sp := &specs{byKey: map[string]*corev1.Container{}, kills: knownKills{own: map[string][]knownKill{}, foreign: map[string][]knownKill{}},
		win: window{from: time.Unix(base-86400, 0), to: time.Unix(base+60, 0), step: 5 * time.Minute}}
	p := killedPod("child", "64Mi", time.Unix(base, 0))
	p.Status.ContainerStatuses = nil // PID 1 lives on: the status shows nothing
	sp.byKey[specKey(w, "app")] = &p.Spec.Containers[0]

	for _, tc := range []struct {
		name    string
		sp      *specs
		current float64
		limit   int64
		reason  string
		warn    bool
	}{
		{"the pod's spec", sp, 0, 128 << 20, "taken as the limit in the pod's spec", false},
		{"the current limit", nil, 96 << 20, 192 << 20, "taken as the current limit", false},
		{"nothing", nil, 0, 4 << 20, "taken as the highest usage in the hour before it", true},
	} {
		g := group()
		g.Limit = tc.current
		sz := sizing{st: st, minChange: 0.1, maxRatio: 4, sp: tc.sp}
		r, ok := recommendGroup(sz, sz.guard(0), g)
		if !ok || r.OOMKills != 1 || *r.MemoryLimitBytes != tc.limit || !strings.Contains(strings.Join(r.Reasons, "\n"), tc.reason) || (len(r.Warnings) == 1) != tc.warn {
			t.Errorf("%s: limit %d MiB, reasons %q, warnings %q; want %d MiB, %q, a warning: %v", tc.name, *r.MemoryLimitBytes>>20, r.Reasons, r.Warnings, tc.limit>>20, tc.reason, tc.warn)
		}
	}
	// The killed pod is gone (a replica replaced since): its workload's
	// spec gives the current limit.
	dep := model.WorkloadRef{Namespace: "shop", Kind: "Deployment", Name: "web"}
	sp.byKey[specKey(dep, "app")] = &p.Spec.Containers[0]
	g := group()
	g.Workload, g.Kills[0].Pod = dep, "web-gone"
	sz := sizing{st: st, minChange: 0.1, maxRatio: 4, sp: sp}
	if r, _ := recommendGroup(sz, sz.guard(0), g); *r.MemoryLimitBytes != 128<<20 || !strings.Contains(strings.Join(r.Reasons, "\n"), "taken as the current limit") {
		t.Errorf("a gone pod: limit %d MiB, reasons %q; want 128Mi from the workload's spec", *r.MemoryLimitBytes>>20, r.Reasons)
	}
}
