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
	for i := range items {
		w := items[i].Workload
		if w.Kind == "Pod" {
			w = s.owners[w.Namespace+"/"+w.Name]
		}
		for _, h := range s.hpas[pickKey(w)] {
			for _, m := range h.Memory {
				if m.Container != "" && m.Container != items[i].Container {
					continue
				}
				if m.Container == "" && !s.firstOf(w, items, i) {
					continue // the pod's metric: said once, on its first container
				}
				if msg := s.hpaWarning(h, m, w, items, i); msg != "" {
					items[i].Warnings = append(items[i].Warnings, msg)
				}
			}
		}
	}
}

// firstOf says whether items[i] is the first recommendation of w's
// containers (the one a pod-wide warning goes on).
func (s *specs) firstOf(w model.WorkloadRef, items []model.Recommendation, i int) bool {
	for j := range i {
		o := items[j].Workload
		if o.Kind == "Pod" {
			o = s.owners[o.Namespace+"/"+o.Name]
		}
		if o == w && items[j].Workload == items[i].Workload {
			return false
		}
	}
	return true
}

// hpaWarning is the warning for one memory metric of h on w; "" when the
// new values leave it as it is.
func (s *specs) hpaWarning(h workload.HPA, m workload.HPAMemory, w model.WorkloadRef, items []model.Recommendation, i int) string {
	// The requests and limits the metric reads, now and recommended: the
	// pod's containers together, or the one container.
	ch := workload.MemoryChange{Limited: true}
	containers := s.containers[pickKey(w)]
	if m.Container != "" {
		containers = []string{m.Container}
	}
	for _, c := range containers {
		req, lim := s.current(w, c)
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
