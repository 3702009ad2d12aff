package alerts

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"text/template"
	"time"

	yaml "go.yaml.in/yaml/v3"
)

func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("promtool is missing: make deps installs it (Debian package prometheus)")
	}
	return p
}

// writeRules generates rules with o into dir/rules.yaml.
func writeRules(t *testing.T, dir string, o Options, format string) string {
	t.Helper()
	g, err := Generate(o)
	if err != nil {
		t.Fatal(err)
	}
	out, err := Render(g, format, RuleMeta{Name: "oomdoctor", Namespace: "monitoring"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(p, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func relabeled() Options {
	o := Defaults()
	o.By = []string{"cluster"}
	o.Selector = `cluster=~"prod-.*"`
	o.KSMSelector = `job="ksm"`
	o.PodLabel, o.ContainerLabel = "pod_name", "container_name"
	o.Labels = map[string]string{"team": "sre"}
	o.RunbookURL = "https://runbooks.example/oom#"
	return o
}

func TestPromtoolCheckRules(t *testing.T) {
	bin := promtool(t)
	for name, o := range map[string]Options{"defaults": Defaults(), "relabeled": relabeled()} {
		dir := t.TempDir()
		p := writeRules(t, dir, o, "rules")
		out, err := exec.Command(bin, "check", "rules", p).CombinedOutput()
		if err != nil || !strings.Contains(string(out), fmt.Sprintf("SUCCESS: %d rules found", len(Names()))) {
			t.Errorf("%s: promtool check rules: %v\n%s", name, err, out)
		}
	}
}

// The promtool unit tests in testdata/promtool fire and resolve every alert
// on synthetic series; their expected runbook annotations come from the
// alerts themselves, everything else is written out.
func TestPromtoolUnitTests(t *testing.T) {
	bin := promtool(t)
	cases := map[string]Options{"containers.yaml": Defaults(), "nodes.yaml": Defaults(), "agent.yaml": Defaults(), "relabeled.yaml": relabeled()}
	covered := map[string]bool{}
	for file, o := range cases {
		t.Run(file, func(t *testing.T) {
			dir := t.TempDir()
			writeRules(t, dir, o, "rules")
			src, err := os.ReadFile(filepath.Join("testdata/promtool", file))
			if err != nil {
				t.Fatal(err)
			}
			tmpl, err := template.New(file).Funcs(template.FuncMap{"runbook": func(name string) (string, error) {
				covered[name] = true
				rb := Runbook(name)
				if rb == "" {
					t.Errorf("no alert %q", name)
				}
				b, err := json.Marshal(rb)
				return string(b), err
			}}).Parse(string(src))
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := tmpl.Execute(&buf, nil); err != nil {
				t.Fatal(err)
			}
			test := filepath.Join(dir, file)
			if err := os.WriteFile(test, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(bin, "test", "rules", test).CombinedOutput()
			if err != nil || !strings.Contains(string(out), "SUCCESS") {
				t.Errorf("promtool test rules %s: %v\n%s", file, err, out)
			}
		})
	}
	for _, name := range Names() {
		if !covered[name] {
			t.Errorf("alert %s has no promtool test", name)
		}
	}
}

// A broken rule would make promtool fail: the harness can fail.
func TestPromtoolCatchesAWrongExpectation(t *testing.T) {
	bin := promtool(t)
	dir := t.TempDir()
	o := Defaults()
	o.WorkingSetShare = 0.95 // 900Mi of 1Gi no longer fires
	writeRules(t, dir, o, "rules")
	src, _ := os.ReadFile("testdata/promtool/containers.yaml")
	tmpl := template.Must(template.New("x").Funcs(template.FuncMap{"runbook": func(n string) string { b, _ := json.Marshal(Runbook(n)); return string(b) }}).Parse(string(src)))
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, nil); err != nil {
		t.Fatal(err)
	}
	test := filepath.Join(dir, "t.yaml")
	if err := os.WriteFile(test, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "test", "rules", test).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "ContainerMemoryNearLimit") {
		t.Errorf("promtool passed rules that should not fire:\n%s", out)
	}
}

func TestPrometheusRuleObject(t *testing.T) {
	g, err := Generate(Defaults())
	if err != nil {
		t.Fatal(err)
	}
	out, err := Render(g, "prometheusrule", RuleMeta{Name: "oom", Namespace: "monitoring", Labels: map[string]string{"release": "kps"}}, "made by a test")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(out, []byte("# made by a test\n")) {
		t.Errorf("header missing:\n%s", out[:80])
	}
	var obj struct {
		APIVersion string `yaml:"apiVersion"`
		Kind       string `yaml:"kind"`
		Metadata   struct {
			Name, Namespace string
			Labels          map[string]string
		}
		Spec struct{ Groups []Group }
	}
	dec := yaml.NewDecoder(bytes.NewReader(out))
	dec.KnownFields(true)
	if err := dec.Decode(&obj); err != nil {
		t.Fatal(err)
	}
	if obj.APIVersion != "monitoring.coreos.com/v1" || obj.Kind != "PrometheusRule" || obj.Metadata.Name != "oom" ||
		obj.Metadata.Namespace != "monitoring" || obj.Metadata.Labels["release"] != "kps" {
		t.Errorf("object %+v", obj)
	}
	if len(obj.Spec.Groups) != 1 || len(obj.Spec.Groups[0].Rules) != len(Names()) {
		t.Fatalf("groups %+v", obj.Spec.Groups)
	}
	for _, r := range obj.Spec.Groups[0].Rules {
		if r.Annotations["runbook"] == "" || r.Annotations["summary"] == "" || r.Annotations["description"] == "" || r.Labels["severity"] == "" {
			t.Errorf("%s lacks a runbook, summary, description or severity", r.Alert)
		}
	}
	if _, err := Render(g, "prometheusrule", RuleMeta{}, ""); err == nil {
		t.Error("a PrometheusRule without a name was written")
	}
	if _, err := Render(g, "alertmanager", RuleMeta{}, ""); err == nil || !strings.Contains(err.Error(), "rules, prometheusrule") {
		t.Errorf("unknown format: %v", err)
	}
}

func TestDisableAndLabels(t *testing.T) {
	o := Defaults()
	o.Disable = []string{"NodeMemoryPressure", "ContainerProcessOOMKilled"}
	o.Labels = map[string]string{"team": "sre", "severity": "page"}
	g, err := Generate(o)
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Rules) != len(Names())-2 {
		t.Errorf("%d rules, want %d", len(g.Rules), len(Names())-2)
	}
	for _, r := range g.Rules {
		if r.Alert == "NodeMemoryPressure" || r.Alert == "ContainerProcessOOMKilled" {
			t.Errorf("%s was disabled", r.Alert)
		}
		if r.Labels["team"] != "sre" || r.Labels["severity"] != "page" {
			t.Errorf("%s labels %v: --label wins over the default severity", r.Alert, r.Labels)
		}
	}
	o.Disable = Names()
	if _, err := Generate(o); err == nil {
		t.Error("every alert disabled, yet no error")
	}
}

func TestValidation(t *testing.T) {
	for _, tc := range []struct {
		change func(*Options)
		want   string
	}{
		{func(o *Options) { o.WorkingSetShare = 85 }, "--working-set-threshold 85"},
		{func(o *Options) { o.NodeUsageShare = 0 }, "--node-usage-threshold"},
		{func(o *Options) { o.LimitsOvercommit = 0.5 }, "--limits-overcommit 0.5"},
		{func(o *Options) { o.PredictHours = -1 }, "--predict-hours"},
		{func(o *Options) { o.NearLimitFor = 10 * time.Second }, "--for 10s"},
		{func(o *Options) { o.OOMWindow = 90*time.Second + time.Millisecond }, "--oom-window"},
		{func(o *Options) { o.ContainerLabel = "container-name" }, `--container-label "container-name"`},
		{func(o *Options) { o.By = []string{"1cluster"} }, `--by "1cluster"`},
		{func(o *Options) { o.Selector = `cluster=prod` }, `--matchers "cluster=prod"`},
		{func(o *Options) { o.KSMSelector = `job=="ksm"` }, `--ksm-matchers`},
		{func(o *Options) { o.Disable = []string{"OOMAlert"} }, `--disable "OOMAlert": no such alert`},
		{func(o *Options) { o.Labels = map[string]string{"a-b": "c"} }, `--label "a-b"`},
	} {
		o := Defaults()
		tc.change(&o)
		_, err := Generate(o)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("got %v, want an error with %q", err, tc.want)
		}
	}
}

func TestMatchers(t *testing.T) {
	for in, want := range map[string]string{
		``:                                   ``,
		`{}`:                                 ``,
		`job="ksm"`:                          `job="ksm"`,
		`{ job = "ksm" , cluster=~"a,b|c" }`: `job="ksm"|cluster=~"a,b|c"`,
		`path!~"/metrics/\"x\"", env!="dev"`: `path!~"/metrics/\"x\""|env!="dev"`,
	} {
		got, err := matchers(in)
		if err != nil || strings.Join(got, "|") != want {
			t.Errorf("%q: got %q %v, want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{`job=ksm`, `job="ksm`, `="x"`, `job~"x"`} {
		if _, err := matchers(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestPromDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		15 * time.Minute: "15m", 90 * time.Minute: "1h30m", 48 * time.Hour: "2d", 61 * time.Second: "1m1s",
	} {
		if got := promDuration(d); got != want {
			t.Errorf("%v: %q, want %q", d, got, want)
		}
	}
}

func TestParseLabels(t *testing.T) {
	m, err := ParseLabels("--label", []string{"team=sre", "tier="})
	if err != nil || m["team"] != "sre" || m["tier"] != "" || len(m) != 2 {
		t.Errorf("%v %v", m, err)
	}
	if _, err := ParseLabels("--label", []string{"team"}); err == nil {
		t.Error("a label without = accepted")
	}
}
