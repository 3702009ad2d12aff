package manifest

import (
	"errors"
	"strings"
	"testing"
)

// An unrendered template whose {{ ... }} parse as valid YAML (flow
// mappings with a mapping as key) is an error that says to render it
// first, not a Deployment with no name and no memory limit; {{ inside
// strings, as rendered manifests have, is text.
func TestUnrenderedTemplate(t *testing.T) {
	tpl := "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Values.name }}\nspec:\n  replicas: 1\n"
	err := ReadStream("tpl.yaml", strings.NewReader(tpl), nil, func(*Object) error { return nil })
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Line != 4 || !strings.Contains(pe.Msg, "unrendered Helm template; lint `helm template CHART | oomdoctor lint -f -` instead") {
		t.Errorf("template: %v", err)
	}
	// The same in a later document of a stream: its line in the stream.
	err = ReadStream("tpl.yaml", strings.NewReader("a: 1\n---\n"+tpl), nil, func(*Object) error { return nil })
	if !errors.As(err, &pe) || pe.Line != 6 {
		t.Errorf("template in the second document: %v", err)
	}
	rendered := "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n    fmt: \"{{.Name}}\"\nspec:\n  containers:\n  - name: c\n    args: [\"--format={{.Name}}\"]\n    command:\n    - --x={{.ID}}\n"
	var names []string
	if err := ReadStream("ok.yaml", strings.NewReader(rendered), nil, func(o *Object) error { names = append(names, o.Name); return nil }); err != nil || len(names) != 1 || names[0] != "p" {
		t.Errorf("rendered: %v %v", names, err)
	}
	// A collection as a key without {{ is left to the rest (no Kubernetes
	// object has one, and lint says what it finds).
	if err := ReadStream("odd.yaml", strings.NewReader("? [a]\n: 1\n"), nil, func(*Object) error { return nil }); err != nil {
		t.Errorf("a collection key without a template: %v", err)
	}
}

// Sizes print in binary units, or in decimal ones for whole megabytes
// that are no whole MiB (as a user gives 1G), never as a long number of
// bytes when a unit writes it exactly.
func TestFormatBytes(t *testing.T) {
	for b, want := range map[int64]string{
		512 << 20: "512Mi", 1536 << 20: "1536Mi", 2 << 30: "2Gi", 1_000_000_000: "1G",
		1_500_000_000: "1500M", 999_999_999: "999999999", 1536000 << 10: "1500Mi", 4096: "4Ki",
	} {
		if got := FormatBytes(b); got != want {
			t.Errorf("FormatBytes(%d) = %s, want %s", b, got, want)
		}
	}
}

// A container without a name (Knative's lone container) is described as
// such, not as container "".
func TestDescribeUnnamedContainer(t *testing.T) {
	for c, want := range map[*Container]string{
		{Name: "app", Kind: RegularContainer}: `container "app"`,
		{Kind: RegularContainer}:              "the unnamed container",
		{Kind: InitContainer}:                 "the unnamed init container",
	} {
		if got := c.Describe(); got != want {
			t.Errorf("%+v: %q, want %q", c, got, want)
		}
	}
}

// A rewrite holds on the text it finds: a flag removed with the space
// after it, once another edit put it last, goes with the space before.
func TestEditRewrite(t *testing.T) {
	for _, tc := range []struct {
		e        Edit
		cur, out string
	}{
		{Edit{Value: "-Xmx1g -Xss1m", From: "-Xss1Mi", To: "-Xss1m"}, "-Xmx768m -Xss1Mi", "-Xmx768m -Xss1m"},
		{Edit{Value: "-XX:+UseContainerSupport", From: "-XX:MaxRAMPercentage=75.0 ", To: ""}, "-XX:+UseContainerSupport -XX:MaxRAMPercentage=75.0 -Xmx768m", "-XX:+UseContainerSupport -Xmx768m"},
		{Edit{Value: "-A", From: " -B", To: ""}, "-B -Xmx768m", "-Xmx768m"},
		{Edit{Value: "whole", From: "-Q", To: "-R"}, "nothing of it", "whole"},
	} {
		if got := tc.e.Rewrite(tc.cur); got != tc.out {
			t.Errorf("%+v on %q: %q, want %q", tc.e, tc.cur, got, tc.out)
		}
	}
	edits := []Edit{{Path: "a", From: "x"}, {Path: "b"}, {Path: "c", From: "y"}, {Path: "d"}}
	RewritesLast(edits)
	var order []string
	for _, e := range edits {
		order = append(order, e.Path)
	}
	if got := strings.Join(order, ""); got != "bdac" {
		t.Errorf("order %s, want bdac", got)
	}
}
