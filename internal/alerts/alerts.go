// Package alerts generates Prometheus alerting rules that warn before
// containers are OOM-killed and tell when they were: one file per alert,
// each with its expression, its threshold and its runbook.
//
// The series they read are the usual ones: cAdvisor's (through the
// kubelet), kube-state-metrics' and the oomdoctor node agent's. Clusters
// that relabel pass other label names, extra matchers per source and extra
// labels to aggregate by (a cluster label in a shared Prometheus or Thanos).
package alerts

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Options shape the generated rules.
type Options struct {
	// GroupName names the rule group.
	GroupName string

	// WorkingSetShare is the share of the limit the working set may reach
	// before ContainerMemoryNearLimit fires, after NearLimitFor.
	WorkingSetShare float64
	NearLimitFor    time.Duration
	// OOMWindow is how far back a kill keeps an OOM alert firing: it
	// resolves this long after the last kill.
	OOMWindow time.Duration
	// PredictHours is how far ahead ContainerMemoryExhaustionPredicted
	// looks, from a linear fit over PredictWindow.
	PredictHours  float64
	PredictWindow time.Duration
	// LimitsOvercommit is the ratio of the sum of memory limits to a
	// node's allocatable memory above which NodeMemoryLimitsOvercommitted
	// fires.
	LimitsOvercommit float64
	// NodeUsageShare is the share of a node's allocatable memory its pods
	// may use beyond their requests before NodeMemoryUsedBeyondRequests.
	NodeUsageShare float64

	// Label names, for clusters that relabel.
	NamespaceLabel, PodLabel, ContainerLabel, NodeLabel string
	// By are extra labels every aggregation keeps (cluster, region).
	By []string
	// Selector holds matchers (--matchers) added to every series selector; the others
	// to the series of one source only.
	Selector, CadvisorSelector, KSMSelector, AgentSelector string
	// Labels are added to every alert (team, routing).
	Labels map[string]string
	// RunbookURL, when set, gives each alert a runbook_url annotation:
	// the URL followed by the alert's name in lower case.
	RunbookURL string
	// Disable lists alerts not to generate.
	Disable []string
}

// Defaults returns the options oomdoctor alerts uses without flags.
func Defaults() Options {
	return Options{
		GroupName:        "oomdoctor",
		WorkingSetShare:  0.85,
		NearLimitFor:     15 * time.Minute,
		OOMWindow:        15 * time.Minute,
		PredictHours:     4,
		PredictWindow:    time.Hour,
		LimitsOvercommit: 1.5,
		NodeUsageShare:   0.9,
		NamespaceLabel:   "namespace",
		PodLabel:         "pod",
		ContainerLabel:   "container",
		NodeLabel:        "node",
	}
}

// Rule is one alerting rule, as Prometheus reads it.
type Rule struct {
	Alert       string            `json:"alert" yaml:"alert"`
	Expr        string            `json:"expr" yaml:"expr"`
	For         string            `json:"for,omitempty" yaml:"for,omitempty"`
	Labels      map[string]string `json:"labels,omitempty" yaml:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty" yaml:"annotations,omitempty"`
}

// Group is a rule group.
type Group struct {
	Name  string `json:"name" yaml:"name"`
	Rules []Rule `json:"rules" yaml:"rules"`
}

// alert is one generated alert: its name, what it is for, and how to build
// its rule from the options.
type alert struct {
	name    string
	summary string // one line, for --list
	runbook string
	build   func(q *query) Rule
}

// all is every alert, in the order they are written; each file registers
// its own.
var all []alert

func register(a alert) { all = append(all, a) }

// Info describes an alert for --list.
type Info struct{ Name, Summary string }

// List returns the alerts oomdoctor can generate.
func List() []Info {
	var out []Info
	for _, a := range ordered() {
		out = append(out, Info{a.name, a.summary})
	}
	return out
}

// Runbook returns an alert's runbook text ("" for an unknown alert).
func Runbook(name string) string {
	for _, a := range all {
		if a.name == name {
			return a.runbook
		}
	}
	return ""
}

func ordered() []alert {
	out := append([]alert(nil), all...)
	sort.SliceStable(out, func(i, j int) bool { return rank(out[i].name) < rank(out[j].name) })
	return out
}

// rank orders the alerts: containers first, then nodes, then the node
// agent's own.
func rank(name string) int {
	for i, n := range []string{
		"ContainerMemoryNearLimit", "ContainerMemoryExhaustionPredicted", "ContainerOOMKilled",
		"ContainerProcessOOMKilled", "NodeLevelOOMKill", "NodeMemoryLimitsOvercommitted",
		"NodeMemoryUsedBeyondRequests", "NodeMemoryPressure", "OOMDoctorAgentWatchesNothing", "OOMDoctorAgentKernelLogLost",
	} {
		if n == name {
			return i
		}
	}
	return 100
}

// Generate builds the rule group.
func Generate(o Options) (Group, error) {
	if err := o.validate(); err != nil {
		return Group{}, err
	}
	off := map[string]bool{}
	for _, d := range o.Disable {
		off[d] = true
	}
	q := &query{o: o}
	g := Group{Name: o.GroupName}
	for _, a := range ordered() {
		if off[a.name] {
			continue
		}
		r := a.build(q)
		r.Alert = a.name
		r.Expr = strings.TrimSpace(r.Expr)
		if r.Labels == nil {
			r.Labels = map[string]string{}
		}
		for k, v := range o.Labels {
			r.Labels[k] = v
		}
		r.Annotations["runbook"] = a.runbook
		if o.RunbookURL != "" {
			r.Annotations["runbook_url"] = o.RunbookURL + strings.ToLower(a.name)
		}
		g.Rules = append(g.Rules, r)
	}
	if len(g.Rules) == 0 {
		return Group{}, fmt.Errorf("every alert is disabled")
	}
	return g, nil
}

var (
	labelNameRe = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
	// matcherRe is one label matcher: name, operator, double-quoted value.
	matcherRe = regexp.MustCompile(`^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*$`)
)

func (o *Options) validate() error {
	known := map[string]bool{}
	for _, a := range all {
		known[a.name] = true
	}
	for _, d := range o.Disable {
		if !known[d] {
			return fmt.Errorf("--disable %q: no such alert (oomdoctor alerts --list shows them)", d)
		}
	}
	if o.WorkingSetShare <= 0 || o.WorkingSetShare > 1 {
		return fmt.Errorf("--working-set-threshold %g: give a share of the limit above 0 and at most 1, like 0.85", o.WorkingSetShare)
	}
	if o.NodeUsageShare <= 0 || o.NodeUsageShare > 1 {
		return fmt.Errorf("--node-usage-threshold %g: give a share of allocatable above 0 and at most 1, like 0.9", o.NodeUsageShare)
	}
	if o.LimitsOvercommit < 1 {
		return fmt.Errorf("--limits-overcommit %g: give a ratio of at least 1, like 1.5", o.LimitsOvercommit)
	}
	if o.PredictHours <= 0 {
		return fmt.Errorf("--predict-hours %g: give a positive number of hours", o.PredictHours)
	}
	for flag, d := range map[string]time.Duration{"--for": o.NearLimitFor, "--oom-window": o.OOMWindow, "--predict-window": o.PredictWindow} {
		if d < time.Minute || d%time.Second != 0 {
			return fmt.Errorf("%s %v: give a whole number of seconds, at least 1m", flag, d)
		}
	}
	if o.GroupName == "" {
		return fmt.Errorf("the rule group needs a name")
	}
	for flag, l := range map[string]string{"--namespace-label": o.NamespaceLabel, "--pod-label": o.PodLabel, "--container-label": o.ContainerLabel, "--node-label": o.NodeLabel} {
		if !labelNameRe.MatchString(l) {
			return fmt.Errorf("%s %q is not a Prometheus label name", flag, l)
		}
	}
	for _, l := range o.By {
		if !labelNameRe.MatchString(l) {
			return fmt.Errorf("--by %q is not a Prometheus label name", l)
		}
	}
	for k := range o.Labels {
		if !labelNameRe.MatchString(k) {
			return fmt.Errorf("--label %q: %q is not a Prometheus label name", k, k)
		}
	}
	for flag, s := range map[string]string{"--matchers": o.Selector, "--cadvisor-matchers": o.CadvisorSelector, "--ksm-matchers": o.KSMSelector, "--agent-matchers": o.AgentSelector} {
		if _, err := matchers(s); err != nil {
			return fmt.Errorf("%s %q: %v", flag, s, err)
		}
	}
	return nil
}

// matchers splits `a="x", b=~"y.*"` (braces allowed) into its matchers.
func matchers(s string) ([]string, error) {
	s = strings.TrimSpace(s)
	s = strings.TrimSuffix(strings.TrimPrefix(s, "{"), "}")
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []string
	for _, part := range splitMatchers(s) {
		m := matcherRe.FindStringSubmatch(part)
		if m == nil {
			return nil, fmt.Errorf("%q is not a label matcher like name=\"value\" (operators = != =~ !~)", strings.TrimSpace(part))
		}
		out = append(out, m[1]+m[2]+`"`+m[3]+`"`)
	}
	return out, nil
}

// splitMatchers splits on commas outside quotes.
func splitMatchers(s string) []string {
	var parts []string
	var cur strings.Builder
	quoted, escaped := false, false
	for _, r := range s {
		switch {
		case escaped:
			escaped = false
		case r == '\\' && quoted:
			escaped = true
		case r == '"':
			quoted = !quoted
		case r == ',' && !quoted:
			parts = append(parts, cur.String())
			cur.Reset()
			continue
		}
		cur.WriteRune(r)
	}
	if strings.TrimSpace(cur.String()) != "" {
		parts = append(parts, cur.String())
	}
	return parts
}

// promDuration writes a duration the way Prometheus reads it: 1h30m, 15m.
func promDuration(d time.Duration) string {
	var b strings.Builder
	for _, u := range []struct {
		d time.Duration
		s string
	}{{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}} {
		if n := d / u.d; n > 0 {
			fmt.Fprintf(&b, "%d%s", n, u.s)
			d -= n * u.d
		}
	}
	if b.Len() == 0 {
		return "0s"
	}
	return b.String()
}

// num writes a threshold without trailing zeros.
func num(f float64) string { return strings.TrimSuffix(fmt.Sprintf("%g", f), ".0") }
