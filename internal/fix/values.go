package fix

import (
	"fmt"
	"maps"
	"math"
	"os"
	"slices"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"

	"github.com/oomdoctor/oomdoctor/internal/manifest"
	"github.com/oomdoctor/oomdoctor/internal/model"
	"github.com/oomdoctor/oomdoctor/internal/recommend"
)

// Explicit gives the same request and limit to the chosen container of
// every workload: the one named, or the only regular container.
type Explicit struct {
	Container string
	Target    Target
}

// For implements Values.
func (e Explicit) For(w *manifest.Workload) (map[string]Target, error) {
	name, err := pickContainer(w, e.Container)
	if err != nil {
		return nil, err
	}
	return map[string]Target{name: e.Target}, nil
}

// pickContainer returns the named container, or the workload's only
// regular container.
func pickContainer(w *manifest.Workload, name string) (string, error) {
	if name != "" {
		if findContainer(w.Spec, name) == nil {
			return "", fmt.Errorf("no container %q (containers: %s)", name, strings.Join(containerNames(w.Spec), ", "))
		}
		return name, nil
	}
	if len(w.Spec.Containers) == 1 {
		return w.Spec.Containers[0].Name, nil
	}
	return "", fmt.Errorf("it has %d containers (%s): say which with --container", len(w.Spec.Containers), strings.Join(containerNames(w.Spec), ", "))
}

// FromPeak is the rule of thumb of the troubleshooting guide users start
// from: a limit of factor times the observed peak, a request near the
// average (the peak when no average is known).
type FromPeak struct {
	Container     string
	Peak, Average int64
	Factor        float64
}

// Target computes the request and limit.
func (p FromPeak) Target() Target {
	limit := RoundUp(int64(math.Ceil(float64(p.Peak) * p.Factor)))
	req := p.Average
	why := fmt.Sprintf("%.2gx the peak of %s", p.Factor, manifest.FormatBytes(p.Peak))
	if req == 0 {
		req = p.Peak
	}
	req = RoundUp(req)
	if req > limit {
		req = limit
	}
	// The scheduler reserves only the request: one far below the limit
	// (an average under a short spike) overcommits the node, and lint's
	// memory-request-far-below-limit flags it. Raised as recommend does.
	if low := RoundUp(int64(math.Ceil(float64(limit) / model.MaxLimitRequestRatio))); req < low {
		what := "the average " + manifest.FormatBytes(req)
		if p.Average == 0 {
			what = "the peak " + manifest.FormatBytes(req)
		}
		why += fmt.Sprintf(", the request raised to the limit / %g (%s is %.0fx under the limit)", float64(model.MaxLimitRequestRatio), what, float64(limit)/float64(req))
		req = low
	}
	// A container's cgroup holds the runtime's own start (runc init)
	// too: nothing under the floor runs, whatever the command's peak.
	if floor := int64(recommend.Base().Floor); limit < floor {
		limit, req = floor, floor
		why += fmt.Sprintf(", raised to the floor %s (%s)", manifest.FormatBytes(floor), recommend.Base().FloorWhy)
	}
	return Target{Request: &req, Limit: &limit, Why: why}
}

// For implements Values.
func (p FromPeak) For(w *manifest.Workload) (map[string]Target, error) {
	return Explicit{Container: p.Container, Target: p.Target()}.For(w)
}

// RoundUp rounds a size up to whole MiB.
func RoundUp(b int64) int64 {
	const step = 1 << 20
	return (b + step - 1) / step * step
}

// FromRecommendations gives each container what a Recommendations document
// says for it.
type FromRecommendations struct {
	items []model.Recommendation
	byKey map[string]model.Recommendation
	mu    sync.Mutex // over used: fix --apply --parallel sizes objects at once
	used  map[string]bool
	// Quotas are the document's checks of the namespaces' quotas.
	Quotas []model.QuotaCheck
}

// LoadRecommendations reads `oomdoctor recommend -o json` (or `-o yaml`)
// output.
func LoadRecommendations(path string) (*FromRecommendations, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseRecommendations(path, data)
}

// ParseRecommendations reads a Recommendations document named path (in
// messages) from data: standard input's, say.
func ParseRecommendations(path string, data []byte) (*FromRecommendations, error) {
	var recs model.Recommendations
	if err := yaml.Unmarshal(data, &recs); err != nil {
		return nil, fmt.Errorf("%s: not a Recommendations document (oomdoctor recommend -o json or -o yaml writes one): %v", path, err)
	}
	if recs.Kind != model.RecommendationsKind {
		return nil, fmt.Errorf("%s: kind is %q, want %s (oomdoctor recommend -o json or -o yaml writes one)", path, recs.Kind, model.RecommendationsKind)
	}
	first := map[string]int{}
	for i, r := range recs.Items {
		if err := checkRecommendation(r); err != nil {
			return nil, fmt.Errorf("%s: items[%d]: %w; nothing was changed", path, i, err)
		}
		// Two items for one container (documents joined, one edited):
		// the same sizes are one item; different ones are for the user
		// to choose, not for the last to win unsaid.
		key := recKey(r.Workload.Namespace, r.Workload.Kind, r.Workload.Name, r.Container)
		j, seen := first[key]
		if !seen {
			first[key] = i
			continue
		}
		if p := recs.Items[j]; !sameSize(p.MemoryRequestBytes, r.MemoryRequestBytes) || !sameSize(p.MemoryLimitBytes, r.MemoryLimitBytes) {
			return nil, fmt.Errorf("%s: items[%d] and items[%d] both size %s, differently (%s; %s): keep one; nothing was changed", path, j, i, RecName(p), sizes(p), sizes(r))
		}
	}
	return NewFromRecommendations(recs), nil
}

// checkRecommendation refuses an item fix cannot write as it stands (a
// document edited by hand, or by another tool): one that names no
// container, a size that is not a positive number of bytes or too small
// for any container (Mi read as bytes), a request above the limit.
func checkRecommendation(r model.Recommendation) error {
	if r.Workload.Kind == "" || r.Workload.Name == "" || r.Container == "" {
		return fmt.Errorf("workload {kind: %q, name: %q}, container %q: each item names its workload's kind and name, and the container", r.Workload.Kind, r.Workload.Name, r.Container)
	}
	name := RecName(r)
	for _, v := range []struct {
		field string
		b     *int64
	}{{"memoryRequestBytes", r.MemoryRequestBytes}, {"memoryLimitBytes", r.MemoryLimitBytes}} {
		switch {
		case v.b == nil:
		case *v.b <= 0:
			return fmt.Errorf("%s: %s %d: want a positive number of bytes", name, v.field, *v.b)
		case *v.b < 4<<20:
			return fmt.Errorf("%s: %s %d is %d bytes, too small for any container: the field is in bytes (%d for %dMi)", name, v.field, *v.b, *v.b, *v.b<<20, *v.b)
		}
	}
	if r.MemoryRequestBytes != nil && r.MemoryLimitBytes != nil && *r.MemoryRequestBytes > *r.MemoryLimitBytes {
		return fmt.Errorf("%s: memoryRequestBytes %d (%s) is above memoryLimitBytes %d (%s): the API server refuses a request above the limit", name, *r.MemoryRequestBytes, manifest.FormatBytes(*r.MemoryRequestBytes), *r.MemoryLimitBytes, manifest.FormatBytes(*r.MemoryLimitBytes))
	}
	return nil
}

// RecName names a recommendation's container: Deployment shop/api
// container app.
func RecName(r model.Recommendation) string {
	if r.Workload.Namespace == "" {
		return fmt.Sprintf("%s %s container %s", r.Workload.Kind, r.Workload.Name, r.Container)
	}
	return fmt.Sprintf("%s %s/%s container %s", r.Workload.Kind, r.Workload.Namespace, r.Workload.Name, r.Container)
}

func sameSize(a, b *int64) bool { return a == nil && b == nil || a != nil && b != nil && *a == *b }

// sizes writes an item's request and limit: request 128Mi, limit 256Mi.
func sizes(r model.Recommendation) string {
	size := func(b *int64) string {
		if b == nil {
			return "none"
		}
		return manifest.FormatBytes(*b)
	}
	return "request " + size(r.MemoryRequestBytes) + ", limit " + size(r.MemoryLimitBytes)
}

// NewFromRecommendations gives each container what recs says for it.
func NewFromRecommendations(recs model.Recommendations) *FromRecommendations {
	f := &FromRecommendations{items: recs.Items, byKey: map[string]model.Recommendation{}, used: map[string]bool{}, Quotas: recs.Quotas}
	for _, r := range recs.Items {
		f.byKey[recKey(r.Workload.Namespace, r.Workload.Kind, r.Workload.Name, r.Container)] = r
	}
	return f
}

// Workloads are the document's workloads, each once, in its order.
func (f *FromRecommendations) Workloads() []model.WorkloadRef {
	seen := map[model.WorkloadRef]bool{}
	var out []model.WorkloadRef
	for _, r := range f.items {
		if !seen[r.Workload] {
			seen[r.Workload] = true
			out = append(out, r.Workload)
		}
	}
	return out
}

func recKey(ns, kind, name, container string) string {
	return ns + "/" + strings.ToLower(kind) + "/" + name + "/" + container
}

// For implements Values: workloads without recommendations are left alone.
func (f *FromRecommendations) For(w *manifest.Workload) (map[string]Target, error) {
	out := map[string]Target{}
	for _, c := range w.Spec.AllContainers() {
		key := recKey(w.Namespace, w.Kind, w.Name, c.Name)
		r, ok := f.byKey[key]
		if !ok && w.Namespace == "" {
			// A manifest without namespace matches a recommendation in
			// any namespace only when there is one such.
			key, r, ok = f.anyNamespace(w.Kind, w.Name, c.Name)
		}
		if !ok && w.Namespace != "" {
			// A recommendation without namespace (written by hand) is
			// for the workload of that name in any namespace.
			key = recKey("", w.Kind, w.Name, c.Name)
			r, ok = f.byKey[key]
		}
		if !ok {
			continue
		}
		f.mu.Lock()
		f.used[key] = true
		f.mu.Unlock()
		why := "recommended"
		if len(r.Reasons) > 0 {
			why = r.Reasons[0]
		}
		out[c.Name] = Target{Request: r.MemoryRequestBytes, Limit: r.MemoryLimitBytes, Why: why}
	}
	return out, nil
}

func (f *FromRecommendations) anyNamespace(kind, name, container string) (string, model.Recommendation, bool) {
	var found []string
	suffix := "/" + strings.ToLower(kind) + "/" + name + "/" + container
	for k := range f.byKey {
		if strings.HasSuffix(k, suffix) {
			found = append(found, k)
		}
	}
	if len(found) == 1 {
		return found[0], f.byKey[found[0]], true
	}
	return "", model.Recommendation{}, false
}

// Len is how many recommendations there are.
func (f *FromRecommendations) Len() int { return len(f.byKey) }

// Of are the recommendations for a workload's containers, by container
// name order.
func (f *FromRecommendations) Of(namespace, kind, name string) []model.Recommendation {
	var out []model.Recommendation
	for _, ns := range []string{namespace, ""} {
		prefix := recKey(ns, kind, name, "")
		for _, k := range slices.Sorted(maps.Keys(f.byKey)) {
			if strings.HasPrefix(k, prefix) {
				out = append(out, f.byKey[k])
			}
		}
		if len(out) > 0 || namespace == "" {
			break
		}
	}
	return out
}

// Used are the recommendations a container matched (in the manifests
// read so far, or in the cluster), in a stable order.
func (f *FromRecommendations) Used() []model.Recommendation {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []model.Recommendation
	for _, k := range slices.Sorted(maps.Keys(f.used)) {
		out = append(out, f.byKey[k])
	}
	return out
}

// Unused are the recommendations no container of the manifests read so
// far matched, in a stable order: a namespace or a name that differs from
// the manifests', or files left out of -f.
func (f *FromRecommendations) Unused() []model.Recommendation {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []model.Recommendation
	for _, k := range slices.Sorted(maps.Keys(f.byKey)) {
		if !f.used[k] {
			out = append(out, f.byKey[k])
		}
	}
	return out
}

// quantityBytes parses a quantity as a number of bytes.
func quantityBytes(s string) (int64, bool) {
	q, err := resource.ParseQuantity(s)
	if err != nil {
		return 0, false
	}
	return q.Value(), true
}
