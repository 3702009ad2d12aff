package alerts

import (
	"fmt"
	"strings"
)

// query writes the pieces the alerts' expressions share: selectors with the
// configured matchers, aggregation clauses with the configured labels,
// template references to labels.
type query struct{ o Options }

type source int

const (
	cadvisor source = iota
	ksm
	agent
)

// sel writes {base..., --selector..., the source's selector...}.
func (q *query) sel(src source, base ...string) string {
	all := append([]string(nil), base...)
	global, _ := matchers(q.o.Selector)
	all = append(all, global...)
	own := map[source]string{cadvisor: q.o.CadvisorSelector, ksm: q.o.KSMSelector, agent: q.o.AgentSelector}[src]
	m, _ := matchers(own)
	all = append(all, m...)
	if len(all) == 0 {
		return ""
	}
	return "{" + strings.Join(all, ", ") + "}"
}

// containerSeries selects cAdvisor's per-container series (not the pod's
// cgroup, not the pause container).
func (q *query) containerSeries(metric string) string {
	c := q.o.ContainerLabel
	return metric + q.sel(cadvisor, c+`!=""`, c+`!="POD"`, `image!=""`)
}

// keys are the labels of one container, then the --by labels.
func (q *query) containerKeys() string {
	return q.keys(q.o.NamespaceLabel, q.o.PodLabel, q.o.ContainerLabel)
}

func (q *query) podKeys() string { return q.keys(q.o.NamespaceLabel, q.o.PodLabel) }

func (q *query) nodeKeys() string { return q.keys(q.o.NodeLabel) }

func (q *query) keys(names ...string) string {
	seen := map[string]bool{}
	var out []string
	for _, n := range append(names, q.o.By...) {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return strings.Join(out, ", ")
}

// memoryLimits is each container's memory limit from kube-state-metrics
// (containers without one have no series, or 0 in old versions).
func (q *query) memoryLimits() string {
	return fmt.Sprintf(`max by (%s) (kube_pod_container_resource_limits%s > 0)`, q.containerKeys(), q.sel(ksm, `resource="memory"`))
}

// activePods is 1 for every pod that is pending or running: terminated
// pods keep their resource series in kube-state-metrics.
func (q *query) activePods() string {
	return fmt.Sprintf(`max by (%s) (kube_pod_status_phase%s) == 1`, q.podKeys(), q.sel(ksm, `phase=~"Pending|Running"`))
}

// label is a template reference to one of the alert's labels.
func (q *query) label(name string) string { return "{{ $labels." + name + " }}" }

// container names the alert's container in annotations: ns/pod/container.
func (q *query) container() string {
	return q.label(q.o.NamespaceLabel) + "/" + q.label(q.o.PodLabel) + "/" + q.label(q.o.ContainerLabel)
}
