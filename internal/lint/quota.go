package lint

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
	resourcehelper "k8s.io/component-helpers/resource"

	"github.com/oomdoctor/oomdoctor/internal/manifest"
	"github.com/oomdoctor/oomdoctor/internal/model"
	"github.com/oomdoctor/oomdoctor/internal/recommend"
	"github.com/oomdoctor/oomdoctor/internal/words"
)

const ruleOverQuota = "memory-over-quota"

func init() {
	register(func(*Config) Rule {
		return &overQuota{rule: rule{ruleOverQuota, "error", "The workloads of a namespace need more memory than its ResourceQuota allows, or a container lacks the memory value the quota counts: the API server refuses their pods"}, defaults: map[string]limitDefaults{}}
	})
}

// overQuota collects the ResourceQuotas, the LimitRanges' defaults and a
// compact account of each workload's pods in the files, and checks at the
// end each namespace's quotas on memory: that every container it counts
// says the value the quota tracks (the quota admission refuses a pod that
// does not: "must specify limits.memory"), and that the workloads' pods at
// their replicas fit the quota, with room for a rolling update's extra
// pods. As with LimitRanges, the workload is accepted and its pods
// refused.
type overQuota struct {
	rule
	quotas   []fileQuota
	defaults map[string]limitDefaults
	// pods are the workloads whose every container says its memory (no
	// LimitRange default needed), each reduced to its pod's effective
	// request and limit; workloads are the others, kept whole.
	pods      []compactPod
	workloads []quotaWorkload
}

// compactPod is a workload whose pod is known without the namespace's
// defaults, kept small: an input may hold tens of thousands.
type compactPod struct {
	// name is "Deployment shop/api", namespace a part of it.
	name, namespace string
	surgeWhy        string
	per             [2]float64 // the pod's request and limit
	replicas, surge int32
	podScope
}

// podScope is what the quotas' scopes read of a pod beside its
// resources.
type podScope struct {
	priorityClass            string
	deadline, crossNamespace bool
}

// pod is a pod with those fields and nothing else.
func (s podScope) pod() *corev1.Pod {
	p := &corev1.Pod{Spec: corev1.PodSpec{PriorityClassName: s.priorityClass}}
	if s.deadline {
		p.Spec.ActiveDeadlineSeconds = new(int64)
	}
	if s.crossNamespace {
		p.Spec.Affinity = crossAffinity
	}
	return p
}

// pod is a pod of the workload as the scopes see it: a memory limit
// makes it NotBestEffort, as every complete workload's pods are.
func (c *compactPod) pod() *corev1.Pod {
	p := c.podScope.pod()
	p.Spec.Containers = []corev1.Container{{Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1")}}}}
	return p
}

// quotaSum adds up the pods a quota counts, at their replicas, with the
// largest workloads (for the message) and the largest rolling-update
// surge, for requests [0] and limits [1].
type quotaSum struct {
	n          int // workloads
	daemonSets int // of them
	total      [2]float64
	top        [2][]contrib
	surge      [2]contrib
}

// contrib is one workload's share: its replicas of a pod of per bytes,
// and the surge pods its rolling update adds first.
type contrib struct {
	name     string
	replicas int
	per      float64
	surge    int
	why      string
}

func (c contrib) need() float64      { return float64(c.replicas) * c.per }
func (c contrib) surgeNeed() float64 { return float64(c.surge) * c.per }

// topN is how many of the largest workloads a message names.
const topN = 3

// addTop keeps the topN largest shares, largest first.
func addTop(top []contrib, c contrib) []contrib {
	i := sort.Search(len(top), func(i int) bool { return top[i].need() < c.need() })
	if i >= topN {
		return top
	}
	top = append(top, contrib{})
	copy(top[i+1:], top[i:])
	top[i] = c
	if len(top) > topN {
		top = top[:topN]
	}
	return top
}

// add counts one workload's pods in the sum.
func (s *quotaSum) add(w *compactPod) {
	s.n++
	if strings.HasPrefix(w.name, "DaemonSet ") {
		s.daemonSets++
	}
	for i := range 2 {
		c := contrib{name: w.name, replicas: int(w.replicas), per: w.per[i], surge: int(w.surge), why: w.surgeWhy}
		s.total[i] += c.need()
		s.top[i] = addTop(s.top[i], c)
		if c.surgeNeed() > s.surge[i].surgeNeed() {
			s.surge[i] = c
		}
	}
}

type fileQuota struct {
	recommend.Quota
	at   model.LintFinding
	name string // "ResourceQuota shop/compute (quota.yaml:3)"
}

// limitDefaults are the memory a LimitRange gives a container that sets
// none (0: none): its Container item's default (or max) and
// defaultRequest (or the default), as the API defaults them.
type limitDefaults struct{ request, limit float64 }

// quotaWorkload is what the quota check needs of a workload, kept small.
type quotaWorkload struct {
	// namespace as written, and the workload's name as messages give it:
	// "Deployment shop/api".
	namespace, name string
	// replicas are its pods (a DaemonSet's: 1, as many as nodes), surge
	// the pods a rolling update adds before removing old ones.
	replicas, surge int
	surgeWhy        string
	podScope
	podLevel       bool // pod-level resources: containers need not say theirs
	podReq, podLim float64
	containers     []quotaContainer
}

type quotaContainer struct {
	name     string
	sidecar  bool
	init     bool
	req, lim float64 // 0: not set
	cpu      bool
	// at is where a finding about a missing value points; nil when
	// both are set.
	at *model.LintFinding
}

// CheckObject keeps the ResourceQuotas on memory and the LimitRanges'
// defaults.
func (r *overQuota) CheckObject(ctx *Context, o *manifest.Object) {
	switch o.Kind {
	case "ResourceQuota":
		var rq corev1.ResourceQuota
		if !decodeObject(o, &rq) {
			return
		}
		rq.Namespace = o.Namespace
		if q, ok := recommend.QuotaOf(&rq); ok {
			name := fmt.Sprintf("ResourceQuota %s (%s:%d)", o.Name, o.File, o.Node.Line)
			if o.Namespace != "" {
				name = fmt.Sprintf("ResourceQuota %s/%s (%s:%d)", o.Namespace, o.Name, o.File, o.Node.Line)
			}
			r.quotas = append(r.quotas, fileQuota{Quota: q, at: ctx.Mark(o, "spec.hard", ""), name: name})
		}
	case "LimitRange":
		var lr corev1.LimitRange
		if _, seen := r.defaults[o.Namespace]; seen || !decodeObject(o, &lr) {
			return // the first LimitRange with defaults sets them
		}
		if d := defaultsOf(&lr); d != (limitDefaults{}) {
			r.defaults[o.Namespace] = d
		}
	}
}

// defaultsOf reads the memory a LimitRange gives containers that set
// none.
func defaultsOf(lr *corev1.LimitRange) limitDefaults {
	for _, it := range lr.Spec.Limits {
		if it.Type != corev1.LimitTypeContainer {
			continue
		}
		val := func(ls ...corev1.ResourceList) float64 {
			for _, l := range ls {
				if q, ok := l[corev1.ResourceMemory]; ok {
					return float64(q.Value())
				}
			}
			return 0
		}
		lim := val(it.Default, it.Max)
		req := val(it.DefaultRequest, it.Default, it.Max)
		if lim > 0 || req > 0 {
			return limitDefaults{request: req, limit: lim}
		}
	}
	return limitDefaults{}
}

// CheckWorkload keeps what the quotas need of the workload.
func (r *overQuota) CheckWorkload(ctx *Context, w *Workload) {
	q := quotaWorkload{namespace: strings.Clone(w.Object.Namespace), name: workloadName(w.Object.Kind, w.Object.Namespace, w.Object.Name)}
	nodes, _ := ctx.Config.daemonSetNodes()
	q.replicas, q.surge, q.surgeWhy = podsOf(w, nodes)
	spec := w.Spec.Node
	if n := manifest.Child(spec, "activeDeadlineSeconds"); n != nil {
		v, err := strconv.ParseInt(manifest.ScalarValue(n), 10, 64)
		q.deadline = err == nil && v >= 0
	}
	if n := manifest.Child(spec, "priorityClassName"); n != nil {
		q.priorityClass = strings.Clone(manifest.ScalarValue(n))
	}
	if n := manifest.Child(spec, "affinity"); n != nil {
		var a corev1.Affinity
		if decodeNode(n, &a) {
			p := corev1.Pod{Spec: corev1.PodSpec{Affinity: &a}}
			q.crossNamespace = recommend.CrossNamespaceAffinity(&p)
		}
	}
	if res := w.Spec.Resources; res != nil {
		q.podLevel = res.MemoryRequest.Set() || res.MemoryLimit.Set() || res.CPURequest.Set() || res.CPULimit.Set()
		if res.MemoryRequest.Set() {
			q.podReq = float64(res.MemoryRequest.Bytes())
		}
		if res.MemoryLimit.Set() {
			q.podLim = float64(res.MemoryLimit.Bytes())
		}
	}
	for _, c := range w.Spec.AllContainers() {
		if c.Kind == manifest.EphemeralContainer {
			continue
		}
		res := c.Resources
		x := quotaContainer{name: strings.Clone(c.Name), sidecar: c.Kind == manifest.SidecarContainer, init: c.Kind == manifest.InitContainer,
			cpu: res.CPURequest.Set() || res.CPULimit.Set()}
		if res.MemoryRequest.Set() {
			x.req = float64(res.MemoryRequest.Bytes())
		}
		if res.MemoryLimit.Set() {
			x.lim = float64(res.MemoryLimit.Bytes())
		}
		if x.lim == 0 || x.req == 0 {
			path := res.Path + ".limits.memory"
			if x.lim > 0 {
				path = res.Path + ".requests.memory"
			}
			m := ctx.Mark(w.Object, path, c.Name)
			x.at = &m
		}
		q.containers = append(q.containers, x)
	}
	if !q.complete() {
		r.workloads = append(r.workloads, q)
		return
	}
	r.pods = append(r.pods, q.compact(q.effective()))
}

// effective is the pod's request and limit as the quota counts them, of
// a complete workload. Regular containers alone add up (a request not
// set is the limit); init containers, sidecars and pod-level values take
// the API's own rules (component-helpers).
func (q *quotaWorkload) effective() [2]float64 {
	var sum [2]float64
	for _, c := range q.containers {
		if c.init || c.sidecar || q.podLevel {
			p, _, _ := q.pod(limitDefaults{})
			return effective(p)
		}
		req := c.req
		if req == 0 {
			req = c.lim
		}
		sum[0], sum[1] = sum[0]+req, sum[1]+c.lim
	}
	return sum
}

// compact is the workload reduced to its pod's request and limit.
func (q *quotaWorkload) compact(per [2]float64) compactPod {
	c := compactPod{name: q.name, surgeWhy: q.surgeWhy, per: per, podScope: q.podScope,
		replicas: int32(min(q.replicas, math.MaxInt32)), surge: int32(min(q.surge, math.MaxInt32))}
	if q.namespace != "" {
		// The namespace within the name: no second string.
		i := strings.IndexByte(c.name, ' ') + 1
		c.namespace = c.name[i : i+len(q.namespace)]
	}
	return c
}

// complete says that no container needs a LimitRange's default: each has
// a memory limit (a request alone leaves the limit to a default), or the
// pod sets its own.
func (q *quotaWorkload) complete() bool {
	if q.podLevel {
		return true
	}
	for _, c := range q.containers {
		if c.lim == 0 {
			return false
		}
	}
	return true
}

// effective is a pod's request and limit as the quota counts them.
func effective(p *corev1.Pod) [2]float64 {
	opts := resourcehelper.PodResourcesOptions{}
	return [2]float64{mem(resourcehelper.PodRequests(p, opts)), mem(resourcehelper.PodLimits(p, opts))}
}

// child follows field names from n (nil where one is missing), without
// the path parsing of manifest.Lookup: this runs for every workload.
func child(n *yaml.Node, keys ...string) *yaml.Node {
	for _, k := range keys {
		if n = manifest.Child(n, k); n == nil {
			return nil
		}
	}
	return n
}

// defaultSurge says the defaults' maxSurge, without a string per workload.
var defaultSurge = map[string]string{"25%": "maxSurge 25%, the default", "0": "maxSurge 0, the default"}

// podsOf is how many pods a workload runs (spec.replicas, a Job's
// parallelism; for a DaemonSet, a pod on each of nodes) and how many its
// rolling update adds before it removes old ones (a Deployment's
// maxSurge, 25% by default; a DaemonSet's, 0 by default), with the
// setting that says so.
func podsOf(w *Workload, nodes int) (replicas, surge int, why string) {
	o := w.Object.Node
	intAt := func(def int, path ...string) int {
		if n := child(o, path...); n != nil {
			if v, err := strconv.Atoi(manifest.ScalarValue(n)); err == nil && v >= 0 {
				return v
			}
		}
		return def
	}
	surgeOf := func(def string, pods int, path ...string) (int, string) {
		v, why := intstr.Parse(def), defaultSurge[def]
		if n := child(o, path...); n != nil {
			v = intstr.Parse(manifest.ScalarValue(n))
			why = "maxSurge " + v.String()
		}
		s, err := intstr.GetScaledValueFromIntOrPercent(&v, pods, true)
		if err != nil || s <= 0 {
			return 0, ""
		}
		return s, why
	}
	switch w.Object.Kind {
	case "Deployment":
		replicas = intAt(1, "spec", "replicas")
		if n := child(o, "spec", "strategy", "type"); n != nil && manifest.ScalarValue(n) == "Recreate" {
			return replicas, 0, ""
		}
		surge, why = surgeOf("25%", replicas, "spec", "strategy", "rollingUpdate", "maxSurge")
		return replicas, surge, why
	case "ReplicaSet", "StatefulSet", "ReplicationController":
		return intAt(1, "spec", "replicas"), 0, ""
	case "DaemonSet":
		surge, why = surgeOf("0", nodes, "spec", "updateStrategy", "rollingUpdate", "maxSurge")
		return nodes, surge, why
	case "Job":
		return intAt(1, "spec", "parallelism"), 0, ""
	case "CronJob":
		return intAt(1, "spec", "jobTemplate", "spec", "parallelism"), 0, ""
	}
	return 1, 0, ""
}

// pod is a pod of the workload as the quota sees it once admitted: the
// API's defaulting (a request is the limit when only that is set) and the
// LimitRange's defaults applied; the containers' values still missing
// are listed.
func (q *quotaWorkload) pod(d limitDefaults) (p *corev1.Pod, missingReq, missingLim []*quotaContainer) {
	p = q.podScope.pod()
	if q.podReq > 0 || q.podLim > 0 {
		p.Spec.Resources = &corev1.ResourceRequirements{Requests: corev1.ResourceList{}, Limits: corev1.ResourceList{}}
		if q.podReq > 0 {
			p.Spec.Resources.Requests[corev1.ResourceMemory] = *resource.NewQuantity(int64(q.podReq), resource.BinarySI)
		}
		if q.podLim > 0 {
			p.Spec.Resources.Limits[corev1.ResourceMemory] = *resource.NewQuantity(int64(q.podLim), resource.BinarySI)
		}
	}
	always := corev1.ContainerRestartPolicyAlways
	for i := range q.containers {
		c := &q.containers[i]
		req, lim := c.req, c.lim
		if req == 0 && lim > 0 {
			req = lim
		}
		if lim == 0 {
			lim = d.limit
		}
		if req == 0 {
			req = d.request
		}
		ct := corev1.Container{Name: c.name, Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{}, Limits: corev1.ResourceList{}}}
		if c.cpu {
			ct.Resources.Requests[corev1.ResourceCPU] = resource.MustParse("1m")
		}
		if req > 0 {
			ct.Resources.Requests[corev1.ResourceMemory] = *resource.NewQuantity(int64(req), resource.BinarySI)
		} else {
			missingReq = append(missingReq, c)
		}
		if lim > 0 {
			ct.Resources.Limits[corev1.ResourceMemory] = *resource.NewQuantity(int64(lim), resource.BinarySI)
		} else {
			missingLim = append(missingLim, c)
		}
		switch {
		case c.sidecar:
			ct.RestartPolicy = &always
			p.Spec.InitContainers = append(p.Spec.InitContainers, ct)
		case c.init:
			p.Spec.InitContainers = append(p.Spec.InitContainers, ct)
		default:
			p.Spec.Containers = append(p.Spec.Containers, ct)
		}
	}
	return p, missingReq, missingLim
}

// Finish checks every quota against the workloads of its namespace.
func (r *overQuota) Finish(ctx *Context) {
	told := map[*quotaContainer]bool{}
	for _, q := range r.quotas {
		_, counts := q.Hard[corev1.ResourceRequestsMemory]
		_, old := q.Hard[corev1.ResourceMemory]
		countsReq := counts || old
		_, countsLim := q.Hard[corev1.ResourceLimitsMemory]
		var sum quotaSum
		for i := range r.pods {
			c := &r.pods[i]
			if c.namespace == q.Namespace && (q.Covers == nil || q.Covers(c.pod())) {
				sum.add(c)
			}
		}
		for i := range r.workloads {
			w := &r.workloads[i]
			if w.namespace != q.Namespace {
				continue
			}
			p, missReq, missLim := w.pod(r.defaults[q.Namespace])
			if q.Covers != nil && !q.Covers(p) {
				continue
			}
			if !w.podLevel {
				for _, m := range []struct {
					on      bool
					cs      []*quotaContainer
					res, is string
				}{{countsReq, missReq, "requests.memory", "memory request"}, {countsLim, missLim, "limits.memory", "memory limit"}} {
					for _, c := range m.cs {
						if !m.on || told[c] {
							continue
						}
						told[c] = true
						ctx.ReportAt(*c.at, fmt.Sprintf("%s of %s has no %s, and %s counts %s: the API server refuses its pods (failed quota: %s: must specify %s for: %s); the %s itself is accepted, and its rollout stalls. To fix, set resources.%s (`oomdoctor recommend` sizes it from real usage), or give the namespace a LimitRange with a default.",
							containerWord(c), w.name, m.is, q.name, m.res, q.Name, m.res, c.name, strings.Fields(w.name)[0], m.res))
					}
				}
			}
			c := w.compact(effective(p))
			sum.add(&c)
		}
		for _, res := range []corev1.ResourceName{corev1.ResourceRequestsMemory, corev1.ResourceMemory, corev1.ResourceLimitsMemory} {
			hard, ok := q.Hard[res]
			if !ok {
				continue
			}
			i := 0
			if res == corev1.ResourceLimitsMemory {
				i = 1
			}
			total := sum.total[i]
			if total > hard {
				var parts []string
				for _, c := range sum.top[i] {
					parts = append(parts, fmt.Sprintf("%s %d x %s", c.name, c.replicas, bytesText(c.per)))
				}
				ctx.ReportAt(q.at, fmt.Sprintf("%s allows %s up to %s, and the workloads of these files in its namespace alone need %s at their replicas (%s%s%s): the API server refuses the pods beyond it (their workloads are accepted, their rollouts stall). To fix, raise the quota, or lower the requests and limits (`oomdoctor recommend` sizes them from real usage).",
					q.name, res, bytesText(hard), bytesText(total), strings.Join(parts, ", "), more(len(parts), sum.n), sum.daemonSetNote(ctx.Config)))
				continue
			}
			// A rolling update adds its surge pods first: the largest
			// must fit beside every pod.
			if w := sum.surge[i]; w.surge > 0 && total+w.surgeNeed() > hard {
				ctx.ReportAtSeverity(q.at, model.SeverityWarning, fmt.Sprintf("%s allows %s up to %s; the workloads of these files in its namespace need %s, which leaves %s, and a rolling update of %s adds %s of %s first (%s): that rollout stalls until the quota has room. To fix, raise the quota, or set strategy.rollingUpdate.maxSurge: 0 (maxUnavailable: 1) on it.",
					q.name, res, bytesText(hard), bytesText(total), bytesText(hard-total), w.name, words.Count(w.surge, "pod"), bytesText(w.per), w.why))
			}
		}
	}
}

// daemonSetNote says how the sum counted DaemonSets' pods when the
// config does not give their nodes.
func (s *quotaSum) daemonSetNote(c *Config) string {
	if _, set := c.daemonSetNodes(); set || s.daemonSets == 0 {
		return ""
	}
	what := "a DaemonSet counted as one pod"
	if s.daemonSets > 1 {
		what = fmt.Sprintf("%d DaemonSets counted as one pod each", s.daemonSets)
	}
	return "; " + what + ", though a DaemonSet runs one per node: oomdoctor lint takes how many nodes as rules." + ruleOverQuota + ".nodes in its config"
}

// crossAffinity stands for a pod's affinity to other namespaces' pods,
// for the CrossNamespacePodAffinity scope.
var crossAffinity = &corev1.Affinity{PodAffinity: &corev1.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{Namespaces: []string{"*"}}}}}

// more says that the message names only the largest workloads.
func more(named, of int) string {
	if named < of {
		return fmt.Sprintf(", the largest %d of %d", named, of)
	}
	return ""
}

func containerWord(c *quotaContainer) string {
	switch {
	case c.sidecar:
		return fmt.Sprintf("sidecar container %q", c.name)
	case c.init:
		return fmt.Sprintf("init container %q", c.name)
	}
	return fmt.Sprintf("container %q", c.name)
}

// workloadName is "Deployment shop/api" (a new string: not one that
// keeps the document's text).
func workloadName(kind, namespace, name string) string {
	if namespace == "" {
		return kind + " " + name
	}
	return kind + " " + namespace + "/" + name
}

func mem(l corev1.ResourceList) float64 {
	q := l[corev1.ResourceMemory]
	return float64(q.Value())
}

func bytesText(v float64) string {
	return manifest.FormatBytes(int64(math.Round(v)))
}
