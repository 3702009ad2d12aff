package diagnose

import (
	"strings"

	"github.com/oomdoctor/oomdoctor/internal/model"
)

// notOOM fires for a container that died of SIGKILL (exit code 137)
// without the runtime reporting an OOM kill: exit 137 is not proof of an
// OOM. A failed liveness probe is the usual sender; reason Error with 137
// may also be containerd's race that misreports an OOM kill, which only
// the kernel's records settle.
type notOOM struct{}

func init() { register(notOOM{}) }

func (notOOM) ID() model.CauseID { return model.CauseNotOOM }

func (d notOOM) Detect(in *Input) (*model.Cause, string) {
	f := in.Finding
	if f.Type != model.NotOOM {
		return nil, ""
	}
	var ev []model.Evidence
	probe := false
	for _, e := range f.Evidence {
		if strings.Contains(e, "Liveness probe failed") || strings.Contains(e, "liveness") {
			probe = true
		}
		ev = append(ev, model.Evidence{What: "status", Value: e, At: f.LastKill, Source: "pod status and events"})
	}
	c := &model.Cause{Evidence: ev}
	for _, k := range in.KernelKills {
		if f.LastKill != nil && k.At.Sub(*f.LastKill).Abs() < 60e9 {
			// The kernel did kill it: not this cause.
			return nil, ""
		}
	}
	switch {
	case probe:
		c.Confidence, c.ConfidenceWhy = model.High, "failed liveness probes came right before the SIGKILL"
		c.Summary = "Not an OOM kill: the kubelet killed the container after its liveness probe failed (exit code 137 is SIGKILL, whoever sends it)."
		c.Fix = model.Fix{Text: "Fix the probe or what makes the process stop answering: a timeoutSeconds longer than the slowest healthy answer, a failureThreshold that rides out GC pauses and load, a startupProbe for slow starts. A higher memory limit will not help."}
	case f.Reason == "Error":
		c.Confidence, c.ConfidenceWhy = model.Low, "reason Error with exit 137 is also what containerd's race (containerd #8180, fixed 2025-12) reports for a real OOM kill"
		c.Summary = "The container got SIGKILL but the runtime did not say OOMKilled: a kill -9, a grace period that ran out, or an OOM kill that containerd misreported as Error."
		c.Fix = model.Fix{Text: "Run the oomdoctor node agent (or read the node's kernel log) to see whether the kernel killed it; check preStop hooks against terminationGracePeriodSeconds."}
	default:
		c.Confidence, c.ConfidenceWhy = model.Medium, "no OOM report from the runtime, and no failed probe either"
		c.Summary = "Not an OOM kill: the container got SIGKILL (exit 137) from something else: a grace period that ran out, a kill -9, the node shutting down."
		c.Fix = model.Fix{Text: "Look at who sends SIGKILL: preStop hooks against terminationGracePeriodSeconds, scripts or sidecars that kill -9, node shutdowns in the node's events."}
	}
	return c, ""
}
