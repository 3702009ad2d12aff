package lint

import (
	"encoding/json"
	"fmt"
	"strings"

	yaml "go.yaml.in/yaml/v3"
	corev1 "k8s.io/api/core/v1"

	"github.com/oomdoctor/oomdoctor/internal/manifest"
	"github.com/oomdoctor/oomdoctor/internal/model"
	"github.com/oomdoctor/oomdoctor/internal/recommend"
)

const ruleOutsideLimitRange = "memory-outside-limitrange"

func init() {
	register(func(*Config) Rule {
		return &outsideLimitRange{rule: rule{ruleOutsideLimitRange, "error", "A container's memory is outside what its namespace's LimitRange allows: the API server refuses its pods"}, bounds: map[string]recommend.Bounds{}}
	})
}

// outsideLimitRange collects the LimitRanges and the containers' memory
// values of the files and checks, at the end, each container against the
// LimitRanges of its namespace (as written; none on both sides matches
// too: the same -n). LimitRanger admission acts on pods, not on the
// workload: the Deployment is accepted, and its rollout stalls with every
// pod refused. It keeps marks (model.LintFinding), not the workloads'
// nodes, so that a large input is not held in memory.
type outsideLimitRange struct {
	rule
	bounds     map[string]recommend.Bounds
	containers []memoryValues
}

// memoryValues are one container's memory request and limit (0: not set)
// and where a finding about each would point, kept small: the workload's
// mark is shared by its containers, and only the container's own parts
// are kept beside it.
type memoryValues struct {
	workload    *model.LintFinding
	suppression *model.Suppression
	desc        string // `sidecar container "proxy"`
	request     memoryValue
	limit       memoryValue
}

type memoryValue struct {
	bytes        float64
	text, field  string
	line, column int32
}

// at is where a finding about the value points.
func (v *memoryValues) at(x memoryValue) model.LintFinding {
	lf := *v.workload
	lf.Field, lf.Line, lf.Column, lf.Suppression = x.field, int(x.line), int(x.column), v.suppression
	return lf
}

// who names the container and its workload, as describe does.
func (v *memoryValues) who() string {
	o := v.workload.Object
	name := o.Name
	if o.Namespace != "" {
		name = o.Namespace + "/" + name
	}
	return v.desc + " of " + o.Kind + " " + name
}

// CheckObject keeps each LimitRange's memory bounds on containers.
func (r *outsideLimitRange) CheckObject(_ *Context, o *manifest.Object) {
	if b, ok := LimitRangeBounds(o); ok {
		r.bounds[o.Namespace] = r.bounds[o.Namespace].Tighten(b)
	}
}

// LimitRangeBounds reads a LimitRange manifest's memory bounds on
// containers (recommend.BoundsOf), named with the object and where it is
// written; ok is false for any other object. One whose values do not
// parse bounds nothing (the API server would not take it).
func LimitRangeBounds(o *manifest.Object) (b recommend.Bounds, ok bool) {
	if o.Kind != "LimitRange" {
		return b, false
	}
	var lr corev1.LimitRange
	if !decodeObject(o, &lr) {
		return b, true
	}
	name := fmt.Sprintf("LimitRange %s (%s:%d)", o.Name, o.File, o.Node.Line)
	if o.Namespace != "" {
		name = fmt.Sprintf("LimitRange %s/%s (%s:%d)", o.Namespace, o.Name, o.File, o.Node.Line)
	}
	return recommend.BoundsOf(&lr).Named(name), true
}

// decodeObject decodes a manifest into its API type (false: it does not
// fit it, which the API server would refuse).
func decodeObject(o *manifest.Object, into any) bool {
	return decodeNode(o.Node, into)
}

// decodeNode decodes a YAML node as the API server reads JSON.
func decodeNode(n *yaml.Node, into any) bool {
	var m any
	if err := n.Decode(&m); err != nil {
		return false
	}
	data, err := json.Marshal(m)
	return err == nil && json.Unmarshal(data, into) == nil
}

// CheckWorkload keeps the containers' memory values for the end.
func (r *outsideLimitRange) CheckWorkload(ctx *Context, w *Workload) {
	var base *model.LintFinding
	for _, c := range w.Spec.AllContainers() {
		req, lim := c.Resources.MemoryRequest, c.Resources.MemoryLimit
		if c.Kind == manifest.EphemeralContainer || !req.Set() && !lim.Set() {
			continue
		}
		v := memoryValues{desc: c.Describe()}
		for _, x := range []struct {
			q   *manifest.Quantity
			out *memoryValue
		}{{req, &v.request}, {lim, &v.limit}} {
			if !x.q.Set() {
				continue
			}
			m := ctx.Mark(w.Object, x.q.Path, c.Name)
			if base == nil {
				base = &m
			}
			v.suppression = m.Suppression
			// A copy: the value is cut from the document's text, which a
			// kept substring would keep whole.
			*x.out = memoryValue{bytes: float64(x.q.Bytes()), text: strings.Clone(x.q.Text), field: m.Field, line: int32(m.Line), column: int32(m.Column)}
		}
		v.workload = base
		r.containers = append(r.containers, v)
	}
}

// Finish checks every container's memory request and limit against its
// namespace's bounds.
func (r *outsideLimitRange) Finish(ctx *Context) {
	for _, v := range r.containers {
		b, ok := r.bounds[v.workload.Object.Namespace]
		if !ok {
			continue
		}
		for _, x := range b.Breaches(v.request.bytes, v.limit.bytes) {
			at := v.limit
			if x.Field == "request" {
				at = v.request
			}
			ctx.ReportAt(v.at(at), fmt.Sprintf("%s has a memory %s of %s, %s: the API server refuses its pods (the %s itself is accepted, and its rollout stalls). To fix, %s.", v.who(), x.Field, at.text, x.Why, v.workload.Object.Kind, x.Fix))
		}
	}
}
