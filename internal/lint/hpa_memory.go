package lint

import (
	"fmt"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/oomdoctor/oomdoctor/internal/manifest"
)

const ruleHPAMemory = "hpa-memory-target-unreachable"

func init() {
	register(func(*Config) Rule {
		return &hpaMemory{rule: rule{ruleHPAMemory, "warning", "An HPA scales on memory at a point its pods cannot reach or measure"}, pods: map[string][]memSpec{}}
	})
}

// hpaMemory pairs each HorizontalPodAutoscaler's memory metrics with the
// pod spec of the workload it scales, when the files hold both.
type hpaMemory struct {
	rule
	metrics []hpaMetric
	// pods are each workload's containers' memory (namespace/Kind/name):
	// kept small, since lint streams and every workload is kept.
	pods   map[string][]memSpec
	points []HPAPoint
}

// HPAPoint is where an HPA's memory utilization metric adds replicas,
// for its workload in the same files: Utilization percent of Requests
// (the pod's containers' together, or Container's).
type HPAPoint struct {
	File string
	Line int
	// HPA is "HorizontalPodAutoscaler namespace/name"; Target the
	// workload, "Kind/name"; Metric the metric's field path.
	HPA, Target, Metric, Container string
	Utilization, Requests          int64
}

// HPAPoints are the points of the files' HPAs that scale a workload of
// the same files on memory utilization (fix compares them before and
// after its edits).
func HPAPoints(files []File) ([]HPAPoint, error) {
	l := New(OnlyRule(ruleHPAMemory))
	if _, err := l.RunFiles(files); err != nil {
		return nil, err
	}
	for _, r := range l.rules {
		if h, ok := r.(*hpaMemory); ok {
			return h.points, nil
		}
	}
	return nil, nil
}

type hpaMetric struct {
	obj       *manifest.Object
	path      string // the metric's target
	target    string // namespace/Kind/name
	container string // ContainerResource's; "": the pod's containers
	// utilization in percent, or averageValue (as written): one is set.
	utilization int64
	value       *resource.Quantity
	valueText   string
}

func (r *hpaMemory) CheckObject(_ *Context, o *manifest.Object) {
	if o.Kind != "HorizontalPodAutoscaler" {
		return
	}
	spec := manifest.Child(o.Node, "spec")
	for i, m := range manifest.Items(manifest.Child(spec, "metrics")) {
		x := hpaMetric{obj: o, target: targetKey(o, manifest.Child(spec, "scaleTargetRef"))}
		var res *yamlNode
		switch manifest.ScalarValue(manifest.Child(m, "type")) {
		case "Resource":
			res = manifest.Child(m, "resource")
		case "ContainerResource":
			res = manifest.Child(m, "containerResource")
			x.container = manifest.ScalarValue(manifest.Child(res, "container"))
		}
		if manifest.ScalarValue(manifest.Child(res, "name")) != "memory" {
			continue
		}
		t := manifest.Child(res, "target")
		base := manifest.IndexPath("spec.metrics", i) + "." + map[bool]string{true: "containerResource", false: "resource"}[x.container != ""] + ".target"
		switch manifest.ScalarValue(manifest.Child(t, "type")) {
		case "Utilization":
			u, err := strconv.ParseInt(manifest.ScalarValue(manifest.Child(t, "averageUtilization")), 10, 32)
			if err != nil || u <= 0 {
				continue
			}
			x.utilization, x.path = u, base+".averageUtilization"
		case "AverageValue":
			x.valueText = manifest.ScalarValue(manifest.Child(t, "averageValue"))
			q, err := resource.ParseQuantity(x.valueText)
			if err != nil || q.Sign() <= 0 {
				continue
			}
			x.value, x.path = &q, base+".averageValue"
		default:
			continue
		}
		r.metrics = append(r.metrics, x)
	}
}

// memSpec is a container's memory request and limit (0: not set).
type memSpec struct {
	name     string
	req, lim int64
}

func (r *hpaMemory) CheckWorkload(_ *Context, w *Workload) {
	var cs []memSpec
	for _, c := range runningContainers(w.Spec) {
		m := memSpec{name: strings.Clone(c.Name)} // not a view of the document, which would stay in memory
		if c.Resources.MemoryRequest.Set() {
			m.req = c.Resources.MemoryRequest.Bytes()
		}
		if c.Resources.MemoryLimit.Set() {
			m.lim = c.Resources.MemoryLimit.Bytes()
		}
		cs = append(cs, m)
	}
	r.pods[w.Namespace+"/"+w.Kind+"/"+w.Name] = cs
}

// Finish reports the metrics whose point is at or above the limits they
// are measured against (usage never passes it: the containers are killed
// at their limits first), and utilization metrics of containers without a
// memory request (the HPA cannot compute it).
func (r *hpaMemory) Finish(ctx *Context) {
	for _, m := range r.metrics {
		all, ok := r.pods[m.target]
		if !ok {
			continue
		}
		var cs []memSpec
		for _, c := range all {
			if m.container == "" || c.name == m.container {
				cs = append(cs, c)
			}
		}
		if len(cs) == 0 {
			continue
		}
		var req, lim int64
		limitedAll := true
		var unrequested string
		for _, c := range cs {
			if c.req == 0 && c.lim == 0 && unrequested == "" {
				unrequested = c.name
			}
			// A request left out defaults to the limit.
			if c.req > 0 {
				req += c.req
			} else {
				req += c.lim
			}
			lim += c.lim
			limitedAll = limitedAll && c.lim > 0
		}
		if m.utilization > 0 && unrequested == "" && req > 0 {
			line := 0
			if n, ok := manifest.Lookup(m.obj.Node, m.path); ok {
				line = n.Line
			}
			r.points = append(r.points, HPAPoint{File: m.obj.File, Line: line, HPA: m.obj.String(), Target: targetName(m.target), Metric: m.path, Container: m.container, Utilization: m.utilization, Requests: req})
		}
		scales := fmt.Sprintf("%s scales %s on memory", m.obj, targetName(m.target))
		per, of := "a pod", "its pods' requests"
		if m.container != "" {
			per, of = "a container", "container "+m.container+"'s request"
		}
		if m.utilization > 0 && unrequested != "" {
			ctx.Report(Finding{Object: m.obj, Path: m.path,
				Message: fmt.Sprintf("%s at %d%% of %s, but container %s has no memory request (nor a limit it would default to): the HPA cannot compute memory utilization, and scales on its other metrics only. Give every container of the pod a memory request (`oomdoctor recommend`).", scales, m.utilization, of, unrequested)})
			continue
		}
		if !limitedAll || lim == 0 {
			continue
		}
		point, what := int64(0), ""
		if m.utilization > 0 {
			point = m.utilization * req / 100
			what = fmt.Sprintf("at %d%% of %s (%s %s): %s %s", m.utilization, of, mib(req), per, mib(roundMi(point)), per)
		} else {
			point = m.value.Value()
			what = fmt.Sprintf("at an average of %s %s", m.valueText, per)
		}
		if point < lim {
			continue
		}
		fixTo := fmt.Sprintf("an averageValue under %s", mib(lim))
		if m.utilization > 0 {
			fixTo = fmt.Sprintf("an averageUtilization under %d%% (70-80%% is usual)", 100*lim/req)
		}
		ctx.Report(Finding{Object: m.obj, Path: m.path,
			Message: fmt.Sprintf("%s %s, at or above the memory limits (%s %s): usage never gets there, since the containers are OOM-killed at their limits first, so the HPA never adds replicas for memory. Give it %s.", scales, what, mib(lim), per, fixTo)})
	}
}

// roundMi rounds bytes to the Mi, for a point that reads well.
func roundMi(b int64) int64 { return (b + 1<<19) >> 20 << 20 }

// targetName is "Kind/name" of a namespace/Kind/name key.
func targetName(key string) string {
	_, kn, _ := strings.Cut(key, "/")
	return kn
}
