package diagnose

import (
	"fmt"
	"path"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/oomdoctor/oomdoctor/internal/model"
)

// extraProcesses fires when memory went to processes other than the
// container's main one: the kernel killed a child process while PID 1
// lived on (the pod status never shows it), the victim was not the main
// program, the pod's own limit was hit with other containers holding
// memory, or the kill hit the node while containers of the pod ran
// without limits.
type extraProcesses struct{}

func init() { register(extraProcesses{}) }

func (extraProcesses) ID() model.CauseID { return model.CauseExtraProcesses }

func (d extraProcesses) Detect(in *Input) (*model.Cause, string) {
	f := in.Finding
	if f.Type == model.NotOOM || f.Type == model.Eviction {
		return nil, ""
	}
	var ev []model.Evidence
	conf, why := model.Confidence(""), ""
	raise := func(c model.Confidence, w string) {
		if c.Rank() > conf.Rank() {
			conf, why = c, w
		}
	}
	if f.Type == model.KernelOOMKill && f.Pod == "" {
		raise(model.Medium, "the kernel killed a process that no container status reports")
		ev = append(ev, model.Evidence{What: "victim", Value: fmt.Sprintf("%s (pid %d): no container on node %s reports an OOM kill then, so it was a child process whose container lives on, or a process outside Kubernetes", orDefault(f.Process, "a process"), f.PID, f.Node), At: f.LastKill, Source: "kernel log (node-problem-detector)"})
	}
	victims := map[string]int{}
	for _, k := range in.KernelKills {
		if k.Container != "" && k.Container != f.Container {
			continue
		}
		if k.VictimName != "" {
			victims[k.VictimName]++
		}
		switch {
		case k.MainProcess == "false":
			raise(model.High, "the kernel killed a process that was not the container's main one")
			ev = append(ev, model.Evidence{What: "child process killed", Value: fmt.Sprintf("%s (pid %d, anon-rss %s) while the container's main process lived on: its status shows nothing", k.VictimName, k.VictimPID, size(float64(k.AnonRSSBytes))), At: &k.At, Source: "node agent (kernel OOM report)"})
		case k.Scope == "pod":
			raise(model.Medium, "the pod's limit, shared by its containers, was hit")
			ev = append(ev, model.Evidence{What: "kill scope pod", Value: fmt.Sprintf("the pod's limit %s was hit (usage %s): every container's memory counts", size(float64(k.LimitBytes)), size(float64(k.UsageBytes))), At: &k.At, Source: "node agent (kernel OOM report)"})
		}
	}
	if len(victims) > 1 {
		var names []string
		for n, c := range victims {
			names = append(names, fmt.Sprintf("%s (%d)", n, c))
		}
		sort.Strings(names)
		raise(model.Medium, "the kernel chose different processes in the same container")
		ev = append(ev, model.Evidence{What: "processes killed", Value: strings.Join(names, ", "), Source: "node agent (kernel OOM report)"})
	}
	if f.Process != "" {
		if main := in.mainProgram(); main != "" && !strings.HasPrefix(f.Process, main) && !strings.HasPrefix(main, f.Process) {
			raise(model.Medium, "the process the kernel killed is not the container's main program")
			ev = append(ev, model.Evidence{What: "victim", Value: fmt.Sprintf("%s (pid %d), while the container runs %s", f.Process, f.PID, main), At: f.LastKill, Source: "kernel OOM report"})
		}
	}
	// Other containers of the pod: how much they held at the kill.
	if in.History != nil && len(in.History.Siblings) > 0 {
		for _, k := range in.kills() {
			var parts []string
			total := 0.0
			for name, ps := range in.History.Siblings {
				if v := peak(window(ps, k.T-in.preKill(), k.T)); v > 0 {
					total += v
					parts = append(parts, fmt.Sprintf("%s %s", name, size(v)))
				}
			}
			own := peak(window(in.History.WorkingSet, k.T-in.preKill(), k.T))
			limit := in.limit()
			if total > 0 && own > 0 && total >= 0.5*own && (limit == 0 || own < nearLimit*limit) {
				sort.Strings(parts)
				raise(model.Low, "other containers held much memory while this one was under its own limit")
				ev = append(ev, model.Evidence{What: "other containers at the kill", Value: fmt.Sprintf("%s (this one %s)", strings.Join(parts, ", "), size(own)), At: ts(k.T), Source: in.History.Source})
				break
			}
		}
	}
	if in.Pod != nil && f.Type == model.SystemOOM {
		if un := unlimited(in.Pod); len(un) > 0 {
			raise(model.Low, "containers without a memory limit can take the node's memory")
			ev = append(ev, model.Evidence{What: "containers without a memory limit", Value: strings.Join(un, ", "), Source: "pod spec"})
		}
	}
	if conf == "" {
		if len(in.KernelKills) == 0 && in.isOOM() {
			return nil, "the node agent's kernel records (oomdoctor agent), to see which process was killed and whose limit was hit"
		}
		return nil, ""
	}
	c := &model.Cause{Confidence: conf, ConfidenceWhy: why, Evidence: ev,
		Summary: "Memory went to processes other than the container's main program: child processes, workers, or the pod's other containers.",
		Fix:     model.Fix{Text: "Give each container a limit sized to its own usage; run heavy helpers in their own container; bound worker counts and their memory (e.g. gunicorn --workers, --max-requests; a job's parallelism)."}}
	return c, ""
}

// mainProgram is the base name of the container's first command word
// ("" when unknown).
func (in *Input) mainProgram() string {
	c := in.container()
	if c == nil {
		return ""
	}
	words := append(append([]string(nil), c.Command...), c.Args...)
	for _, w := range strings.Fields(strings.Join(words, " ")) {
		b := path.Base(w)
		if b == "sh" || b == "bash" || b == "exec" || b == "dumb-init" || b == "tini" || strings.HasPrefix(b, "-") {
			continue
		}
		if len(b) > 15 {
			b = b[:15] // the kernel's comm is 15 characters
		}
		return b
	}
	return ""
}

func unlimited(p *corev1.Pod) []string {
	var out []string
	for _, c := range p.Spec.Containers {
		if _, ok := c.Resources.Limits[corev1.ResourceMemory]; !ok {
			out = append(out, c.Name)
		}
	}
	for _, c := range p.Spec.InitContainers {
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			if _, ok := c.Resources.Limits[corev1.ResourceMemory]; !ok {
				out = append(out, c.Name+" (sidecar)")
			}
		}
	}
	return out
}
