// Package diagnose says why a container was killed. Each cause has its own
// detector (one file each, a stable ID from model.CauseIDs) that looks at
// what is known about the kill: the finding scan made, the pod's spec, the
// node's state and events, the usage history (Prometheus or files) and
// the node agent's kernel OOM records. A detector that fires gives a
// model.Cause with its confidence and why, the evidence as numbers with
// units and times, and the fix; one that lacks the data to decide says
// what data would (model.Undecided). Detectors never know where the data
// came from.
package diagnose

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/oomdoctor/oomdoctor/internal/model"
	"github.com/oomdoctor/oomdoctor/internal/recommend"
)

// Input is what is known about one finding.
type Input struct {
	Finding *model.Finding
	// Pod is the pod's current object (nil when it is gone).
	Pod *corev1.Pod
	// ConfigMaps of the pod's namespace by name, for env from ConfigMaps
	// (nil or partial when they could not be read).
	ConfigMaps map[string]*corev1.ConfigMap
	// Node is the state of the pod's node (nil when unknown).
	Node *Node
	// Events about the pod and its node, oldest first.
	Events []corev1.Event
	// History of the container's usage (nil when there is none).
	History *History
	// KernelKills are the node agent's records of this pod's kills.
	KernelKills []model.KernelKill
	// Now is the data's time.
	Now time.Time
	// MemorySetBy says who sets the pods' memory when it is not the
	// workload's spec: "VerticalPodAutoscaler shop/cart (updateMode Auto)
	// sets its memory requests and limits" ("" otherwise).
	MemorySetBy string
	// Bounds are what the namespace's LimitRanges allow a container's
	// memory: a fix that sizes the limit stays within them.
	Bounds recommend.Bounds
	// Workload owns the pod (Kind "" when unknown): the fixes name it.
	Workload model.WorkloadRef
	// KubeFlags go into the fix commands: the kubeconfig flags that
	// reach the pod's cluster (" --context prod").
	KubeFlags string

	// the history split into lifetimes, and those that leak: worked out
	// once, read by several detectors
	lives, leaks []lifetime
	split        bool
}

// lifetimes splits the history once (see lifetimes) and finds the leaking
// lifetimes (see leaking).
func (in *Input) lifetimes() (all, leaking []lifetime) {
	if !in.split && in.hasUsage() {
		in.split = true
		in.lives = lifetimes(in.History)
		in.leaks = in.leakingOf(in.lives)
	}
	return in.lives, in.leaks
}

// Node is what the detectors need of the pod's node.
type Node struct {
	Name             string
	AllocatableBytes int64
	// RequestsBytes and LimitsBytes sum the memory requests and limits of
	// the pods running on the node; Unlimited counts its containers
	// without a memory limit.
	RequestsBytes, LimitsBytes int64
	Pods, Unlimited            int
	// Complete says the sums cover every pod of the node (a scan of one
	// namespace sees only its own).
	Complete bool
	// MemoryPressure is the node's condition now.
	MemoryPressure bool
}

// Kill is an OOM kill in the history.
type Kill struct {
	T      int64 // unix seconds
	Count  int
	Limit  float64
	Source string
}

// History is a container's usage over time. Each point of WorkingSet, RSS,
// Cache and Swap is the highest value within the step that ends at T.
type History struct {
	// Source names where it came from: "Prometheus http://...".
	Source string
	Step   time.Duration
	// WorkingSet, RSS, Cache, Swap in bytes; Limit and Request over time.
	WorkingSet, RSS, Cache, Swap, Limit, Request []model.Point
	Kills                                        []Kill
	// Restarts are when the container restarted, for whatever reason
	// (unix seconds, within the step before): where the kills are not
	// known, they tell its lifetimes apart.
	Restarts []int64
	// Siblings are the working sets of the pod's other containers.
	Siblings map[string][]model.Point
}

// Detector finds one cause.
type Detector interface {
	ID() model.CauseID
	// Detect returns the cause when it applies; when the data cannot
	// decide it returns nil and what data would decide it.
	Detect(in *Input) (cause *model.Cause, needs string)
}

var detectors []Detector

func register(d Detector) { detectors = append(detectors, d) }

// Detectors lists the detectors in the order of model.CauseIDs.
func Detectors() []Detector {
	out := append([]Detector(nil), detectors...)
	order := map[model.CauseID]int{}
	for i, id := range model.CauseIDs {
		order[id] = i
	}
	sort.SliceStable(out, func(i, j int) bool { return order[out[i].ID()] < order[out[j].ID()] })
	return out
}

// Diagnose runs every detector over the input: the causes, surest first,
// and the causes the data could not decide.
func Diagnose(in *Input) ([]model.Cause, []model.Undecided) {
	var causes []model.Cause
	var undecided []model.Undecided
	for _, d := range Detectors() {
		if (in.Finding.Type == model.RuntimeOOM) != (d.ID() == model.CauseRuntimeOOM) {
			// Nothing was killed: the causes of kills do not apply, and
			// the runtime's error says what ran out.
			continue
		}
		c, needs := d.Detect(in)
		switch {
		case c != nil:
			c.ID = d.ID()
			causes = append(causes, *c)
		case needs != "":
			undecided = append(undecided, model.Undecided{ID: d.ID(), Needs: needs})
		}
	}
	sizedBy(in, causes)
	sort.SliceStable(causes, func(i, j int) bool {
		a, b := causes[i].Confidence.Rank(), causes[j].Confidence.Rank()
		if a != b {
			return a > b
		}
		return specificity[causes[i].ID] < specificity[causes[j].ID]
	})
	return causes, undecided
}

// specificity orders causes of equal confidence: the one that names a
// setting or a mechanism comes before the generic "the limit is too low",
// which is true of every kill at some level.
var specificity = map[model.CauseID]int{
	model.CauseNotOOM: 0, model.CauseRuntimeOOM: 0, model.CauseRuntimeHeap: 1, model.CauseMemoryLeak: 2, model.CauseTmpfsVolume: 3, model.CausePageCache: 4,
	model.CauseExtraProcesses: 5, model.CauseNodePressure: 6, model.CauseRequestLimitGap: 7, model.CauseLimitTooLow: 8,
}

// isOOM tells whether the finding is a kill by the kernel (not an
// eviction, not a SIGKILL for another reason).
func (in *Input) isOOM() bool {
	switch in.Finding.Type {
	case model.OOMKilled, model.KernelOOMKill, model.SystemOOM:
		return true
	}
	return false
}

// container returns the finding's container in the pod spec (nil when the
// pod or the container is not known).
func (in *Input) container() *corev1.Container {
	if in.Pod == nil {
		return nil
	}
	for i := range in.Pod.Spec.Containers {
		if in.Pod.Spec.Containers[i].Name == in.Finding.Container {
			return &in.Pod.Spec.Containers[i]
		}
	}
	for i := range in.Pod.Spec.InitContainers {
		if in.Pod.Spec.InitContainers[i].Name == in.Finding.Container {
			return &in.Pod.Spec.InitContainers[i]
		}
	}
	return nil
}

// limit is the container's memory limit in bytes (0: none or unknown):
// from the finding, else the spec, else the history.
func (in *Input) limit() float64 {
	if l := in.Finding.MemoryLimitBytes; l != nil && *l > 0 {
		return float64(*l)
	}
	if c := in.container(); c != nil {
		if q, ok := c.Resources.Limits[corev1.ResourceMemory]; ok {
			return float64(q.Value())
		}
	}
	if in.History != nil && len(in.History.Limit) > 0 {
		return in.History.Limit[len(in.History.Limit)-1].V
	}
	return 0
}

// request is the container's memory request in bytes (0: none or unknown).
func (in *Input) request() float64 {
	if r := in.Finding.MemoryRequestBytes; r != nil && *r > 0 {
		return float64(*r)
	}
	if c := in.container(); c != nil {
		if q, ok := c.Resources.Requests[corev1.ResourceMemory]; ok {
			return float64(q.Value())
		}
	}
	if in.History != nil && len(in.History.Request) > 0 {
		return in.History.Request[len(in.History.Request)-1].V
	}
	return 0
}

// kills are the kill times known: the history's, else the finding's last.
func (in *Input) kills() []Kill {
	if in.History != nil && len(in.History.Kills) > 0 {
		return in.History.Kills
	}
	if in.Finding.LastKill != nil && in.isOOM() {
		return []Kill{{T: in.Finding.LastKill.Unix(), Count: 1, Limit: in.limit()}}
	}
	return nil
}

// hasUsage tells whether the history has working set data.
func (in *Input) hasUsage() bool { return in.History != nil && len(in.History.WorkingSet) > 0 }

// window returns the points of ps with T in [from, to].
func window(ps []model.Point, from, to int64) []model.Point {
	i := sort.Search(len(ps), func(i int) bool { return ps[i].T >= from })
	j := sort.Search(len(ps), func(i int) bool { return ps[i].T > to })
	return ps[i:j]
}

func peak(ps []model.Point) float64 {
	m := 0.0
	for _, p := range ps {
		m = math.Max(m, p.V)
	}
	return m
}

func quantile(ps []model.Point, q float64) float64 {
	if len(ps) == 0 {
		return 0
	}
	v := make([]float64, len(ps))
	for i, p := range ps {
		v[i] = p.V
	}
	sort.Float64s(v)
	return v[int(q*float64(len(v)-1))]
}

// preKill is how far before a kill its usage is looked at (PreKill).
func (in *Input) preKill() int64 {
	if in.History == nil {
		return PreKill(0)
	}
	return PreKill(in.History.Step)
}

// PreKill is how far before a kill its usage is looked at in a history
// of this step (seconds): the kill's step and the one before, at least 10
// minutes.
func PreKill(step time.Duration) int64 { return max(10*60, 2*int64(step.Seconds())) }

// Formatting: sizes in Mi/Gi as kubectl shows them, times in UTC.

func size(b float64) string {
	switch {
	case b >= 10<<30:
		return fmt.Sprintf("%.0fGi", b/(1<<30))
	case b >= 1<<30:
		return fmt.Sprintf("%.1fGi", b/(1<<30))
	case b >= 10<<20:
		return fmt.Sprintf("%.0fMi", b/(1<<20))
	}
	return fmt.Sprintf("%.1fMi", b/(1<<20))
}

func pct(a, b float64) string {
	if b <= 0 {
		return "?"
	}
	return fmt.Sprintf("%.0f%%", 100*a/b)
}

func ts(t int64) *time.Time {
	u := time.Unix(t, 0).UTC()
	return &u
}

// resourcesYAML is the snippet that sets a container's memory.
func resourcesYAML(container string, request, limit int64) string {
	var b strings.Builder
	fmt.Fprintf(&b, "containers:\n- name: %s\n  resources:\n", container)
	if request > 0 {
		fmt.Fprintf(&b, "    requests:\n      memory: %s\n", quantity(request))
	}
	if limit > 0 {
		fmt.Fprintf(&b, "    limits:\n      memory: %s\n", quantity(limit))
	}
	return b.String()
}

// resourcesFix is the fix that sets a container's memory: text, the
// snippet, and the command that sets it on the live workload.
func resourcesFix(in *Input, text string, request, limit int64) model.Fix {
	f := in.Finding
	fx := model.Fix{Text: text, YAML: resourcesYAML(f.Container, request, limit)}
	values := " -c " + f.Container
	if request > 0 {
		values += " --memory-request " + quantity(request)
	}
	if limit > 0 {
		values += " --memory-limit " + quantity(limit)
	}
	if cmd := chartCommand(in); cmd != "" {
		fx.ChartCommand = cmd + values
	}
	if cmd := applyCommand(in); cmd != "" {
		fx.Command = cmd + values + in.KubeFlags
	}
	return fx
}

// chartCommand is "oomdoctor fix --chart CHART --values VALUES --release
// R -n NS KIND/NAME" for a workload whose pod has the labels Helm charts
// give their pods (app.kubernetes.io/managed-by: Helm, and the release
// as app.kubernetes.io/instance), "" otherwise. CHART and VALUES are for
// the user to fill in: the chart's folder (helm.sh/chart names it) and
// the release's values files.
func chartCommand(in *Input) string {
	w := in.Workload
	if in.Pod == nil || w.Kind == "" {
		return ""
	}
	l := in.Pod.Labels
	release := l["app.kubernetes.io/instance"]
	if l["app.kubernetes.io/managed-by"] != "Helm" || release == "" {
		return ""
	}
	return fmt.Sprintf("oomdoctor fix --chart CHART --values VALUES --release %s -n %s %s/%s", release, in.Finding.Namespace, strings.ToLower(w.Kind), w.Name)
}

// applyCommand is "oomdoctor fix --apply KIND/NAME -n NS" for the
// finding's workload, or "" when its kind cannot change (a Job's
// template, a pod's memory).
func applyCommand(in *Input) string {
	w := in.Workload
	switch w.Kind {
	case "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "CronJob":
		return fmt.Sprintf("oomdoctor fix --apply %s/%s -n %s", strings.ToLower(w.Kind), w.Name, in.Finding.Namespace)
	}
	return ""
}

// lintFix gives a fix the command that makes lint's automatic fixes on
// the live workload (oomdoctor fix --apply --lint), with --configmaps when
// the setting is held in a ConfigMap.
func lintFix(in *Input, fx *model.Fix, inConfigMap bool) {
	if cmd := chartCommand(in); cmd != "" {
		fx.ChartCommand = cmd + " --lint"
	}
	cmd := applyCommand(in)
	if cmd == "" {
		return
	}
	cmd += " --lint"
	if inConfigMap {
		cmd += " --configmaps"
	}
	fx.Command = cmd + in.KubeFlags
}

func quantity(b int64) string {
	if b%(1<<30) == 0 {
		return fmt.Sprintf("%dGi", b>>30)
	}
	return fmt.Sprintf("%dMi", (b+(1<<20)-1)>>20)
}

const historyNeeded = "usage history (--prometheus-url, or series files in a snapshot)"
