package alerts

import "fmt"

func init() {
	register(alert{
		name:    "ContainerOOMKilled",
		summary: "a container restarted after an OOM kill (resolves when the kills stop)",
		runbook: `The kernel OOM-killed the container: its cgroup's charge reached its memory limit and the kernel could not reclaim enough. The kubelet restarted it; repeated kills end in CrashLoopBackOff.
1. See every kill with its evidence: oomdoctor scan -n NAMESPACE.
2. Exit code 137 alone is not proof of an OOM (a failed liveness probe also kills with SIGKILL); this alert uses the OOMKilled reason.
3. If the limit is too low for the real peak, raise it: oomdoctor fix -f MANIFEST --from-peak PEAK, or measure the peak first with oomdoctor profile.
4. If usage keeps growing until each kill, it is a leak: a higher limit only spaces the kills.
5. Check heap settings against the limit (oomdoctor lint -f MANIFEST) and tmpfs (emptyDir medium Memory), which counts against the limit.
The alert resolves when the restart counter has not grown for the alert's window (for a pod that does not restart, restartPolicy Never as Jobs often have, when its termination is older than the window).`,
		// Restarts: the counter's rise, and the whole count of a pod
		// started within the window (a container killed before the first
		// scrape has a counter born at 1, which increase() never counts).
		// A container that does not restart (restartPolicy Never) is
		// terminated with the reason OOMKilled: it was not at the window's
		// start, and its pod's completion time (the last container's
		// finish) is within the window, which keeps a scrape gap from
		// looking like a new termination. Where kube_pod_completion_time is
		// dropped (kube-prometheus' default denylist), the first alone.
		build: func(q *query) Rule {
			keys, pod := q.containerKeys(), q.podKeys()
			restarts := "kube_pod_container_status_restarts_total" + q.sel(ksm)
			return Rule{
				Expr: fmt.Sprintf(`
(
  (
    sum by (%[1]s) (
      (%[3]s and on (%[2]s) (kube_pod_start_time%[4]s > time() - %[5]s))
      or increase(%[3]s[%[6]s])
    ) > 0
  )
  and on (%[1]s)
  (
    max by (%[1]s) (kube_pod_container_status_last_terminated_reason%[7]s) == 1
  )
)
or
(
  (
    (max by (%[1]s) (kube_pod_container_status_terminated_reason%[7]s) == 1)
    unless on (%[1]s)
    (max by (%[1]s) (kube_pod_container_status_terminated_reason%[7]s offset %[6]s) == 1)
  )
  and on (%[2]s)
  (
    (max by (%[2]s) (kube_pod_completion_time%[4]s) > time() - %[5]s)
    or
    (max by (%[2]s) (kube_pod_start_time%[4]s) unless on (%[2]s) max by (%[2]s) (kube_pod_completion_time%[4]s))
  )
)`, keys, pod, restarts, q.sel(ksm), num(q.o.OOMWindow.Seconds()), promDuration(q.o.OOMWindow), q.sel(ksm, `reason="OOMKilled"`)),
				Labels: map[string]string{"severity": "warning"},
				Annotations: map[string]string{
					"summary":     "Container " + q.container() + " was OOM-killed.",
					"description": "Container " + q.container() + " was OOM-killed in the last " + promDuration(q.o.OOMWindow) + " ({{ $value | printf \"%.0f\" }} restart(s) or termination, the last one OOMKilled): it reached its memory limit.",
				},
			}
		},
	})
}
