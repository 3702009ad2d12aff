package lint

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oomdoctor/oomdoctor/internal/model"
)

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const unlimited = `apiVersion: v1
kind: Pod
metadata:
  name: p
  namespace: ns
  annotations:
    oomdoctor.io/ignore: memory-request-missing
spec:
  containers:
  - name: c
    image: c:1
`

func TestAnnotationSuppresses(t *testing.T) {
	p := writeFile(t, t.TempDir(), "p.yaml", unlimited)
	rep, err := New(DefaultConfig()).Run([]string{p}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(ofRule(rep, "memory-request-missing")) != 0 || len(ofRule(rep, "memory-limit-missing")) != 1 {
		t.Errorf("findings %+v", rep.Findings)
	}
	if len(rep.Suppressed) != 1 || rep.Suppressed[0].Rule != "memory-request-missing" || rep.Suppressed[0].Suppression.Kind != "annotation" {
		t.Errorf("suppressed %+v", rep.Suppressed)
	}
}

func TestConfigIgnoresAndOverrides(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "charts/vendor/p.yaml", strings.Replace(unlimited, "    oomdoctor.io/ignore: memory-request-missing\n", "    x: y\n", 1))
	cfgPath := writeFile(t, dir, "cfg.yaml", `apiVersion: oomdoctor.io/v1alpha1
kind: LintConfig
failOn: error
rules:
  memory-limit-missing:
    severity: error
  besteffort-pod:
    disabled: true
ignore:
- rules: [memory-request-missing]
  files: ["**/vendor/**"]
  reason: vendored chart
`)
	cfg, err := LoadConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := New(cfg).Run([]string{p}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if fs := ofRule(rep, "memory-limit-missing"); len(fs) != 1 || fs[0].Severity != model.SeverityError {
		t.Errorf("severity override: %+v", fs)
	}
	if len(ofRule(rep, "besteffort-pod")) != 0 {
		t.Error("a disabled rule ran")
	}
	if len(rep.Suppressed) != 1 || rep.Suppressed[0].Suppression.Reason != "vendored chart" {
		t.Errorf("suppressed %+v", rep.Suppressed)
	}
	if !Failed(rep, cfg.FailOn) {
		t.Error("an error finding with failOn error must fail")
	}
}

func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	for name, tc := range map[string]struct{ content, want string }{
		"unknown field":   {"kind: LintConfig\nfailon: error\n", "line 2: unknown field failon in the config (its fields: apiVersion, kind, failOn, rules, ignore)"},
		"rule field":      {"rules:\n  besteffort-pod: {enabled: false}\n", "line 2: unknown field enabled in a rule's settings (its fields: disabled, severity,"},
		"ignore field":    {"ignore:\n- rule: besteffort-pod\n", "line 2: unknown field rule in an ignore entry (its fields: rules, kinds,"},
		"unknown rule":    {"rules:\n  no-such-rule: {disabled: true}\n", `no rule "no-such-rule"`},
		"bad severity":    {"rules:\n  besteffort-pod: {severity: fatal}\n", "severity \"fatal\""},
		"bad failOn":      {"failOn: sometimes\n", "failOn \"sometimes\""},
		"ignore nothing":  {"ignore:\n- kinds: [Pod]\n", "list the rules"},
		"bad minLimit":    {"rules:\n  go-memlimit-missing: {minLimit: lots}\n", "minLimit"},
		"negative nodes":  {"rules:\n  memory-over-quota: {nodes: -2}\n", "nodes -2: want how many nodes"},
		"nodes elsewhere": {"rules:\n  besteffort-pod: {nodes: 3}\n", "only memory-over-quota counts nodes"},
	} {
		t.Run(name, func(t *testing.T) {
			p := writeFile(t, dir, strings.ReplaceAll(name, " ", "-")+".yaml", tc.content)
			if _, err := LoadConfig(p); err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), p) {
				t.Errorf("got %v, want an error naming %s with %q", err, p, tc.want)
			}
		})
	}
}

func TestInputForms(t *testing.T) {
	dir := t.TempDir()
	list := writeFile(t, dir, "list.json", `{"apiVersion": "v1", "kind": "List", "items": [
  {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a"}, "spec": {"containers": [{"name": "c", "image": "i", "resources": {"limits": {"memory": "512m"}}}]}}
]}`)
	rep, err := New(DefaultConfig()).Run([]string{list}, nil)
	if err != nil {
		t.Fatal(err)
	}
	fs := ofRule(rep, "memory-unit-mistake")
	if len(fs) != 1 || fs[0].Line != 2 || fs[0].Item != 0 || fs[0].Object.Name != "a" {
		t.Errorf("a List item in JSON: %+v", fs)
	}
	// Standard input, with a non-Kubernetes document in between.
	stdin := strings.NewReader("foo: bar\n---\n" + unlimited)
	rep, err = New(DefaultConfig()).Run([]string{"-"}, stdin)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Summary.NotObjects != 1 || rep.Summary.Workloads != 1 || rep.Findings[0].File != "<stdin>" || rep.Findings[0].Document != 1 {
		t.Errorf("stdin: %+v %+v", rep.Summary, rep.Findings)
	}
}

func TestConfigMapEnvIsResolved(t *testing.T) {
	// The ConfigMap comes after the Deployment that uses it.
	p := writeFile(t, t.TempDir(), "app.yaml", `apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec:
  template:
    spec:
      containers:
      - name: api
        image: eclipse-temurin:21
        envFrom:
        - configMapRef: {name: jvm}
        resources: {limits: {memory: 1Gi}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: jvm, namespace: shop}
data:
  JAVA_TOOL_OPTIONS: -Xmx1g
`)
	rep, err := New(DefaultConfig()).Run([]string{p}, nil)
	if err != nil {
		t.Fatal(err)
	}
	fs := ofRule(rep, "jvm-heap-exceeds-limit")
	if len(fs) != 1 || fs[0].Fix != nil || !strings.Contains(fs[0].Message, "from a ConfigMap") {
		t.Errorf("a heap set through a ConfigMap: %+v", fs)
	}
}

func TestParseErrorsStopWithPosition(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "a.yaml", unlimited)
	bad := writeFile(t, dir, "b.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: [unclosed\n")
	_, err := New(DefaultConfig()).Run([]string{good, bad}, nil)
	if err == nil || !strings.Contains(err.Error(), bad+":") {
		t.Errorf("got %v", err)
	}
	tmpl := writeFile(t, dir, "deployment.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\n  labels:\n{{ include \"labels\" . | indent 4 }}\n")
	_, err = New(DefaultConfig()).Run([]string{tmpl}, nil)
	if err == nil || !strings.Contains(err.Error(), "helm template") {
		t.Errorf("a Helm template: %v", err)
	}
}

// Large files and many paths just work: nothing is skipped for its size,
// and files are opened one at a time.
func TestLargeFileAndManyPaths(t *testing.T) {
	dir := t.TempDir()
	doc := strings.Replace(unlimited, "    oomdoctor.io/ignore: memory-request-missing\n", "    x: y\n", 1)
	big := strings.Repeat("---\n"+doc, 90000) // about 12 MiB
	p := writeFile(t, dir, "big.yaml", big)
	if st, _ := os.Stat(p); st.Size() < 10<<20 {
		t.Fatalf("the big file is only %d bytes", st.Size())
	}
	rep, err := New(DefaultConfig()).Run([]string{p}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Summary.Workloads != 90000 || len(ofRule(rep, "memory-limit-missing")) != 90000 {
		t.Errorf("a 12 MiB file: %d workloads, %d findings", rep.Summary.Workloads, len(ofRule(rep, "memory-limit-missing")))
	}
	many := filepath.Join(dir, "many")
	var files []string
	for i := 0; i < 3000; i++ {
		files = append(files, writeFile(t, many, fmt.Sprintf("p%04d.yaml", i), doc))
	}
	rep, err = New(DefaultConfig()).Run(files, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Summary.Files != 3000 || rep.Summary.Workloads != 3000 {
		t.Errorf("3000 paths: %+v", rep.Summary)
	}
}
