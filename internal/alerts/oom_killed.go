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
The alert resolves when the restart counter has not grown for the alert's window.`,
		build: func(q *query) Rule {
			keys := q.containerKeys()
			return Rule{
				Expr: fmt.Sprintf(`
(
  sum by (%[1]s) (increase(kube_pod_container_status_restarts_total%[2]s[%[3]s])) > 0
)
and on (%[1]s)
(
  max by (%[1]s) (kube_pod_container_status_last_terminated_reason%[4]s) == 1
)`, keys, q.sel(ksm), promDuration(q.o.OOMWindow), q.sel(ksm, `reason="OOMKilled"`)),
				Labels: map[string]string{"severity": "warning"},
				Annotations: map[string]string{
					"summary":     "Container " + q.container() + " was OOM-killed.",
					"description": "Container " + q.container() + " restarted {{ $value | printf \"%.0f\" }} time(s) in the last " + promDuration(q.o.OOMWindow) + " and its last termination was OOMKilled: it reached its memory limit.",
				},
			}
		},
	})
}
