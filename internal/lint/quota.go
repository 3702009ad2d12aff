package lint

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
	resourcehelper "k8s.io/component-helpers/resource"

	"github.com/oomdoctor/oomdoctor/internal/manifest"
	"github.com/oomdoctor/oomdoctor/internal/model"
	"github.com/oomdoctor/oomdoctor/internal/recommend"
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
	quotas    []fileQuota
	defaults  map[string]limitDefaults
	workloads []quotaWorkload
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
	at *model.LintFinding
	// replicas are its pods (a DaemonSet's: 1, as many as nodes), surge
	// the pods a rolling update adds before removing old ones.
	replicas, surge int
	surgeWhy        string
	deadline        bool
	priorityClass   string
	crossNamespace  bool
	podLevel        bool // pod-level resources: containers need not say theirs
	containers      []quotaContainer
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
	at := ctx.Mark(w.Object, w.SpecPath, "")
	q := quotaWorkload{at: &at}
	q.replicas, q.surge, q.surgeWhy = podsOf(w)
	spec := w.Spec.Node
	if n, ok := manifest.Lookup(spec, "activeDeadlineSeconds"); ok {
		v, err := strconv.ParseInt(manifest.ScalarValue(n), 10, 64)
		q.deadline = err == nil && v >= 0
	}
	if n, ok := manifest.Lookup(spec, "priorityClassName"); ok {
		q.priorityClass = strings.Clone(manifest.ScalarValue(n))
	}
	if n, ok := manifest.Lookup(spec, "affinity"); ok {
		var a corev1.Affinity
		if decodeNode(n, &a) {
			p := corev1.Pod{Spec: corev1.PodSpec{Affinity: &a}}
			q.crossNamespace = recommend.CrossNamespaceAffinity(&p)
		}
	}
	if res := w.Spec.Resources; res != nil {
		q.podLevel = res.MemoryRequest.Set() || res.MemoryLimit.Set() || res.CPURequest.Set() || res.CPULimit.Set()
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
	r.workloads = append(r.workloads, q)
}

// podsOf is how many pods a workload runs (spec.replicas, a Job's
// parallelism; 1 for a DaemonSet, a pod per node) and how many its rolling
// update adds before it removes old ones (a Deployment's maxSurge, 25% by
// default; a DaemonSet's, 0 by default), with the setting that says so.
func podsOf(w *Workload) (replicas, surge int, why string) {
	o := w.Object.Node
	intAt := func(path string, def int) int {
		if n, ok := manifest.Lookup(o, path); ok {
			if v, err := strconv.Atoi(manifest.ScalarValue(n)); err == nil && v >= 0 {
				return v
			}
		}
		return def
	}
	surgeOf := func(path, def string, pods int) (int, string) {
		v := intstr.Parse(def)
		if n, ok := manifest.Lookup(o, path); ok {
			v = intstr.Parse(manifest.ScalarValue(n))
		}
		s, err := intstr.GetScaledValueFromIntOrPercent(&v, pods, true)
		if err != nil || s <= 0 {
			return 0, ""
		}
		return s, "maxSurge " + v.String()
	}
	switch w.Object.Kind {
	case "Deployment":
		replicas = intAt("spec.replicas", 1)
		if n, ok := manifest.Lookup(o, "spec.strategy.type"); ok && manifest.ScalarValue(n) == "Recreate" {
			return replicas, 0, ""
		}
		surge, why = surgeOf("spec.strategy.rollingUpdate.maxSurge", "25%", replicas)
		return replicas, surge, why
	case "ReplicaSet", "StatefulSet", "ReplicationController":
		return intAt("spec.replicas", 1), 0, ""
	case "DaemonSet":
		surge, why = surgeOf("spec.updateStrategy.rollingUpdate.maxSurge", "0", 1)
		return 1, surge, why
	case "Job":
		return intAt("spec.parallelism", 1), 0, ""
	case "CronJob":
		return intAt("spec.jobTemplate.spec.parallelism", 1), 0, ""
	}
	return 1, 0, ""
}

// pod is a pod of the workload as the quota sees it once admitted: the
// API's defaulting (a request is the limit when only that is set) and the
// LimitRange's defaults applied; the containers' values still missing
// are listed.
func (q *quotaWorkload) pod(d limitDefaults) (p *corev1.Pod, missingReq, missingLim []*quotaContainer) {
	p = &corev1.Pod{}
	if q.deadline {
		p.Spec.ActiveDeadlineSeconds = new(int64)
	}
	p.Spec.PriorityClassName = q.priorityClass
	if q.crossNamespace {
		p.Spec.Affinity = &corev1.Affinity{PodAffinity: &corev1.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{Namespaces: []string{"*"}}}}}
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
		need := map[corev1.ResourceName]float64{}
		type share struct {
			w        *quotaWorkload
			req, lim float64
		}
		var shares []share
		for i := range r.workloads {
			w := &r.workloads[i]
			if w.at.Object.Namespace != q.Namespace {
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
							containerWord(c), workloadName(w.at.Object), m.is, q.name, m.res, q.Name, m.res, c.name, w.at.Object.Kind, m.res))
					}
				}
			}
			opts := resourcehelper.PodResourcesOptions{}
			s := share{w: w, req: mem(resourcehelper.PodRequests(p, opts)), lim: mem(resourcehelper.PodLimits(p, opts))}
			need[corev1.ResourceRequestsMemory] += float64(w.replicas) * s.req
			need[corev1.ResourceLimitsMemory] += float64(w.replicas) * s.lim
			shares = append(shares, s)
		}
		for _, res := range []corev1.ResourceName{corev1.ResourceRequestsMemory, corev1.ResourceMemory, corev1.ResourceLimitsMemory} {
			hard, ok := q.Hard[res]
			if !ok {
				continue
			}
			per := func(s share) float64 {
				if res == corev1.ResourceLimitsMemory {
					return s.lim
				}
				return s.req
			}
			total := need[corev1.ResourceRequestsMemory]
			if res == corev1.ResourceLimitsMemory {
				total = need[corev1.ResourceLimitsMemory]
			}
			sort.SliceStable(shares, func(i, j int) bool {
				return float64(shares[i].w.replicas)*per(shares[i]) > float64(shares[j].w.replicas)*per(shares[j])
			})
			if total > hard {
				var parts []string
				for i, s := range shares {
					if i == 3 {
						parts = append(parts, "...")
						break
					}
					parts = append(parts, fmt.Sprintf("%s %d x %s", workloadName(s.w.at.Object), s.w.replicas, bytesText(per(s))))
				}
				ctx.ReportAt(q.at, fmt.Sprintf("%s allows %s up to %s, and the workloads of these files in its namespace alone need %s at their replicas (%s): the API server refuses the pods beyond it (their workloads are accepted, their rollouts stall). To fix, raise the quota, or lower the requests and limits (`oomdoctor recommend` sizes them from real usage).",
					q.name, res, bytesText(hard), bytesText(total), strings.Join(parts, ", ")))
				continue
			}
			// A rolling update adds its surge pods first: the largest
			// must fit beside every pod.
			var worst *share
			for i := range shares {
				s := &shares[i]
				if s.w.surge > 0 && (worst == nil || float64(s.w.surge)*per(*s) > float64(worst.w.surge)*per(*worst)) {
					worst = s
				}
			}
			if worst != nil && total+float64(worst.w.surge)*per(*worst) > hard {
				ctx.ReportAtSeverity(q.at, model.SeverityWarning, fmt.Sprintf("%s allows %s up to %s; the workloads of these files in its namespace need %s, which leaves %s, and a rolling update of %s adds %d pod(s) of %s first (%s): that rollout stalls until the quota has room. To fix, raise the quota, or set strategy.rollingUpdate.maxSurge: 0 (maxUnavailable: 1) on it.",
					q.name, res, bytesText(hard), bytesText(total), bytesText(hard-total), workloadName(worst.w.at.Object), worst.w.surge, bytesText(per(*worst)), worst.w.surgeWhy))
			}
		}
	}
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

func workloadName(o model.ObjectRef) string {
	if o.Namespace == "" {
		return o.Kind + " " + o.Name
	}
	return o.Kind + " " + o.Namespace + "/" + o.Name
}

func mem(l corev1.ResourceList) float64 {
	q := l[corev1.ResourceMemory]
	return float64(q.Value())
}

func bytesText(v float64) string {
	return manifest.FormatBytes(int64(math.Round(v)))
}
