package alerts

import "fmt"

func init() {
	register(alert{
		name:    "ContainerMemoryNearLimit",
		summary: "a container's working set stays above a share of its memory limit",
		runbook: `The container's working set (what kubectl top and the kubelet's eviction see) has stayed close to its memory limit. When its charge (working set plus active page cache, tmpfs) reaches the limit the kernel OOM-kills a process in it.
1. Check whether usage grows without bound (a leak) or sits at a plateau: oomdoctor profile or the container_memory_working_set_bytes graph over days.
2. For a plateau, raise the limit above the real peak: oomdoctor fix -f MANIFEST --from-peak PEAK (limit 1.5x the peak).
3. For a JVM, Go, Node.js or .NET process, check that its heap setting fits inside the limit: oomdoctor lint -f MANIFEST.
4. A working set well under the limit can still end in an OOM when tmpfs (emptyDir medium Memory) or dirty page cache is large: check container_memory_usage_bytes too.`,
		build: func(q *query) Rule {
			return Rule{
				Expr: fmt.Sprintf(`
(
  max by (%[1]s) (%[2]s)
/ on (%[1]s)
  %[3]s
) > %[4]s`, q.containerKeys(), q.containerSeries("container_memory_working_set_bytes"), q.memoryLimits(), num(q.o.WorkingSetShare)),
				For:    promDuration(q.o.NearLimitFor),
				Labels: map[string]string{"severity": "warning"},
				Annotations: map[string]string{
					"summary":     "Container " + q.container() + " is close to its memory limit.",
					"description": "Container " + q.container() + " has used {{ $value | humanizePercentage }} of its memory limit for " + promDuration(q.o.NearLimitFor) + " (threshold " + num(q.o.WorkingSetShare*100) + "%). At the limit the kernel OOM-kills it.",
				},
			}
		},
	})
}
