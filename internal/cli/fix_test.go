package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oomdoctor/oomdoctor/internal/fix"
)

const fixGolden = "../fix/testdata/golden"

// TestFixGolden runs every case of internal/fix/testdata/golden: the args
// file holds fix's arguments (RECS stands for the case's recs.json), in.yaml
// is fixed with --write and must become want.yaml byte for byte, keeping its
// permissions; a second run must change nothing.
func TestFixGolden(t *testing.T) {
	cases, err := os.ReadDir(fixGolden)
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) < 15 {
		t.Fatalf("only %d cases", len(cases))
	}
	for _, c := range cases {
		t.Run(c.Name(), func(t *testing.T) {
			dir := filepath.Join(fixGolden, c.Name())
			argsText, err := os.ReadFile(filepath.Join(dir, "args"))
			if err != nil {
				t.Fatal(err)
			}
			in, _ := os.ReadFile(filepath.Join(dir, "in.yaml"))
			want, _ := os.ReadFile(filepath.Join(dir, "want.yaml"))
			file := filepath.Join(t.TempDir(), "in.yaml")
			if err := os.WriteFile(file, in, 0o640); err != nil {
				t.Fatal(err)
			}
			args := []string{"fix", "-f", file}
			for _, a := range strings.Fields(string(argsText)) {
				if a == "RECS" {
					a = filepath.Join(dir, "recs.json")
				}
				args = append(args, a)
			}

			// Without --write: a diff, and the file unchanged.
			r := runWithStdin("", args...)
			if r.code != 0 || !strings.Contains(r.stdout, "+++ b/") {
				t.Fatalf("diff run: exit %d\n%s%s", r.code, r.stdout, r.stderr)
			}
			if now, _ := os.ReadFile(file); string(now) != string(in) {
				t.Fatal("fix without --write changed the file")
			}

			r = runWithStdin("", append(args, "--write")...)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			got, _ := os.ReadFile(file)
			if string(got) != string(want) {
				t.Errorf("fixed manifest differs\n--- got\n%s\n--- want\n%s", got, want)
			}
			if st, _ := os.Stat(file); st.Mode().Perm() != 0o640 {
				t.Errorf("permissions %v, want 0640", st.Mode().Perm())
			}
			r = runWithStdin("", append(args, "--write")...)
			if again, _ := os.ReadFile(file); string(again) != string(got) || !strings.Contains(r.stderr, "Nothing to change") {
				t.Errorf("a second run changed it again:\n%s\n%s", again, r.stderr)
			}
		})
	}
}

func TestFixErrors(t *testing.T) {
	dir := t.TempDir()
	two := filepath.Join(dir, "two.yaml")
	os.WriteFile(two, []byte("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - {name: a, image: a}\n  - {name: b, image: b}\n"), 0o600)
	broken := filepath.Join(dir, "broken.yaml")
	os.WriteFile(broken, []byte("apiVersion: v1\nkind: Pod\nspec:\n  containers: [\n"), 0o600)
	helm := filepath.Join(dir, "deployment.yaml")
	os.WriteFile(helm, []byte("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\n"), 0o600)
	recs := func(name, item string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(`{"apiVersion": "oomdoctor.io/v1alpha1", "kind": "Recommendations", "items": [`+item+`]}`), 0o600)
		return p
	}
	negative := recs("negative.json", `{"workload": {"kind": "Pod", "name": "p"}, "container": "a", "memoryLimitBytes": -5}`)
	inMi := recs("mi.json", `{"workload": {"kind": "Pod", "name": "p"}, "container": "a", "memoryLimitBytes": 512}`)
	above := recs("above.json", `{"workload": {"kind": "Pod", "name": "p"}, "container": "a", "memoryRequestBytes": 2147483648, "memoryLimitBytes": 1073741824}`)
	noContainer := recs("nocontainer.json", `{"workload": {"kind": "Pod", "name": "p"}, "memoryLimitBytes": 1073741824}`)
	twice := recs("twice.json", `{"workload": {"kind": "Pod", "name": "p", "namespace": "default"}, "container": "a", "memoryLimitBytes": 1073741824}, {"workload": {"kind": "pod", "name": "p", "namespace": "default"}, "container": "a", "memoryLimitBytes": 2147483648}`)
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"--parallel without --apply", []string{"fix", "-f", two, "-c", "a", "--memory-limit", "1Gi", "--parallel", "2"}, 2, "--parallel goes with --apply"},
		{"--parallel 0", []string{"fix", "--apply", "deployment/a", "--memory-limit", "1Gi", "--parallel", "0"}, 2, "--parallel 0: want 1 or more objects at once"},
		{"--parallel with --configmaps", []string{"fix", "--apply", "deployments", "--memory-limit", "1Gi", "--parallel", "4", "--configmaps"}, 2, "--configmaps changes ConfigMaps in step with each object's rollout"},
		{"negative recommendation", []string{"fix", "-f", two, "--recommendations", negative}, 2, "negative.json: items[0]: Pod p container a: memoryLimitBytes -5: want a positive number of bytes; nothing was changed"},
		{"recommendation in Mi", []string{"fix", "-f", two, "--recommendations", inMi}, 2, "memoryLimitBytes 512 is 512 bytes, too small for any container: the field is in bytes (536870912 for 512Mi)"},
		{"recommended request above limit", []string{"fix", "-f", two, "--recommendations", above}, 2, "memoryRequestBytes 2147483648 (2Gi) is above memoryLimitBytes 1073741824 (1Gi)"},
		{"two items for one container", []string{"fix", "-f", two, "--recommendations", twice}, 2, "twice.json: items[0] and items[1] both size Pod default/p container a, differently (request none, limit 1Gi; request none, limit 2Gi): keep one; nothing was changed"},
		{"recommendation without container", []string{"fix", "-f", two, "--recommendations", noContainer}, 2, `items[0]: workload {kind: "Pod", name: "p"}, container "": each item names`},
		{"which container", []string{"fix", "-f", two, "--memory-limit", "1Gi"}, 2, "say which with --container"},
		{"no such container", []string{"fix", "-f", two, "--memory-limit", "1Gi", "-c", "z"}, 2, `no container "z" (containers: a, b)`},
		{"no such workload", []string{"fix", "-f", two, "pod/q", "deploy/p", "pods", "--memory-limit", "1Gi", "-c", "a"}, 2, "pod/q, deploy/p: no workloads of those names in the files of -f (pod/p); nothing was changed"},
		{"broken file left untouched", []string{"fix", "-f", broken, "--memory-limit", "1Gi", "--write"}, 2, broken + ":4"},
		{"helm template not edited", []string{"fix", "-f", helm, "--memory-limit", "1Gi", "--write"}, 0, "not edited: it is a template"},
		{"no values", []string{"fix", "-f", two}, 2, "exactly one of"},
		{"two sources", []string{"fix", "-f", two, "--lint", "--memory-limit", "1Gi"}, 2, "exactly one of"},
		{"request above limit", []string{"fix", "-f", two, "--memory-limit", "1Gi", "--memory-request", "2Gi", "-c", "a"}, 2, "above --memory-limit"},
		{"millibytes", []string{"fix", "-f", two, "--memory-limit", "512m", "-c", "a"}, 2, "did you mean 512Mi"},
		{"average above the peak", []string{"fix", "-f", two, "--from-peak", "700Mi", "--average", "900Mi", "-c", "a"}, 2, "--average 900Mi is above --from-peak 700Mi"},
		{"average without a peak", []string{"fix", "-f", two, "--memory-limit", "1Gi", "--average", "300Mi", "-c", "a"}, 2, "--average and --factor go with --from-peak PEAK"},
		{"bytes", []string{"fix", "-f", two, "--memory-limit", "512", "-c", "a"}, 2, "512 is 512 bytes: too small for any container (did you mean 512Mi?)"},
		{"kibibytes", []string{"fix", "-f", two, "--from-peak", "1500Ki", "-c", "a"}, 2, "1500Ki is 1536000 bytes: too small for any container, which needs at least 4Mi\n"},
		{"write to stdin", []string{"fix", "-f", "-", "--lint", "--write"}, 2, "cannot write to standard input"},
		{"write and apply", []string{"fix", "-f", two, "--lint", "--write", "--apply"}, 2, "exclude each other"},
		{"bad recommendations", []string{"fix", "-f", two, "--recommendations", two}, 2, "want Recommendations (oomdoctor recommend"},
		{"not a document", []string{"fix", "-f", two, "--recommendations", broken}, 2, "not a Recommendations document"},
		{"from-cluster without Prometheus", []string{"fix", "-f", two, "--memory-limit", "1Gi", "-c", "a", "--from-cluster"}, 2, "--from-cluster goes with --prometheus-url"},
		{"min-change without Prometheus", []string{"fix", "-f", two, "--lint", "--min-change", "5%"}, 2, "--min-change goes with --prometheus-url"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := os.ReadFile(broken)
			r := runWithStdin("", tc.args...)
			if r.code != tc.code || !strings.Contains(r.stdout+r.stderr, tc.want) {
				t.Errorf("exit %d (want %d):\n%s%s", r.code, tc.code, r.stdout, r.stderr)
			}
			if after, _ := os.ReadFile(broken); string(after) != string(before) {
				t.Error("the broken file changed")
			}
		})
	}
}

// Every workload of a file that cannot be fixed is said, not only the
// first; and a TYPE/NAME of that file is no unknown name.
func TestFixSaysEveryWorkloadItCannotFix(t *testing.T) {
	file := filepath.Join(t.TempDir(), "pods.yaml")
	pod := "apiVersion: v1\nkind: Pod\nmetadata: {name: %s}\nspec:\n  containers:\n  - {name: a, image: a}\n"
	two := pod + "  - {name: b, image: b}\n"
	text := fmt.Sprintf(two, "p") + "---\n" + fmt.Sprintf(two, "q") + "---\n" + fmt.Sprintf(pod, "r")
	if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runWithStdin("", "fix", "-f", file, "--memory-limit", "1Gi", "--write")
	for _, name := range []string{"p", "q"} {
		if !strings.Contains(r.stderr, "Pod "+name+": it has 2 containers (a, b): say which with --container (left untouched)") {
			t.Errorf("pod %s's error is not said:\n%s", name, r.stderr)
		}
	}
	r2 := runWithStdin("", "fix", "-f", file, "pod/p", "pod/r", "--memory-limit", "1Gi", "--write")
	if r2.code != 2 || !strings.Contains(r2.stderr, "Pod p: it has 2 containers") || strings.Contains(r2.stderr, "Pod q") || strings.Contains(r2.stderr, "no workload") {
		t.Errorf("exit %d, want 2 and pod p's error alone:\n%s", r2.code, r2.stderr)
	}
	if after, _ := os.ReadFile(file); r.code != 2 || string(after) != text {
		t.Errorf("exit %d, want 2 and the file as it was:\n%s", r.code, after)
	}
}

// A limit an alias repeats for another container is not changed for one
// container alone (the other would change too, unsaid); for both alike
// it is, at the anchor. A TYPE/NAME of that file is no unknown name.
func TestFixLeavesAnchoredValuesOfOthers(t *testing.T) {
	file := filepath.Join(t.TempDir(), "api.yaml")
	text := `apiVersion: apps/v1
kind: Deployment
metadata: {name: api}
spec:
  template:
    spec:
      containers:
      - name: api
        image: api
        resources:
          limits: &lim
            memory: 128Mi # shared
      - name: proxy
        image: proxy
        resources:
          limits: *lim
`
	if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runWithStdin("", "fix", "-f", file, "deployment/api", "--container", "api", "--memory-limit", "512Mi", "--write")
	want := "error: " + file + ":16: editing spec.template.spec.containers[0].resources.limits.memory would also change spec.template.spec.containers[1].resources.limits.memory, which reads the same text through a YAML anchor"
	if r.code != 2 || !strings.Contains(r.stderr, want) || strings.Contains(r.stderr, "no workload") {
		t.Errorf("exit %d, want 2 and\n%s\n---\n%s", r.code, want, r.stderr)
	}
	if after, _ := os.ReadFile(file); string(after) != text {
		t.Errorf("the file changed:\n%s", after)
	}
	recs := filepath.Join(t.TempDir(), "recs.json")
	both := `{"apiVersion": "oomdoctor.io/v1alpha1", "kind": "Recommendations", "items": [
	  {"workload": {"namespace": "default", "kind": "Deployment", "name": "api"}, "container": "api", "memoryLimitBytes": 536870912},
	  {"workload": {"namespace": "default", "kind": "Deployment", "name": "api"}, "container": "proxy", "memoryLimitBytes": 536870912}]}`
	if err := os.WriteFile(recs, []byte(both), 0o600); err != nil {
		t.Fatal(err)
	}
	r = runWithStdin("", "fix", "-f", file, "--recommendations", recs, "--write")
	if after, _ := os.ReadFile(file); r.code != 0 || string(after) != strings.Replace(text, "128Mi", "512Mi", 1) {
		t.Errorf("both alike: exit %d\n%s\n%s", r.code, after, r.stderr)
	}
}

// A read-only file is not replaced (renaming over it would work), and is
// found before any other file is written.
func TestFixLeavesReadOnlyFiles(t *testing.T) {
	dir := t.TempDir()
	pod := "apiVersion: v1\nkind: Pod\nmetadata: {name: %s}\nspec:\n  containers:\n  - {name: a, image: a}\n"
	rw, ro := filepath.Join(dir, "a.yaml"), filepath.Join(dir, "b.yaml")
	os.WriteFile(rw, []byte(fmt.Sprintf(pod, "a")), 0o644)
	os.WriteFile(ro, []byte(fmt.Sprintf(pod, "b")), 0o444)
	r := runWithStdin("", "fix", "-f", rw, "-f", ro, "--memory-limit", "256Mi", "--write")
	if r.code != 1 || !strings.Contains(r.stderr, "error: "+ro+" is read-only (mode 0444): make it writable (chmod u+w "+ro+") to change it; no file was changed") {
		t.Errorf("exit %d, want 1 and the read-only file named:\n%s", r.code, r.stderr)
	}
	for _, f := range []string{rw, ro} {
		if strings.Contains(mustRead(t, f), "256Mi") {
			t.Errorf("%s was changed", f)
		}
	}
}

func TestFixStdinPrintsTheManifest(t *testing.T) {
	in := "apiVersion: v1\nkind: Pod\nmetadata: {name: p} # keep\nspec:\n  containers:\n  - name: a\n    image: a\n"
	r := runWithStdin(in, "fix", "-f", "-", "--memory-limit", "256Mi")
	want := in + "    resources:\n      limits:\n        memory: 256Mi\n"
	if r.code != 0 || r.stdout != want {
		t.Errorf("exit %d\n--- got\n%s\n--- want\n%s\n%s", r.code, r.stdout, want, r.stderr)
	}
}

func TestFixPatchDir(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "base.yaml")
	in, _ := os.ReadFile(filepath.Join(fixGolden, "jvm-heap-follows", "in.yaml"))
	os.WriteFile(base, in, 0o600)
	patches := filepath.Join(dir, "patches")
	r := runWithStdin("", "fix", "-f", base, "--memory-limit", "1Gi", "--memory-request", "1Gi", "--patch-dir", patches)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if now, _ := os.ReadFile(base); string(now) != string(in) {
		t.Error("--patch-dir touched the base")
	}
	patch, err := os.ReadFile(filepath.Join(patches, "deployment-ledger-memory.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"kind: Deployment", "name: ledger", "- name: ledger", "memory: 1Gi", "- name: JAVA_TOOL_OPTIONS", "value: -XX:+UseG1GC -Xmx768m"} {
		if !strings.Contains(string(patch), want) {
			t.Errorf("the patch lacks %q:\n%s", want, patch)
		}
	}
	if strings.Contains(string(patch), "image:") {
		t.Errorf("the patch carries unchanged fields:\n%s", patch)
	}
	if !strings.Contains(r.stderr, "- path: deployment-ledger-memory.yaml") {
		t.Errorf("no kustomization hint: %s", r.stderr)
	}
}

// A value outside a LimitRange of the files (another file here) leaves its
// file untouched, with an error that says what the LimitRange allows;
// one within it is written.
func TestFixKeepsWithinLimitRanges(t *testing.T) {
	dir := t.TempDir()
	lr := "apiVersion: v1\nkind: LimitRange\nmetadata: {name: mem, namespace: shop}\nspec:\n  limits:\n  - type: Container\n    max: {memory: 512Mi}\n"
	app := "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api, namespace: shop}\nspec:\n  template:\n    spec:\n      containers:\n      - name: api\n        image: api:1\n        resources:\n          limits: {memory: 256Mi}  # raised after a kill\n"
	path := writeFiles(t, dir, "limits.yaml", lr, "api.yaml", app)
	r := run("fix", "-f", dir, "--memory-limit", "1Gi", "--write")
	got, _ := os.ReadFile(path)
	want := "error: " + path + `: Deployment shop/api container "api": the new memory limit 1Gi is above the 512Mi LimitRange shop/mem (` + filepath.Join(dir, "limits.yaml") + ":1) allows a container, so the API server would refuse its pods; lower it to 512Mi or less, or have the LimitRange raised (left untouched)"
	if r.code != 1 || !strings.Contains(r.stderr, want) || string(got) != app {
		t.Errorf("a limit above the LimitRange: exit %d\n%s\nwant %s\nfile:\n%s", r.code, r.stderr, want, got)
	}
	r = run("fix", "-f", dir, "--memory-limit", "512Mi", "--write")
	got, _ = os.ReadFile(path)
	if r.code != 0 || !strings.Contains(string(got), "limits: {memory: 512Mi}  # raised after a kill") {
		t.Errorf("a limit the LimitRange allows: exit %d\n%s\nfile:\n%s", r.code, r.stderr, got)
	}
}

// fix checks the files' ResourceQuotas against the new values: 2 replicas
// of 768Mi need 1.5Gi of requests, above the quota's 1Gi, a warning (the
// files are still written: the quota is the namespace's); 2 of 448Mi fit,
// and nothing is said.
func TestFixWarnsOfQuotas(t *testing.T) {
	dir := t.TempDir()
	q := "apiVersion: v1\nkind: ResourceQuota\nmetadata: {name: compute, namespace: shop}\nspec:\n  hard: {requests.memory: 1Gi}\n"
	app := "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api, namespace: shop}\nspec:\n  replicas: 2\n  strategy: {type: Recreate}\n  template:\n    spec:\n      containers:\n      - name: api\n        image: api:1\n        resources:\n          requests: {memory: 256Mi}\n          limits: {memory: 512Mi}\n"
	path := writeFiles(t, dir, "quota.yaml", q, "api.yaml", app)
	r := run("fix", "-f", dir, "--memory-request", "768Mi", "--memory-limit", "1Gi", "--write")
	got, _ := os.ReadFile(path)
	want := "warning: " + filepath.Join(dir, "quota.yaml") + ":5: with the new values, ResourceQuota shop/compute (" + filepath.Join(dir, "quota.yaml") + ":1) allows requests.memory up to 1Gi, and the workloads of these files in its namespace alone need 1536Mi at their replicas (Deployment shop/api 2 x 768Mi)"
	if r.code != 0 || !strings.Contains(r.stderr, want) || !strings.Contains(string(got), "requests: {memory: 768Mi}") {
		t.Errorf("values the quota cannot hold: exit %d\n%s\nwant %s\nfile:\n%s", r.code, r.stderr, want, got)
	}
	r = run("fix", "-f", dir, "--memory-request", "448Mi", "--memory-limit", "1Gi", "--write")
	if r.code != 0 || strings.Contains(r.stderr, "ResourceQuota") {
		t.Errorf("values the quota holds: exit %d\n%s", r.code, r.stderr)
	}
}

// An HPA in another file that scales the workload on memory: new requests
// move its point (the warning gives the target that keeps it), a new limit
// under an averageValue leaves it unreachable, and values that keep the
// requests say nothing.
func TestFixWarnsOfHPAs(t *testing.T) {
	dir := t.TempDir()
	app := "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api, namespace: shop}\nspec:\n  template:\n    spec:\n      containers:\n      - name: api\n        image: api:1\n        resources:\n          requests: {memory: 256Mi}\n          limits: {memory: 512Mi}\n"
	hpa := func(target string) string {
		return "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: api, namespace: shop}\nspec:\n  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: api}\n  maxReplicas: 10\n  metrics:\n  - type: Resource\n    resource:\n      name: memory\n      target: " + target + "\n"
	}
	hpaFile := filepath.Join(dir, "hpa.yaml")
	writeFiles(t, dir, "api.yaml", app, "hpa.yaml", hpa("{type: Utilization, averageUtilization: 80}"))
	r := run("fix", "-f", dir, "--memory-request", "512Mi", "--memory-limit", "640Mi")
	want := "warning: " + hpaFile + ":11: with the new values, HorizontalPodAutoscaler shop/api adds replicas for Deployment/api at 410Mi a pod, not 205Mi (80% of the pod's requests, now 512Mi from 256Mi): at today's usage it runs fewer replicas, each under more load; set its averageUtilization to 40% to keep the point\n"
	if r.code != 0 || !strings.Contains(r.stderr, want) {
		t.Errorf("new requests: exit %d\n%s\nwant %s", r.code, r.stderr, want)
	}
	if r := run("fix", "-f", dir, "--memory-request", "256Mi", "--memory-limit", "640Mi"); r.code != 0 || strings.Contains(r.stderr, "HorizontalPodAutoscaler") {
		t.Errorf("the same requests: exit %d\n%s", r.code, r.stderr)
	}
	writeFiles(t, dir, "hpa.yaml", hpa("{type: AverageValue, averageValue: 400Mi}"))
	r = run("fix", "-f", dir, "--memory-request", "256Mi", "--memory-limit", "384Mi")
	want = "warning: " + hpaFile + ":11: with the new values, HorizontalPodAutoscaler shop/api scales Deployment/api on memory at an average of 400Mi a pod, at or above the memory limits (384Mi a pod)"
	if r.code != 0 || !strings.Contains(r.stderr, want) || !strings.Contains(r.stderr, "[hpa-memory-target-unreachable]") {
		t.Errorf("a limit under the HPA's point: exit %d\n%s\nwant %s", r.code, r.stderr, want)
	}
}

// writeFiles writes name, content pairs into dir and returns the last
// file's path.
func writeFiles(t *testing.T, dir string, nameContent ...string) string {
	t.Helper()
	path := ""
	for i := 0; i+1 < len(nameContent); i += 2 {
		path = filepath.Join(dir, nameContent[i])
		if err := os.WriteFile(path, []byte(nameContent[i+1]), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// fix reads lint's config (--config, or ./.oomdoctor.yaml): --lint does
// not fix what it turns off or ignores, and the checks of the new values
// take its settings (a DaemonSet's nodes for the quota).
func TestFixTakesTheLintConfig(t *testing.T) {
	dir := t.TempDir()
	src, err := os.ReadFile(filepath.Join("..", "lint", "testdata", "rules", "jvm-heap-exceeds-limit", "fail", "xmx-over-limit.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	app := writeFiles(t, dir, "ledger.yaml", string(src))
	cfg := func(body string) string {
		return writeFiles(t, t.TempDir(), "lint.yaml", "apiVersion: oomdoctor.io/v1alpha1\nkind: LintConfig\n"+body)
	}
	for _, c := range []struct {
		name  string
		args  []string
		fixed bool
	}{
		{"no config", nil, true},
		{"rule off", []string{"--config", cfg("rules:\n  jvm-heap-exceeds-limit: {disabled: true}\n")}, false},
		{"namespace ignored", []string{"--config", cfg("ignore:\n- rules: [all]\n  namespaces: [payments]\n")}, false},
		{"another namespace ignored", []string{"--config", cfg("ignore:\n- rules: [all]\n  namespaces: [shop]\n")}, true},
	} {
		r := run(append([]string{"fix", "-f", app, "--lint"}, c.args...)...)
		fixed := strings.Contains(r.stdout, "-Xmx768m")
		if r.code != 0 || fixed != c.fixed || !fixed && !strings.Contains(r.stderr, "Nothing to change.") {
			t.Errorf("%s: exit %d, fixed %v, want %v\n%s%s", c.name, r.code, fixed, c.fixed, r.stdout, r.stderr)
		}
	}
	if r := run("fix", "-f", app, "--lint", "--config", cfg("rules:\n  memory-over-quota: {nodes: -1}\n")); r.code != 2 || !strings.Contains(r.stderr, "reading the lint config") || !strings.Contains(r.stderr, "nodes -1") {
		t.Errorf("a bad config: exit %d\n%s", r.code, r.stderr)
	}

	// 1Gi for the Deployment and 256Mi for the DaemonSet's pod fit 2Gi;
	// on 5 nodes the DaemonSet needs 1280Mi and they do not.
	qdir := t.TempDir()
	quota := "apiVersion: v1\nkind: ResourceQuota\nmetadata: {name: compute, namespace: ops}\nspec:\n  hard: {requests.memory: 2Gi}\n"
	ds := "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: log-agent, namespace: ops}\nspec:\n  template:\n    spec:\n      containers:\n      - name: agent\n        image: agent:1\n        resources:\n          requests: {memory: 128Mi}\n          limits: {memory: 128Mi}\n"
	dep := "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api, namespace: ops}\nspec:\n  strategy: {type: Recreate}\n  template:\n    spec:\n      containers:\n      - name: api\n        image: api:1\n        resources:\n          requests: {memory: 1Gi}\n          limits: {memory: 1Gi}\n"
	writeFiles(t, qdir, "quota.yaml", quota, "ds.yaml", ds, "api.yaml", dep)
	set := []string{"fix", "-f", qdir, "daemonset/log-agent", "--memory-request", "256Mi", "--memory-limit", "256Mi"}
	if r := run(set...); r.code != 0 || strings.Contains(r.stderr, "ResourceQuota") {
		t.Errorf("one pod of the DaemonSet: exit %d\n%s", r.code, r.stderr)
	}
	r := run(append(set, "--config", cfg("rules:\n  memory-over-quota: {nodes: 5}\n"))...)
	if want := "need 2304Mi at their replicas (DaemonSet ops/log-agent 5 x 256Mi, Deployment ops/api 1 x 1Gi)"; r.code != 0 || !strings.Contains(r.stderr, want) {
		t.Errorf("five nodes: exit %d\n%s\nwant %s", r.code, r.stderr, want)
	}
}

const (
	redisConf = `# Redis settings
apiVersion: v1
kind: ConfigMap
metadata:
  name: redis-conf
  namespace: shop
data:
  redis.conf: |
    # the session cache
    maxmemory 900mb
    maxmemory-policy allkeys-lru
    save ""
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: api-env
  namespace: shop
data:
  JAVA_OPTS: "-Xmx1g -XX:+UseG1GC"   # heap
  LOG_LEVEL: info
`
	cacheAndAPI = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: cache
  namespace: shop
spec:
  template:
    spec:
      containers:
      - name: redis
        image: redis:7.4
        command: ["redis-server", "/etc/redis/redis.conf"]
        resources:
          limits:
            memory: 1Gi
        volumeMounts:
        - name: conf
          mountPath: /etc/redis
      volumes:
      - name: conf
        configMap:
          name: redis-conf
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: shop
spec:
  template:
    spec:
      containers:
      - name: api
        image: eclipse-temurin:21
        envFrom:
        - configMapRef:
            name: api-env
        resources:
          limits:
            memory: 1536Mi
`
)

// A heap flag or maxmemory set in a ConfigMap of the files (another file
// here) moves with the new limit in the ConfigMap itself, one line of the
// block changed and the rest kept; a second run changes nothing.
func TestFixFollowsConfigMaps(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, "cm.yaml", redisConf, "deploy.yaml", cacheAndAPI)
	r := run("fix", "-f", dir, "--memory-limit", "768Mi", "--write")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "cm.yaml"))
	want := strings.Replace(strings.Replace(redisConf, "maxmemory 900mb", "maxmemory 576mb", 1), `"-Xmx1g -XX`, `"-Xmx576m -XX`, 1)
	if string(got) != want {
		t.Errorf("cm.yaml:\n%s\nwant:\n%s", got, want)
	}
	for _, line := range []string{
		"cm.yaml: ConfigMap shop/redis-conf: maxmemory 900mb → maxmemory 576mb in configmap redis-conf key redis.conf, so redis keeps room under the new limit (for Deployment shop/cache container redis)",
		"cm.yaml: ConfigMap shop/api-env: -Xmx1g → -Xmx576m in JAVA_OPTS, so the heap fits the new limit (for Deployment shop/api container api)",
		"Wrote 2 files.",
	} {
		if !strings.Contains(r.stderr, line) {
			t.Errorf("stderr lacks %q:\n%s", line, r.stderr)
		}
	}
	if r := run("fix", "-f", dir, "--memory-limit", "768Mi", "--write"); !strings.Contains(r.stderr, "Nothing to change") {
		t.Errorf("a second run: %s", r.stderr)
	}
}

// A ConfigMap key is changed only when every workload of the files that
// reads it asks for the same text; else a note says why and what to do,
// and the limits are still written.
func TestFixConfigMapReadByOthers(t *testing.T) {
	other := strings.NewReplacer("name: cache\n", "name: cache-b\n", "memory: 1Gi", "memory: 2Gi").Replace(cacheAndAPI[:strings.Index(cacheAndAPI, "---")])
	// Reads another key of api-env: it does not stand in the way.
	logs := strings.NewReplacer("name: api\n", "name: logs\n", "envFrom:\n        - configMapRef:\n            name: api-env", "env:\n        - name: LOG_LEVEL\n          valueFrom:\n            configMapKeyRef: {name: api-env, key: LOG_LEVEL}").Replace(cacheAndAPI[strings.Index(cacheAndAPI, "---")+4:])
	dir := t.TempDir()
	writeFiles(t, dir, "cm.yaml", redisConf, "deploy.yaml", cacheAndAPI, "other.yaml", other+"---\n"+logs)
	r := run("fix", "-f", dir, "deployment/cache", "deployment/api", "--memory-limit", "768Mi", "--write")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "cm.yaml"))
	if !strings.Contains(string(got), "maxmemory 900mb") || !strings.Contains(string(got), "-Xmx576m") {
		t.Errorf("cm.yaml:\n%s", got)
	}
	note := "Deployment shop/cache container redis: maxmemory 900mb → maxmemory 576mb in configmap redis-conf key redis.conf, so redis keeps room under the new limit: not changed, since ConfigMap shop/redis-conf key redis.conf is also read by Deployment shop/cache-b, whose limit does not change here"
	if !strings.Contains(r.stderr, note) {
		t.Errorf("no note of the other reader:\n%s", r.stderr)
	}
	if d, _ := os.ReadFile(filepath.Join(dir, "deploy.yaml")); !strings.Contains(string(d), "memory: 768Mi") || strings.Contains(string(d), "memory: 1Gi") {
		t.Errorf("the limits were not written:\n%s", d)
	}

	// Both readers, each asking for its own size: one saves to disk
	// (half the limit), the other does not (three quarters).
	dir = t.TempDir()
	saving := strings.Replace(other, `"/etc/redis/redis.conf"]`, `"/etc/redis/redis.conf", "--save", "60 1"]`, 1)
	writeFiles(t, dir, "cm.yaml", redisConf, "deploy.yaml", cacheAndAPI, "other.yaml", saving)
	r = run("fix", "-f", dir, "--memory-limit", "768Mi", "--write")
	got, _ = os.ReadFile(filepath.Join(dir, "cm.yaml"))
	if r.code != 0 || !strings.Contains(string(got), "maxmemory 900mb") || !strings.Contains(r.stderr, "is read by Deployment shop/cache and Deployment shop/cache-b, which need different values") {
		t.Errorf("two readers, two sizes: exit %d\n%s\ncm.yaml:\n%s", r.code, r.stderr, got)
	}
}

// A Redis whose config file is in a ConfigMap not given: a note with the
// size that would fit. --patch-dir writes the ConfigMap's patch too.
func TestFixConfigMapNotGivenAndPatches(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, "deploy.yaml", cacheAndAPI)
	r := run("fix", "-f", filepath.Join(dir, "deploy.yaml"), "deployment/cache", "--memory-limit", "768Mi")
	if want := "Redis reads its settings from /etc/redis/redis.conf, which oomdoctor could not read (no ConfigMap it was given or could get shows it); if it sets a maxmemory, keep it at most 384mb"; r.code != 0 || !strings.Contains(r.stderr, want) {
		t.Errorf("want %q: exit %d\n%s", want, r.code, r.stderr)
	}

	writeFiles(t, dir, "cm.yaml", redisConf)
	patches := filepath.Join(dir, "patches")
	r = run("fix", "-f", dir, "--memory-limit", "768Mi", "--patch-dir", patches)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	patch, err := os.ReadFile(filepath.Join(patches, "configmap-redis-conf-memory.yaml"))
	if err != nil {
		t.Fatalf("%v\n%s", err, r.stderr)
	}
	for _, want := range []string{"kind: ConfigMap", "name: redis-conf", "namespace: shop", "redis.conf: |", "    maxmemory 576mb\n", "    maxmemory-policy allkeys-lru\n"} {
		if !strings.Contains(string(patch), want) {
			t.Errorf("the patch lacks %q:\n%s", want, patch)
		}
	}
	if !strings.Contains(r.stderr, "- path: configmap-redis-conf-memory.yaml") {
		t.Errorf("no kustomization line: %s", r.stderr)
	}
	if now, _ := os.ReadFile(filepath.Join(dir, "cm.yaml")); string(now) != redisConf {
		t.Error("--patch-dir touched the ConfigMap's file")
	}
}

// fix --lint lints the files together, as lint -f does: a GOMEMLIMIT set
// in a ConfigMap of another file is seen and not written again; a file
// that does not parse is reported and the others still fixed.
func TestFixLintReadsEveryFile(t *testing.T) {
	dir := t.TempDir()
	app := func(name, envFrom string) string {
		return "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: " + name + "}\nspec:\n  template:\n    spec:\n      containers:\n      - name: app\n        image: ghcr.io/example/ingest:7\n        env:\n        - {name: GOGC, value: \"100\"}\n" + envFrom + "        resources:\n          limits: {memory: 1Gi}\n"
	}
	writeFiles(t, dir,
		"a-env.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ingest-env}\ndata:\n  GOMEMLIMIT: 900MiB\n",
		"b-ingest.yaml", app("ingest", "        envFrom:\n        - configMapRef: {name: ingest-env}\n"),
		"c-broken.yaml", "a: [\n",
		"d-web.yaml", app("web", ""))
	r := run("fix", "-f", dir, "--lint")
	if r.code != 2 || !strings.Contains(r.stderr, "c-broken.yaml:1") {
		t.Errorf("the broken file: exit %d\n%s", r.code, r.stderr)
	}
	if strings.Contains(r.stdout, "b-ingest.yaml") || !strings.Contains(r.stdout, "+++ b/"+fix.DiffPath(filepath.Join(dir, "d-web.yaml"))) || !strings.Contains(r.stdout, "+          value: 921MiB") {
		t.Errorf("want only d-web.yaml changed:\n%s\n%s", r.stdout, r.stderr)
	}

	// A JVM known only from its ConfigMap's JAVA_TOOL_OPTIONS, in another
	// file: its limit is raised to the JVM's floor.
	dir = t.TempDir()
	writeFiles(t, dir,
		"a-env.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: jvm-env}\ndata:\n  JAVA_TOOL_OPTIONS: \"-XX:+UseG1GC\"\n",
		"b-app.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: w}\nspec:\n  template:\n    spec:\n      containers:\n      - name: app\n        image: ghcr.io/example/w:1\n        envFrom:\n        - configMapRef: {name: jvm-env}\n        resources:\n          limits: {memory: 64Mi}\n")
	if r := run("fix", "-f", dir, "--lint"); r.code != 0 || !strings.Contains(r.stdout, "+          limits: {memory: 128Mi}") {
		t.Errorf("the JVM's floor: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}

// A lower limit moves -Xms when there is no -Xmx: the JVM raises its
// maximum heap to the initial one, so -Xms1g under 1Gi is a 1g heap.
func TestFixMovesXmsWithoutXmx(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, "d.yaml", `apiVersion: apps/v1
kind: Deployment
metadata: {name: j, namespace: a}
spec:
  template:
    spec:
      containers:
      - name: a
        image: eclipse-temurin:21
        env: [{name: JAVA_TOOL_OPTIONS, value: "-Xms1g -XX:+UseG1GC"}]
        resources: {requests: {memory: 2Gi}, limits: {memory: 2Gi}}
`)
	r := run("fix", "-f", dir, "--memory-limit", "1Gi", "--write")
	got, _ := os.ReadFile(filepath.Join(dir, "d.yaml"))
	if r.code != 0 || !strings.Contains(string(got), `"-Xms768m -XX:+UseG1GC"`) || !strings.Contains(r.stderr, "-Xms1g → -Xms768m in JAVA_TOOL_OPTIONS, so the heap fits the new limit") {
		t.Errorf("exit %d\n%s\n%s", r.code, r.stderr, got)
	}
}

// Two lint fixes of one field (two flags of one JAVA_TOOL_OPTIONS, from
// two rules) both hold, in the env value and in a ConfigMap of the
// files.
func TestFixLintTwoFlagsOfOneField(t *testing.T) {
	const deploy = `apiVersion: apps/v1
kind: Deployment
metadata: {name: j, namespace: a}
spec:
  template:
    spec:
      containers:
      - name: a
        image: eclipse-temurin:21
        env:
        - name: JAVA_TOOL_OPTIONS
          value: "-Xmx3g -Xss1Mi -XX:+UseG1GC"
        resources: {requests: {memory: 2Gi}, limits: {memory: 2Gi}}
`
	const cm = `apiVersion: v1
kind: ConfigMap
metadata: {name: jvm, namespace: a}
data:
  opts: "-Xmx3g -Xss1Mi -XX:+UseG1GC"
`
	fromCM := strings.Replace(deploy, `          value: "-Xmx3g -Xss1Mi -XX:+UseG1GC"`, `          valueFrom: {configMapKeyRef: {name: jvm, key: opts}}`, 1)
	for _, tc := range []struct {
		name, file, text, want string
	}{
		{"env value", "d.yaml", deploy, `"-Xmx1536m -Xss1m -XX:+UseG1GC"`},
		{"ConfigMap", "d.yaml", cm + "---\n" + fromCM, `opts: "-Xmx1536m -Xss1m -XX:+UseG1GC"`},
		// An old JDK: -Xmx set beside the flags it does not know, both
		// removed after it, whatever the order of the findings.
		{"old JDK", "d.yaml", strings.NewReplacer("eclipse-temurin:21", "openjdk:8u181-jre", "-Xmx3g -Xss1Mi -XX:+UseG1GC", "-XX:MaxRAMPercentage=75.0 -XX:+UseContainerSupport").Replace(deploy), `value: "-Xmx1536m"`},
	} {
		dir := t.TempDir()
		writeFiles(t, dir, tc.file, tc.text)
		r := run("fix", "-f", dir, "--lint", "--write")
		got, _ := os.ReadFile(filepath.Join(dir, tc.file))
		if r.code != 0 || !strings.Contains(string(got), tc.want) || !strings.Contains(r.stderr, "(jvm-memory-flag-invalid)") {
			t.Errorf("%s: exit %d\n%s\n%s", tc.name, r.code, r.stderr, got)
		}
	}
}

// fix --lint makes lint's fixes of values read from a ConfigMap of the
// files in the ConfigMap: a maxmemory in a mounted redis.conf, a heap
// flag in env from one. Another reader for which lint asks nothing keeps
// the ConfigMap as it is, with a note.
func TestFixLintEditsConfigMaps(t *testing.T) {
	const jvmFit1Gi = "768m" // three quarters of 1Gi, as fix sizes a heap
	dir := t.TempDir()
	tight := strings.Replace(cacheAndAPI, "memory: 1536Mi", "memory: 1Gi", 1)
	writeFiles(t, dir, "cm.yaml", redisConf, "deploy.yaml", tight)
	r := run("fix", "-f", dir, "--lint", "--write")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "cm.yaml"))
	if want := strings.NewReplacer("maxmemory 900mb", "maxmemory 768mb", `"-Xmx1g -XX`, `"-Xmx`+jvmFit1Gi+` -XX`).Replace(redisConf); string(got) != want {
		t.Errorf("cm.yaml:\n%s\nwant:\n%s\n%s", got, want, r.stderr)
	}
	if d, _ := os.ReadFile(filepath.Join(dir, "deploy.yaml")); string(d) != tight {
		t.Errorf("deploy.yaml changed:\n%s", d)
	}
	for _, line := range []string{
		"cm.yaml: ConfigMap shop/redis-conf: use maxmemory 768mb (cache-size-exceeds-limit) (for Deployment shop/cache container redis)",
		"cm.yaml: ConfigMap shop/api-env: replace -Xmx1g with -Xmx" + jvmFit1Gi,
	} {
		if !strings.Contains(r.stderr, line) {
			t.Errorf("stderr lacks %q:\n%s", line, r.stderr)
		}
	}
	if r := run("fix", "-f", dir, "--lint"); r.code != 0 || r.stdout != "" {
		t.Errorf("a second run changes nothing: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}

	// cache-b mounts the same redis.conf under 2Gi, where 900mb fits.
	dir = t.TempDir()
	other := strings.NewReplacer("name: cache\n", "name: cache-b\n", "memory: 1Gi", "memory: 2Gi").Replace(cacheAndAPI[:strings.Index(cacheAndAPI, "---")])
	writeFiles(t, dir, "cm.yaml", redisConf, "deploy.yaml", cacheAndAPI, "other.yaml", other)
	r = run("fix", "-f", dir, "--lint", "--write")
	got, _ = os.ReadFile(filepath.Join(dir, "cm.yaml"))
	note := "Deployment shop/cache container redis: use maxmemory 768mb (cache-size-exceeds-limit): not changed, since ConfigMap shop/redis-conf key redis.conf is also read by Deployment shop/cache-b, for which cache-size-exceeds-limit asks no such change"
	if r.code != 0 || string(got) != redisConf || !strings.Contains(r.stderr, note) {
		t.Errorf("another reader: exit %d\n%s\ncm.yaml:\n%s", r.code, r.stderr, got)
	}

	// A JDK blind to the limit, whose JAVA_TOOL_OPTIONS come from a
	// ConfigMap through envFrom: -Xmx joins them there. An env entry in
	// the Deployment would override the ConfigMap's and drop them.
	dir = t.TempDir()
	const legacy = `apiVersion: v1
kind: ConfigMap
metadata: {name: jvm-env}
data:
  JAVA_TOOL_OPTIONS: "-XX:+UseG1GC -Dapp.mode=prod"
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: legacy}
spec:
  template:
    spec:
      containers:
      - name: app
        image: openjdk:8u181-jre
        envFrom:
        - configMapRef: {name: jvm-env}
        resources:
          limits: {memory: 1Gi}
`
	// GOMEMLIMIT above the limit, from a ConfigMap the same way: changed
	// there, not overridden by an env entry.
	goSvc := strings.NewReplacer("jvm-env", "go-env", `JAVA_TOOL_OPTIONS: "-XX:+UseG1GC -Dapp.mode=prod"`, "GOMEMLIMIT: 1900MiB", "legacy", "gosvc", "openjdk:8u181-jre", "ghcr.io/example/gosvc:3").Replace(legacy)
	writeFiles(t, dir, "legacy.yaml", legacy, "gosvc.yaml", goSvc)
	r = run("fix", "-f", dir, "--lint", "--write")
	got, _ = os.ReadFile(filepath.Join(dir, "legacy.yaml"))
	if want := strings.Replace(legacy, `-Dapp.mode=prod"`, `-Dapp.mode=prod -Xmx`+jvmFit1Gi+`"`, 1); r.code != 0 || string(got) != want {
		t.Errorf("JAVA_TOOL_OPTIONS from envFrom: exit %d\n%s\ngot:\n%s\nwant:\n%s", r.code, r.stderr, got, want)
	}
	got, _ = os.ReadFile(filepath.Join(dir, "gosvc.yaml"))
	if want := strings.Replace(goSvc, "GOMEMLIMIT: 1900MiB", "GOMEMLIMIT: 921MiB", 1); string(got) != want {
		t.Errorf("GOMEMLIMIT from envFrom:\n%s\nwant:\n%s", got, want)
	}
}

// fix --lint -c makes the fixes of that container only.
func TestFixLintOneContainer(t *testing.T) {
	const pair = `apiVersion: apps/v1
kind: Deployment
metadata: {name: pair}
spec:
  template:
    spec:
      containers:
      - name: jvm
        image: eclipse-temurin:17-jre
        env:
        - {name: JAVA_TOOL_OPTIONS, value: "-Xmx1536m"}
        resources: {limits: {memory: 1Gi}}
      - name: ingest
        image: ghcr.io/example/ingest:7
        env:
        - {name: GOGC, value: "200"}
        resources: {limits: {memory: 2Gi}}
`
	dir := t.TempDir()
	writeFiles(t, dir, "pair.yaml", pair)
	r := run("fix", "-f", dir, "--lint", "-c", "jvm", "--write")
	got, _ := os.ReadFile(filepath.Join(dir, "pair.yaml"))
	if want := strings.Replace(pair, `"-Xmx1536m"`, `"-Xmx768m"`, 1); r.code != 0 || string(got) != want {
		t.Errorf("-c jvm: exit %d\n%s\ngot:\n%s\nwant:\n%s", r.code, r.stderr, got, want)
	}
	if r := run("fix", "-f", dir, "--lint"); r.code != 0 || !strings.Contains(r.stdout, "+        - name: GOMEMLIMIT") {
		t.Errorf("without -c, the other container's fix is made too: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
