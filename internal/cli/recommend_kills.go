package cli

import (
	"fmt"
	"slices"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/oomdoctor/oomdoctor/internal/detect"
	"github.com/oomdoctor/oomdoctor/internal/model"
	"github.com/oomdoctor/oomdoctor/internal/recommend"
	"github.com/oomdoctor/oomdoctor/internal/usage/prom"
	"github.com/oomdoctor/oomdoctor/internal/words"
)

// knownKill is an OOM kill the cluster itself shows: a container's status
// (its last termination) or the node agent's event. Prometheus may lack
// it: kube-state-metrics sees a kill only when a scrape catches the
// restart, the agent's counter only when Prometheus scrapes the agent.
type knownKill struct {
	t int64
	// w, pod and container are whose it was.
	w         model.WorkloadRef
	pod       string
	container string
	limit     float64 // the limit hit (0: unknown)
	from      string
	scope     string // the node agent's: whose limit was hit
}

// knownKills are kept by workload container and by pod container (the
// keys specKey makes), so both recommend modes find theirs. own are kills
// at the container's own limit: its demand was above it. foreign are the
// node agent's records of kills at the pod's, the node's or the machine's
// limit: the container may have used far less than its limit, so such a
// kill (and the same kill seen in the status or in Prometheus) is not
// evidence of its demand.
type knownKills struct {
	own, foreign map[string][]knownKill
}

// addKill files x under its workload container and its pod container.
func addKill(m map[string][]knownKill, x knownKill) {
	for _, key := range []string{specKey(x.w, x.container), specKey(model.WorkloadRef{Namespace: x.w.Namespace, Kind: "Pod", Name: x.pod}, x.container)} {
		m[key] = append(m[key], x)
	}
}

// fromStatus keeps the pod's OOM kills its containers' status shows (the
// last one of each: the status keeps no more).
func (k knownKills) fromStatus(p *corev1.Pod, w model.WorkloadRef) {
	for _, f := range detect.ContainerFindings(p) {
		if f.Type != model.OOMKilled || f.LastKill == nil {
			continue
		}
		x := knownKill{t: f.LastKill.Unix(), w: w, pod: p.Name, container: f.Container, from: "status"}
		if f.MemoryLimitBytes != nil {
			x.limit = float64(*f.MemoryLimitBytes)
		}
		addKill(k.own, x)
	}
}

// fromAgent keeps the kill the node agent recorded in an event, if the
// event is one and its pod is known.
func (k knownKills) fromAgent(e *corev1.Event, owners map[string]model.WorkloadRef) {
	a, ok := detect.AgentKill(e)
	if !ok || a.Container == "" || a.At.IsZero() {
		return
	}
	w, ok := owners[a.Namespace+"/"+a.Pod]
	if !ok {
		return
	}
	x := knownKill{t: a.At.Unix(), w: w, pod: a.Pod, container: a.Container, limit: float64(a.LimitBytes), from: "node agent", scope: a.Scope}
	if a.Scope == "container" {
		addKill(k.own, x)
	} else {
		addKill(k.foreign, x)
	}
}

// killSlack is how far apart two records of one kill may be: the status
// and the agent stamp it within seconds of each other; kube-state-metrics
// sees the restart after the crash-loop back-off (up to 5 minutes) and a
// scrape.
const killSlack = 10 * 60

// merge takes a group's kills from Prometheus (or series files: each at
// the end of the step it was seen in, with its pod) and returns those the
// node agent does not say hit another limit than the container's, and
// the kills the cluster shows within the history (exact times) that
// Prometheus did not have. reasons say what it did.
func (k knownKills) merge(w model.WorkloadRef, container string, steps []recommend.Kill, pods []string, win window) (kept, extra []recommend.Kill, reasons []string) {
	key := specKey(w, container)
	st := int64(win.step.Seconds())
	// inStep: a record at t is the kill Prometheus reported at the end of
	// the step ending at end.
	inStep := func(t, end int64) bool { return t > end-st-killSlack && t <= end+killSlack }
	foreign := func(pod string, t int64, stepEnd bool) *knownKill {
		for i, f := range k.foreign[key] {
			if f.pod == pod && (stepEnd && inStep(f.t, t) || !stepEnd && abs64(f.t-t) <= killSlack) {
				return &k.foreign[key][i]
			}
		}
		return nil
	}
	var why *knownKill
	dropped := 0
	for i, x := range steps {
		if f := foreign(pods[i], x.T, true); f != nil {
			dropped++
			why = f
			continue
		}
		kept = append(kept, x)
	}
	own := append([]knownKill(nil), k.own[key]...)
	sort.SliceStable(own, func(i, j int) bool { return own[i].t < own[j].t })
	added := map[string]int{}
	var extraPods []string
	for _, x := range own {
		if x.t <= win.from.Unix() || x.t > win.to.Unix() || x.limit <= 0 {
			continue // outside the history, or no limit of its own (the node's memory ran out, not its demand)
		}
		if f := foreign(x.pod, x.t, false); f != nil {
			if x.from == "status" {
				dropped++
				why = f
			}
			continue
		}
		dup := false
		for i, y := range steps {
			dup = dup || pods[i] == x.pod && inStep(x.t, y.T)
		}
		for i, y := range extra {
			dup = dup || extraPods[i] == x.pod && abs64(y.T-x.t) <= killSlack
		}
		if dup {
			continue
		}
		extra = append(extra, recommend.Kill{T: x.t, Limit: x.limit})
		extraPods = append(extraPods, x.pod)
		added[x.from]++
	}
	if n := added["status"]; n > 0 {
		reasons = append(reasons, words.Count(n, "OOM kill")+" from the pods' status that the history did not show")
	}
	if n := added["node agent"]; n > 0 {
		reasons = append(reasons, words.Count(n, "OOM kill")+" from the node agent's events that the history did not show")
	}
	if dropped > 0 {
		reasons = append(reasons, fmt.Sprintf("%s not taken as this container's demand: the node agent saw the %s's limit hit (%s), not the container's", words.Count(dropped, "OOM kill"), why.scope, time.Unix(why.t, 0).UTC().Format(time.RFC3339)))
	}
	return kept, extra, reasons
}

// orphans are groups, with no history, for the containers the cluster
// shows OOM-killed at their own limit within the history that the history
// does not have (seen holds the specKeys it has): killed within seconds of
// every start, before cAdvisor (every 10-15 s) ever sampled them, and
// without kube-state-metrics' series. recommendGroup sizes them from those
// kills alone (merge adds them); the current request and limit are the
// spec's (specs.current).
func (s *specs) orphans(seen map[string]bool, perPod bool, want *model.WorkloadRef) []*prom.Group {
	byKey := map[string]*prom.Group{}
	var keys []string
	for key, xs := range s.kills.own {
		for _, x := range xs {
			w := x.w
			if perPod {
				w = model.WorkloadRef{Namespace: w.Namespace, Kind: "Pod", Name: x.pod}
			}
			// Each kill is filed under its workload's key and its pod's:
			// take it under the one this mode groups by.
			if specKey(w, x.container) != key || seen[key] || x.limit <= 0 || x.t <= s.win.from.Unix() || x.t > s.win.to.Unix() {
				continue
			}
			if want != nil && (w.Kind != want.Kind || w.Name != want.Name) {
				continue
			}
			g := byKey[key]
			if g == nil {
				g = &prom.Group{Workload: w, Container: x.container}
				byKey[key] = g
				keys = append(keys, key)
			}
			if !slices.Contains(g.Pods, x.pod) {
				g.Pods = append(g.Pods, x.pod)
			}
		}
	}
	sort.Strings(keys)
	out := make([]*prom.Group, len(keys))
	for i, k := range keys {
		out[i] = byKey[k]
	}
	return out
}

// window is the history recommend reads.
type window struct {
	from, to time.Time
	step     time.Duration
}

func abs64(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}
