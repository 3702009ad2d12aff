package fix

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/oomdoctor/oomdoctor/internal/manifest"
	"github.com/oomdoctor/oomdoctor/internal/recommend"
)

// Outside checks the edits of every result against the LimitRanges of all
// of them (a LimitRange of the namespace as written; none on both sides
// matches too, as lint's memory-outside-limitrange does): the API server
// would refuse the pods of a workload written outside them, though it
// takes the workload. It returns, for each result with such an edit, what
// is outside and why.
func Outside(results []*Result) map[*Result][]string {
	bounds := map[string]recommend.Bounds{}
	for _, r := range results {
		for ns, b := range r.LimitRanges {
			bounds[ns] = bounds[ns].Tighten(b)
		}
	}
	if len(bounds) == 0 {
		return nil
	}
	out := map[*Result][]string{}
	for _, r := range results {
		for _, oe := range r.Objects {
			b, ok := bounds[oe.Object.Namespace]
			if !ok {
				continue
			}
			w, ok := manifest.AsWorkload(oe.Object)
			if !ok {
				continue
			}
			for _, c := range w.Spec.AllContainers() {
				req, lim, edited := afterEdits(c, oe.Edits)
				if !edited {
					continue
				}
				for _, x := range b.Breaches(req, lim) {
					v := lim
					if x.Field == "request" {
						v = req
					}
					out[r] = append(out[r], fmt.Sprintf("%s %s: the new memory %s %s is %s, so the API server would refuse its pods; %s", oe.Object, c.Describe(), x.Field, manifest.FormatBytes(int64(v)), x.Why, x.Fix))
				}
			}
		}
	}
	return out
}

// afterEdits is a container's memory request and limit once the edits are
// made (0: not set), and whether the edits set either.
func afterEdits(c *manifest.Container, edits []manifest.Edit) (req, lim float64, edited bool) {
	req, lim = float64(c.Resources.MemoryRequest.Bytes()), float64(c.Resources.MemoryLimit.Bytes())
	for _, e := range edits {
		var to *float64
		switch e.Path {
		case c.Resources.Path + ".requests.memory":
			to = &req
		case c.Resources.Path + ".limits.memory":
			to = &lim
		default:
			continue
		}
		if e.Op != manifest.OpSet {
			continue
		}
		if q, err := resource.ParseQuantity(e.Value); err == nil {
			*to, edited = float64(q.Value()), true
		}
	}
	return req, lim, edited
}
