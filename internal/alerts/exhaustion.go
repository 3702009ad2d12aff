package alerts

import "fmt"

func init() {
	register(alert{
		name:    "ContainerMemoryExhaustionPredicted",
		summary: "a container's working set, growing as it does, reaches its memory limit within hours",
		runbook: `A linear fit of the container's working set over the recent window reaches its memory limit within the alert's horizon. Steady growth that does not level off is the signature of a leak (or of a cache without a bound).
1. Look at the working set over days: a sawtooth that resets at each restart is a leak; a climb that levels off is warm-up.
2. For a leak, find it (heap profile: pprof for Go, a heap dump for a JVM, heap snapshots for Node.js, tracemalloc or memray for Python); a higher limit only delays the kill.
3. For a cache, bound it, or give the container a limit above its full size.
4. Until then, a higher limit buys time: oomdoctor fix -f MANIFEST --memory-limit Q.`,
		build: func(q *query) Rule {
			keys := q.containerKeys()
			ws := q.containerSeries("container_memory_working_set_bytes")
			return Rule{
				Expr: fmt.Sprintf(`
(
  max by (%[1]s) (predict_linear(%[2]s[%[3]s], %[4]s))
>= on (%[1]s)
  %[5]s
)
and on (%[1]s)
(
  max by (%[1]s) (%[2]s)
/ on (%[1]s)
  %[5]s
) > 0.5`, keys, ws, promDuration(q.o.PredictWindow), num(q.o.PredictHours*3600), q.memoryLimits()),
				For:    "30m",
				Labels: map[string]string{"severity": "warning"},
				Annotations: map[string]string{
					"summary":     "Container " + q.container() + " will reach its memory limit within " + num(q.o.PredictHours) + "h at its current growth.",
					"description": "The working set of container " + q.container() + " grew over the last " + promDuration(q.o.PredictWindow) + " so that it reaches {{ $value | humanize1024 }}B in " + num(q.o.PredictHours) + "h, at or above its memory limit; it already uses more than half of it.",
				},
			}
		},
	})
}
