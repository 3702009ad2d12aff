package cli

import (
	"fmt"
	"math"

	"github.com/oomdoctor/oomdoctor/internal/manifest"
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
	var oldReq, newReq, newLim float64
	limited := true
	containers := s.containers[pickKey(w)]
	if m.Container != "" {
		containers = []string{m.Container}
	}
	for _, c := range containers {
		req, lim := s.current(w, c)
		oldReq += req
		nr, nl := req, lim
		for _, r := range items {
			if r.Workload == items[i].Workload && r.Container == c {
				nr, nl = float64(*r.MemoryRequestBytes), float64(*r.MemoryLimitBytes)
			}
		}
		newReq += nr
		newLim += nl
		limited = limited && nl > 0
	}
	what, per := "the pod's requests (its containers together)", "a pod"
	if m.Container != "" {
		what, per = "container "+m.Container+"'s request", "a container"
	}
	scales := fmt.Sprintf("%s scales %s on memory", h, w)
	var point float64
	switch {
	case m.Utilization > 0:
		point = float64(m.Utilization) / 100 * newReq
		scales += fmt.Sprintf(" at %d%% of %s", m.Utilization, what)
	default:
		point = float64(m.AverageValue)
		scales += fmt.Sprintf(" at an average of %s %s", mi(point), per)
	}
	if limited && newLim > 0 && point >= newLim {
		at, under := ",", fmt.Sprintf("an averageValue under %s", mi(newLim))
		if m.Utilization > 0 {
			at = fmt.Sprintf(": that is %s %s,", mi(point), per)
			under = fmt.Sprintf("an averageUtilization under %d%%", int(100*newLim/newReq))
		}
		return fmt.Sprintf("%s%s at or above the new limits (%s %s), which usage never passes: the containers are killed first, and it never adds replicas for memory; give it %s", scales, at, mi(newLim), per, under)
	}
	if m.Utilization == 0 || newReq == 0 {
		return ""
	}
	if oldReq == 0 {
		return fmt.Sprintf("%s, and has no request to take the share of now (it cannot compute the utilization): with the new requests (%s %s) it adds replicas past %s %s", scales, mi(newReq), per, mi(point), per)
	}
	if math.Abs(newReq-oldReq) < 0.01*oldReq {
		return ""
	}
	more, keep := keepPoint(float64(m.Utilization), oldReq, newReq)
	return fmt.Sprintf("%s: the new requests (%s %s, from %s) move the point it adds replicas at from %s to %s %s, so at today's usage it runs %s; to keep the point, set its averageUtilization to %d%%", scales, mi(newReq), per, mi(oldReq), mi(float64(m.Utilization)/100*oldReq), mi(point), per, more, keep)
}

// mi writes a size rounded to the Mi, as Kubernetes does ("384Mi",
// "1Gi").
func mi(b float64) string {
	return manifest.FormatBytes(int64(math.Round(b/(1<<20))) << 20)
}

// keepPoint says what new requests do to an HPA scaling at utilization
// percent of them (the replicas it runs at today's usage) and the
// utilization that keeps its point where the old requests put it.
func keepPoint(utilization, oldReq, newReq float64) (more string, keep int) {
	more = "fewer replicas, each under more load"
	if newReq < oldReq {
		more = "more replicas"
	}
	return more, max(1, int(math.Round(utilization*oldReq/newReq)))
}
