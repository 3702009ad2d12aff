package lint

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/oomdoctor/oomdoctor/internal/manifest"
	"github.com/oomdoctor/oomdoctor/internal/workload"
)

const ruleVPAHPA = "vpa-hpa-memory-conflict"

func init() {
	register(func(*Config) Rule {
		return &vpaHPA{rule: rule{ruleVPAHPA, "error", "A VPA that updates memory and an HPA that scales on memory target the same workload"}}
	})
}

// vpaHPA collects VPAs and HPAs as they stream by and pairs them at the end.
type vpaHPA struct {
	rule
	vpas, hpas []*scaler
}

type scaler struct {
	obj    *manifest.Object
	target string // namespace/Kind/name
	detail string
	path   string
}

// CheckObject keeps VPAs in an updating mode that control memory, and HPAs
// with a memory metric.
func (r *vpaHPA) CheckObject(_ *Context, o *manifest.Object) {
	switch o.Kind {
	case "VerticalPodAutoscaler":
		// Read as the API gives it (workload.VPAOf, as recommend and scan
		// read VPAs). Only the modes that change running pods conflict
		// with an HPA (Initial sets new pods only), and only when the
		// policy of every container ("*") leaves memory to the VPA.
		var m map[string]any
		if !decodeNode(o.Node, &m) {
			return
		}
		v, err := workload.VPAOf(&unstructured.Unstructured{Object: m})
		if err != nil || v.Mode != "Auto" && v.Mode != "Recreate" && v.Mode != "InPlaceOrRecreate" {
			return
		}
		if sets, _ := v.Sets("*"); !sets {
			return
		}
		r.vpas = append(r.vpas, &scaler{obj: o, target: o.Namespace + "/" + v.Target.Kind + "/" + v.Target.Name, detail: "updateMode " + v.Mode, path: "spec.updatePolicy.updateMode"})
	case "HorizontalPodAutoscaler":
		spec := manifest.Child(o.Node, "spec")
		for i, m := range manifest.Items(manifest.Child(spec, "metrics")) {
			typ := manifest.ScalarValue(manifest.Child(m, "type"))
			var res *yamlNode
			switch typ {
			case "Resource":
				res = manifest.Child(m, "resource")
			case "ContainerResource":
				res = manifest.Child(m, "containerResource")
			}
			if manifest.ScalarValue(manifest.Child(res, "name")) == "memory" {
				r.hpas = append(r.hpas, &scaler{obj: o, target: targetKey(o, manifest.Child(spec, "scaleTargetRef")), detail: "a " + strings.ToLower(typ[:1]) + typ[1:] + " metric on memory", path: manifest.IndexPath("spec.metrics", i)})
				return
			}
		}
	}
}

func targetKey(o *manifest.Object, ref *yamlNode) string {
	return o.Namespace + "/" + manifest.ScalarValue(manifest.Child(ref, "kind")) + "/" + manifest.ScalarValue(manifest.Child(ref, "name"))
}

// Finish reports every VPA whose target an HPA scales on memory.
func (r *vpaHPA) Finish(ctx *Context) {
	for _, v := range r.vpas {
		for _, h := range r.hpas {
			if v.target != h.target {
				continue
			}
			parts := strings.SplitN(v.target, "/", 3)
			ctx.Report(Finding{Object: v.obj, Path: v.path,
				Message: fmt.Sprintf("%s (%s) and %s (%s, %s:%d) both act on the memory of %s/%s: the VPA raises memory requests while the HPA adds pods when memory per pod is high, so they chase each other, and pods restart or scale with the wrong size. Let the HPA scale on CPU or a custom metric, or set the VPA to updateMode \"Off\" (recommendations only) or exclude memory from its controlledResources.", v.obj, v.detail, h.obj, h.detail, h.obj.File, lineOf(h), parts[1], parts[2])})
		}
	}
}

func lineOf(s *scaler) int {
	n, _ := manifest.Lookup(s.obj.Node, s.path)
	return n.Line
}
