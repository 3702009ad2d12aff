package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/oomdoctor/oomdoctor/internal/model"
)

const rulesData = "../lint/testdata/rules"

func runWithStdin(stdin string, args ...string) result {
	var out, errOut bytes.Buffer
	streams := genericiooptions.IOStreams{In: strings.NewReader(stdin), Out: &out, ErrOut: &errOut}
	root := newRootCommand(streams, "oomdoctor", func() time.Time { return fixedNow })
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	if err != nil && ExitCode(err) != ExitFailure || err != nil && !strings.Contains(err.Error(), "exit status") {
		errOut.WriteString("error: " + err.Error() + "\n")
	}
	return result{out.String(), errOut.String(), ExitCode(err)}
}

func TestLintExitCodes(t *testing.T) {
	clean := rulesData + "/oom-score-adj-field/pass/real-fields.yaml"
	withError := rulesData + "/oom-score-adj-field/fail/container-and-pod.yaml"
	infoOnly := rulesData + "/memory-limit-partial/fail/init-unlimited.yaml"
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"clean", []string{"lint", "-f", clean}, 0, "no findings in 1 workload among 1 object from 1 file."},
		{"errors fail", []string{"lint", "-f", withError}, 1, "oom-score-adj-field"},
		{"info does not fail by default", []string{"lint", "-f", infoOnly}, 0, "memory-limit-partial"},
		{"--fail-on info", []string{"lint", "-f", infoOnly, "--fail-on", "info"}, 1, "memory-limit-partial"},
		{"--fail-on none", []string{"lint", "-f", withError, "--fail-on", "none"}, 0, "oom-score-adj-field"},
		{"no input", []string{"lint"}, 2, "lint needs manifests"},
		{"missing file", []string{"lint", "-f", "nope.yaml"}, 2, "nope.yaml"},
		{"bad format", []string{"lint", "-f", clean, "-o", "xml"}, 2, "valid formats are json, sarif, text"},
		{"bad fail-on", []string{"lint", "-f", clean, "--fail-on", "panic"}, 2, "--fail-on"},
		{"positional paths work too", []string{"lint", clean}, 0, "no findings"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := runWithStdin("", tc.args...)
			if r.code != tc.code || !strings.Contains(r.stdout+r.stderr, tc.want) {
				t.Errorf("exit %d (want %d), output:\n%s%s", r.code, tc.code, r.stdout, r.stderr)
			}
		})
	}
}

// A file that does not parse is an error (exit 2), said after the report
// of the others, which are linted all the same.
func TestLintBrokenFileIsAnError(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.yaml"), []byte("apiVersion: v1\nkind: Pod\nspec:\n  containers: [\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runWithStdin("", "lint", "-f", dir)
	if r.code != 2 || !strings.Contains(r.stderr, "error: "+filepath.Join(dir, "a.yaml")+":4: invalid YAML") || !strings.Contains(r.stderr, "(not linted)\n") {
		t.Errorf("exit %d: %s", r.code, r.stderr)
	}
	good := "apiVersion: v1\nkind: Pod\nmetadata: {name: b}\nspec:\n  containers:\n  - {name: b, image: b}\n"
	if err := os.WriteFile(filepath.Join(dir, "b.yaml"), []byte(good), 0o600); err != nil {
		t.Fatal(err)
	}
	r = runWithStdin("", "lint", "-f", dir, "-o", "json")
	if r.code != 2 || !strings.Contains(r.stdout, `"rule": "memory-limit-missing"`) || !strings.Contains(r.stderr, "a.yaml:4: invalid YAML") {
		t.Errorf("with a good file beside it: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}

func TestLintTextAndJSON(t *testing.T) {
	file := rulesData + "/jvm-heap-exceeds-limit/fail/xmx-over-limit.yaml"
	r := runWithStdin("", "lint", "-f", file)
	if !strings.HasPrefix(r.stdout, file+":15:18: error: ") || !strings.Contains(r.stdout, "[jvm-heap-exceeds-limit]") || !strings.Contains(r.stdout, "    fix: replace -Xmx1536m with -Xmx768m in JAVA_TOOL_OPTIONS") {
		t.Errorf("text output:\n%s", r.stdout)
	}
	r = runWithStdin("", "lint", "-f", file, "-o", "json")
	var rep model.LintReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Kind != "LintReport" || rep.APIVersion != model.APIVersion || len(rep.Findings) != 1 || rep.Findings[0].Fix == nil || rep.Findings[0].Object.Name != "ledger" {
		t.Errorf("json: %+v", rep)
	}
}

func TestLintStdinAndShowSuppressed(t *testing.T) {
	in := `apiVersion: v1
kind: Pod
metadata:
  name: p
  annotations: {oomdoctor.io/ignore: "all"}
spec:
  containers: [{name: c, image: i}]
`
	r := runWithStdin(in, "lint", "-f", "-")
	if r.code != 0 || r.stdout != "" || !strings.Contains(r.stderr, "suppressed") {
		t.Errorf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = runWithStdin(in, "lint", "-f", "-", "--show-suppressed")
	if !strings.Contains(r.stdout, "<stdin>:") || !strings.Contains(r.stdout, "(suppressed by annotation: oomdoctor.io/ignore: all)") {
		t.Errorf("--show-suppressed:\n%s", r.stdout)
	}
}

func TestLintListRules(t *testing.T) {
	r := runWithStdin("", "lint", "--list-rules")
	for _, id := range []string{"memory-limit-missing", "jvm-heap-exceeds-limit", "vpa-hpa-memory-conflict", "oom-score-adj-field"} {
		if !strings.Contains(r.stdout, id) {
			t.Errorf("--list-rules lacks %s:\n%s", id, r.stdout)
		}
	}
}

func TestLintReadsConfigFromTheFolder(t *testing.T) {
	dir := t.TempDir()
	wd, _ := os.Getwd()
	abs, _ := filepath.Abs(rulesData + "/oom-score-adj-field/fail/container-and-pod.yaml")
	if err := os.WriteFile(filepath.Join(dir, DefaultLintConfig), []byte("failOn: none\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	if r := runWithStdin("", "lint", "-f", abs); r.code != 0 {
		t.Errorf("./.oomdoctor.yaml with failOn: none was not read: exit %d %s", r.code, r.stderr)
	}
	if err := os.WriteFile(filepath.Join(dir, DefaultLintConfig), []byte("failOn: [\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := runWithStdin("", "lint", "-f", abs); r.code != 2 || !strings.Contains(r.stderr, DefaultLintConfig) {
		t.Errorf("a broken config: exit %d %s", r.code, r.stderr)
	}
}
