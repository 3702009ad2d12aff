package cli

import (
	"fmt"
	"io"
	"math"

	"github.com/oomdoctor/oomdoctor/internal/fix"
	"github.com/oomdoctor/oomdoctor/internal/lint"
	"github.com/oomdoctor/oomdoctor/internal/manifest"
	"github.com/oomdoctor/oomdoctor/internal/workload"
)

// hpaFileWarnings check the files' HorizontalPodAutoscalers that scale a
// workload of the files on memory against the new values: new requests
// move a utilization target's point (the warning gives the target that
// keeps it), and new limits may leave a point no pod reaches (lint's
// hpa-memory-target-unreachable over fix's output). Like a quota, an HPA
// is judged over every file: it and its workload may be in different
// ones.
func hpaFileWarnings(w io.Writer, results []*fix.Result, cfg *lint.Config) {
	before, after, changed := lintable(results)
	if !changed || !holds(after, "HorizontalPodAutoscaler") {
		return
	}
	was, err := lint.HPAPoints(before)
	var now []lint.HPAPoint
	if err == nil {
		now, err = lint.HPAPoints(after)
	}
	if err != nil {
		fmt.Fprintf(w, "note: the files' HorizontalPodAutoscalers were not checked against the new values: %v\n", err)
		return
	}
	for _, p := range now {
		for _, q := range was {
			if q.File == p.File && q.HPA == p.HPA && q.Metric == p.Metric && math.Abs(float64(p.Requests-q.Requests)) >= 0.01*float64(q.Requests) {
				fmt.Fprintln(w, "warning: "+movedPoint(q, p))
			}
		}
	}
	warnWithNewValues(w, after, cfg.Only(lint.HPAMemoryRule), "HorizontalPodAutoscalers")
}

// movedPoint says how new requests move an HPA's point, from q to p.
func movedPoint(q, p lint.HPAPoint) string {
	what, per := "the pod's requests", "a pod"
	if p.Container != "" {
		what, per = "container "+p.Container+"'s request", "a container"
	}
	more, keep := workload.KeepPoint(float64(p.Utilization), float64(q.Requests), float64(p.Requests))
	return fmt.Sprintf("%s:%d: with the new values, %s adds replicas for %s at %s %s, not %s (%d%% of %s, now %s from %s): at today's usage it runs %s; set its averageUtilization to %d%% to keep the point",
		p.File, p.Line, p.HPA, p.Target, workload.Mi(float64(p.Utilization)/100*float64(p.Requests)), per, workload.Mi(float64(q.Utilization)/100*float64(q.Requests)), p.Utilization, what, manifest.FormatBytes(p.Requests), manifest.FormatBytes(q.Requests), more, keep)
}
