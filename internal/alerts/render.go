package alerts

import (
	"bytes"
	"fmt"
	"sort"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// Formats are the output formats.
var Formats = []string{"rules", "prometheusrule"}

// RuleMeta is the PrometheusRule object's metadata.
type RuleMeta struct {
	Name      string
	Namespace string
	// Labels select the object in the operator's ruleSelector (for
	// example release: kube-prometheus-stack).
	Labels map[string]string
}

type rulesFile struct {
	Groups []Group `yaml:"groups"`
}

type prometheusRule struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name      string            `yaml:"name"`
		Namespace string            `yaml:"namespace,omitempty"`
		Labels    map[string]string `yaml:"labels,omitempty"`
	} `yaml:"metadata"`
	Spec rulesFile `yaml:"spec"`
}

// Render writes the group as a Prometheus rules file or as a
// PrometheusRule object, with a header saying how it was made.
func Render(g Group, format string, meta RuleMeta, header string) ([]byte, error) {
	var doc any
	switch format {
	case "rules":
		doc = rulesFile{Groups: []Group{g}}
	case "prometheusrule":
		if meta.Name == "" {
			return nil, fmt.Errorf("a PrometheusRule needs a name")
		}
		var pr prometheusRule
		pr.APIVersion, pr.Kind = "monitoring.coreos.com/v1", "PrometheusRule"
		pr.Metadata.Name, pr.Metadata.Namespace, pr.Metadata.Labels = meta.Name, meta.Namespace, meta.Labels
		pr.Spec.Groups = []Group{g}
		doc = pr
	default:
		return nil, fmt.Errorf("unknown output format %q: valid formats are %s", format, strings.Join(Formats, ", "))
	}
	var buf bytes.Buffer
	for _, line := range strings.Split(strings.TrimSpace(header), "\n") {
		if line != "" {
			buf.WriteString("# " + line + "\n")
		}
	}
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ParseLabels reads k=v pairs.
func ParseLabels(flag string, pairs []string) (map[string]string, error) {
	if len(pairs) == 0 {
		return nil, nil
	}
	out := map[string]string{}
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok || !labelNameRe.MatchString(k) {
			return nil, fmt.Errorf("%s %q: give name=value with a label name of letters, digits and _", flag, p)
		}
		out[k] = v
	}
	return out, nil
}

// Names returns the sorted alert names.
func Names() []string {
	var out []string
	for _, a := range all {
		out = append(out, a.name)
	}
	sort.Strings(out)
	return out
}
