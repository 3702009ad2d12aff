package cli

import (
	"github.com/oomdoctor/oomdoctor/internal/model"
	"github.com/oomdoctor/oomdoctor/internal/workload"
)

// hpaWarnings warn, on the recommendations of a workload that a
// HorizontalPodAutoscaler scales on memory, of what the new values do to
// it. On utilization the HPA adds replicas when usage passes a share of
// the requests (the pod's containers together, or one container's):
// new requests move that point, so at the same usage it runs fewer
// replicas (a higher request) or more; the warning gives the target that
// keeps the point where it is. A point at or above the new limits (a
// utilization over 100%, or an averageValue) is one the containers are
// killed before they reach: the HPA never scales on memory.
func (s *specs) hpaWarnings(items []model.Recommendation) {
	if s == nil || len(s.hpas) == 0 {
		return
	}
	hpaIndex{
		hpas: s.hpas,
		owner: func(w model.WorkloadRef) model.WorkloadRef {
			if w.Kind == "Pod" {
				return s.owners[w.Namespace+"/"+w.Name]
			}
			return w
		},
		containers: func(w model.WorkloadRef) []string { return s.containers[pickKey(w)] },
		current:    s.current,
	}.warn(items)
}

// promHPAWarnings are hpaWarnings without specs: the HPAs kube-state-metrics
// exports, and each workload's containers and current requests those of
// its recommendations (kube-state-metrics' too). A pod's containers
// without usage history are not counted; per pod, nothing is said (the
// pods' owners are not known here).
func promHPAWarnings(hpas []workload.HPA, items []model.Recommendation) {
	if len(hpas) == 0 {
		return
	}
	byTarget := map[string][]workload.HPA{}
	for _, h := range hpas {
		byTarget[pickKey(h.Target)] = append(byTarget[pickKey(h.Target)], h)
	}
	containers := map[string][]string{}
	current := map[string][2]float64{}
	for _, r := range items {
		containers[pickKey(r.Workload)] = append(containers[pickKey(r.Workload)], r.Container)
		var req, lim float64
		if r.CurrentRequestBytes != nil {
			req = float64(*r.CurrentRequestBytes)
		}
		if r.CurrentLimitBytes != nil {
			lim = float64(*r.CurrentLimitBytes)
		}
		current[specKey(r.Workload, r.Container)] = [2]float64{req, lim}
	}
	hpaIndex{
		hpas:       byTarget,
		owner:      func(w model.WorkloadRef) model.WorkloadRef { return w },
		containers: func(w model.WorkloadRef) []string { return containers[pickKey(w)] },
		current: func(w model.WorkloadRef, c string) (float64, float64) {
			x := current[specKey(w, c)]
			return x[0], x[1]
		},
	}.warn(items)
}

// hpaIndex is what the HPA warnings need: the HPAs by the workload they
// scale (pickKey), a recommendation's workload (a pod's owner), a
// workload's containers and a container's current request and limit.
type hpaIndex struct {
	hpas       map[string][]workload.HPA
	owner      func(model.WorkloadRef) model.WorkloadRef
	containers func(model.WorkloadRef) []string
	current    func(w model.WorkloadRef, container string) (request, limit float64)
}

func (x hpaIndex) warn(items []model.Recommendation) {
	for i := range items {
		w := x.owner(items[i].Workload)
		for _, h := range x.hpas[pickKey(w)] {
			for _, m := range h.Memory {
				if m.Container != "" && m.Container != items[i].Container {
					continue
				}
				if m.Container == "" && !x.firstOf(w, items, i) {
					continue // the pod's metric: said once, on its first container
				}
				if msg := x.warning(h, m, w, items, i); msg != "" {
					items[i].Warnings = append(items[i].Warnings, msg)
				}
			}
		}
	}
}

// firstOf says whether items[i] is the first recommendation of w's
// containers (the one a pod-wide warning goes on).
func (x hpaIndex) firstOf(w model.WorkloadRef, items []model.Recommendation, i int) bool {
	for j := range i {
		if x.owner(items[j].Workload) == w && items[j].Workload == items[i].Workload {
			return false
		}
	}
	return true
}

// warning is the warning for one memory metric of h on w; "" when the
// new values leave it as it is.
func (x hpaIndex) warning(h workload.HPA, m workload.HPAMemory, w model.WorkloadRef, items []model.Recommendation, i int) string {
	// The requests and limits the metric reads, now and recommended: the
	// pod's containers together, or the one container.
	ch := workload.MemoryChange{Limited: true}
	containers := x.containers(w)
	if m.Container != "" {
		containers = []string{m.Container}
	}
	for _, c := range containers {
		req, lim := x.current(w, c)
		ch.OldRequest += req
		nr, nl := req, lim
		for _, r := range items {
			if r.Workload == items[i].Workload && r.Container == c {
				nr, nl = float64(*r.MemoryRequestBytes), float64(*r.MemoryLimitBytes)
			}
		}
		ch.NewRequest += nr
		ch.NewLimit += nl
		ch.Limited = ch.Limited && nl > 0
	}
	h.Target = w
	return h.Warning(m, ch)
}
