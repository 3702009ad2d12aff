package lint

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oomdoctor/oomdoctor/internal/model"
)

// lintFile lints one file with the default config.
func lintFile(t *testing.T, path string) *model.LintReport {
	t.Helper()
	rep, err := New(DefaultConfig()).Run([]string{path}, nil)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return rep
}

func ofRule(rep *model.LintReport, id string) []model.LintFinding {
	var out []model.LintFinding
	for _, f := range rep.Findings {
		if f.Rule == id {
			out = append(out, f)
		}
	}
	return out
}

// TestRules runs every rule's data: testdata/rules/ID/pass/* must give no
// finding of the rule, fail/* at least one, and where fixed/NAME exists,
// applying the rule's fixes to fail/NAME must give exactly that file, which
// then passes.
func TestRules(t *testing.T) {
	for _, r := range Rules(DefaultConfig()) {
		id := r.ID()
		t.Run(id, func(t *testing.T) {
			dir := filepath.Join("testdata", "rules", id)
			pass, _ := filepath.Glob(filepath.Join(dir, "pass", "*.yaml"))
			fail, _ := filepath.Glob(filepath.Join(dir, "fail", "*.yaml"))
			if len(pass) == 0 || len(fail) == 0 {
				t.Fatalf("rule %s needs test manifests in %s/pass and %s/fail", id, dir, dir)
			}
			for _, p := range pass {
				if fs := ofRule(lintFile(t, p), id); len(fs) > 0 {
					t.Errorf("%s: want no %s finding, got %s", p, id, fs[0].Message)
				}
			}
			fixedSome := false
			for _, p := range fail {
				fs := ofRule(lintFile(t, p), id)
				if len(fs) == 0 {
					t.Errorf("%s: want a %s finding, got none", p, id)
					continue
				}
				for _, f := range fs {
					if f.Line == 0 || f.Message == "" || f.Severity.Rank() == 0 || f.Field == "" {
						t.Errorf("%s: incomplete finding %+v", p, f)
					}
				}
				want, err := os.ReadFile(filepath.Join(dir, "fixed", filepath.Base(p)))
				if err != nil {
					continue
				}
				fixedSome = true
				data, _ := os.ReadFile(p)
				got, err := ApplyFixes(p, data, fs)
				if err != nil {
					t.Fatalf("%s: applying fixes: %v", p, err)
				}
				if string(got) != string(want) {
					t.Errorf("%s: fixed manifest differs\n--- got\n%s\n--- want\n%s", p, got, want)
					continue
				}
				out := filepath.Join(t.TempDir(), filepath.Base(p))
				if err := os.WriteFile(out, got, 0o600); err != nil {
					t.Fatal(err)
				}
				if left := ofRule(lintFile(t, out), id); len(left) > 0 {
					t.Errorf("%s: the fixed manifest still has %s: %s", p, id, left[0].Message)
				}
			}
			hasFix := false
			for _, p := range fail {
				for _, f := range ofRule(lintFile(t, p), id) {
					hasFix = hasFix || f.Fix != nil
				}
			}
			if hasFix && !fixedSome {
				t.Errorf("rule %s offers fixes: add an expected result under %s/fixed", id, dir)
			}
		})
	}
}

// TestRuleDocs checks every rule has its page, saying why, an example and
// the fix.
func TestRuleDocs(t *testing.T) {
	for _, r := range Rules(DefaultConfig()) {
		data, err := os.ReadFile(filepath.Join("..", "..", "docs", "rules", r.ID()+".md"))
		if err != nil {
			t.Errorf("rule %s has no docs/rules/%s.md", r.ID(), r.ID())
			continue
		}
		doc := string(data)
		for _, section := range []string{"# " + r.ID(), "## Why", "## Example", "## Fix"} {
			if !strings.Contains(doc, section) {
				t.Errorf("docs/rules/%s.md lacks %q", r.ID(), section)
			}
		}
	}
}

// The peers' known false positives on init containers produce nothing at
// warning or above.
func TestInitContainersAreNotNoise(t *testing.T) {
	for _, p := range []string{
		"testdata/rules/memory-limit-missing/pass/init-without-limit-polaris-125.yaml",
		"testdata/rules/memory-limit-partial/pass/all-limited-kube-linter-428.yaml",
	} {
		rep := lintFile(t, p)
		for _, f := range rep.Findings {
			if f.Severity.Rank() >= model.SeverityWarning.Rank() {
				t.Errorf("%s: %s %s", p, f.Rule, f.Message)
			}
		}
	}
}

// A variable a rule finds missing may come from an envFrom source the
// input does not show (a Secret, a ConfigMap not given): the finding says
// so and carries no automatic fix, which would override it there.
func TestUnseenEnvFromHoldsTheFix(t *testing.T) {
	spec := func(image, env string) File {
		return File{Name: "w.yaml", Data: []byte(`apiVersion: apps/v1
kind: Deployment
metadata: {name: app}
spec:
  template:
    spec:
      containers:
      - name: app
        image: ` + image + `
        env:
        - {name: GOGC, value: "100"}
` + env + `        resources:
          limits: {memory: 2Gi}
`)}
	}
	for _, tc := range []struct {
		name, image, env, rule, unless string
	}{
		{"a Secret", "ghcr.io/example/ingest:7", "        envFrom:\n        - secretRef: {name: ingest-env}\n", ruleGoMemLimitMissing, "Unless Secret ingest-env, whose variables the input does not show, sets GOMEMLIMIT"},
		{"a ConfigMap not given", "ghcr.io/example/ingest:7", "        envFrom:\n        - configMapRef: {name: a}\n        - secretRef: {name: b}\n", ruleGoMemLimitMissing, "Unless ConfigMap a or Secret b, whose"},
		{"an old JDK", "openjdk:8u212-jre", "        envFrom:\n        - configMapRef: {name: jvm}\n", ruleJVMOldJDK, "Unless ConfigMap jvm, whose variables the input does not show, sets -Xmx"},
		{"nothing unseen", "ghcr.io/example/ingest:7", "", ruleGoMemLimitMissing, ""},
	} {
		rep, err := New(DefaultConfig()).RunFiles([]File{spec(tc.image, tc.env)})
		if err != nil {
			t.Fatal(err)
		}
		got := ofRule(rep, tc.rule)
		if len(got) != 1 {
			t.Errorf("%s: %d %s findings", tc.name, len(got), tc.rule)
			continue
		}
		f := got[0]
		if tc.unless == "" {
			if f.Fix == nil || strings.Contains(f.Message, "Unless") {
				t.Errorf("%s: fix %v, message %s", tc.name, f.Fix, f.Message)
			}
			continue
		}
		if f.Fix != nil || !strings.Contains(f.Message, tc.unless) {
			t.Errorf("%s: fix %v, message %s\nwant %q", tc.name, f.Fix, f.Message, tc.unless)
		}
	}
}

// Sizes a rule computes read as sizes: a heap from a percentage, a
// decimal value read as hexadecimal (not 1020054732 or 70656464932), and a
// percentage read as hexadecimal as a percentage.
func TestComputedSizesRead(t *testing.T) {
	p := writeFile(t, t.TempDir(), "d.yaml", `apiVersion: apps/v1
kind: Deployment
metadata: {name: d, namespace: a}
spec:
  template:
    spec:
      containers:
      - name: jvm
        image: eclipse-temurin:21
        env: [{name: JDK_JAVA_OPTIONS, value: "-XX:MaxRAMPercentage=95.0"}]
        resources: {requests: {memory: 1Gi}, limits: {memory: 1Gi}}
      - name: bytes
        image: mcr.microsoft.com/dotnet/aspnet:8.0
        env: [{name: DOTNET_GCHeapHardLimit, value: "1073741824"}]
        resources: {requests: {memory: 2Gi}, limits: {memory: 2Gi}}
      - name: percent
        image: mcr.microsoft.com/dotnet/aspnet:8.0
        env: [{name: DOTNET_GCHeapHardLimitPercent, value: "75"}]
        resources: {requests: {memory: 2Gi}, limits: {memory: 2Gi}}
`)
	rep := lintFile(t, p)
	var all []string
	for _, f := range rep.Findings {
		all = append(all, f.Message)
	}
	text := strings.Join(all, "\n")
	for _, want := range []string{"the JVM heap 972.8Mi (-XX:MaxRAMPercentage=95.0", "DOTNET_GCHeapHardLimit=1073741824 (read as hexadecimal: 65.8Gi)", "DOTNET_GCHeapHardLimitPercent=75 (read as hexadecimal: 117%)"} {
		if !strings.Contains(text, want) {
			t.Errorf("no finding says %q:\n%s", want, text)
		}
	}
}
