package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/oomdoctor/oomdoctor/internal/model"
	"github.com/oomdoctor/oomdoctor/test/cluster"
)

const shopKustomize = "../kustomize/testdata/shop"

func TestFixKustomizeWritesTheOverlay(t *testing.T) {
	shop := copyTree(t, shopKustomize)
	prod := filepath.Join(shop, "overlays/prod")
	base := filepath.Join(prod, "../../base")
	patch := filepath.Join(prod, "api-memory.yaml")
	before, _ := os.ReadFile(patch)
	args := []string{"fix", "-k", prod, "deployment/prod-api", "--memory-limit", "400Mi"}

	r := runWithStdin("", args...)
	if r.code != 0 {
		t.Fatalf("exit %d:\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		filepath.Join(base, "api.yaml") + ": Deployment shop/prod-api container api: memory limit 1Gi → 400Mi\n",
		filepath.Join(base, "kustomization.yaml") + ": ConfigMap shop/prod-api-env-h6b467gtmc: -Xmx512m → -Xmx272m in JAVA_OPTS",
		patch + ": makes Deployment prod-api container api: resources.limits.memory; Deployment prod-api container api: resources.requests.memory\n",
		filepath.Join(prod, "kustomization.yaml") + ": makes ConfigMap prod-api-env-h6b467gtmc: data.JAVA_OPTS\n",
		"2 files would change; run again with --write to change them.\n",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	for _, want := range []string{
		"+            memory: 400Mi # raised after the OOM of May 3\n",
		"+configMapGenerator:\n+- name: api-env\n+  behavior: merge\n+  literals:\n+  - JAVA_OPTS=-Xmx272m -XX:+UseG1GC\n",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("the diff lacks %q:\n%s", want, r.stdout)
		}
	}
	if now, _ := os.ReadFile(patch); string(now) != string(before) {
		t.Fatal("the patch changed without --write")
	}

	r = runWithStdin("", append(args, "--write")...)
	if r.code != 0 || !strings.Contains(r.stderr, "Wrote 2 files.") {
		t.Fatalf("exit %d:\n%s%s", r.code, r.stdout, r.stderr)
	}
	after, _ := os.ReadFile(patch)
	want := strings.Replace(string(before), "memory: 1Gi #", "memory: 400Mi #", 1) + "          requests:\n            memory: 400Mi\n"
	if string(after) != want {
		t.Errorf("api-memory.yaml:\n%s\nwant\n%s", after, want)
	}
	// A second run finds the overlay as it should be.
	r = runWithStdin("", append(args, "--write")...)
	if r.code != 0 || !strings.Contains(r.stderr, "Nothing to change.") {
		t.Errorf("second run: exit %d:\n%s%s", r.code, r.stdout, r.stderr)
	}
	// The base, which the dev overlay shares, is as it was.
	for _, f := range []string{"api.yaml", "worker.yaml", "search.yaml", "kustomization.yaml"} {
		orig, _ := os.ReadFile(filepath.Join(shopKustomize, "base", f))
		if now, _ := os.ReadFile(filepath.Join(shop, "base", f)); string(now) != string(orig) {
			t.Errorf("base/%s changed:\n%s", f, now)
		}
	}
}

func TestLintKustomize(t *testing.T) {
	prod := shopKustomize + "/overlays/prod"
	r := runWithStdin("", "lint", "-k", prod)
	// The finding is at the request's line in the base's file, not at
	// the build's.
	want := filepath.Join(prod, "../../base/worker.yaml") + `:22:21: warning: container "worker" of Deployment shop/prod-worker requests 128Mi of memory but may use up to 1Gi`
	if r.code != 1 || !strings.Contains(r.stdout, want) {
		t.Fatalf("exit %d, want 1 and %q:\n%s%s", r.code, want, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, "1 finding (1 warning) in 4 workloads among 5 objects from 5 files.") {
		t.Errorf("summary:\n%s", r.stderr)
	}
}

// kustomize sorts a build (Deployments before Pods here); lint -k's
// findings are in the order of the lines they name.
func TestLintKustomizeInLineOrder(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte("resources:\n- all.yaml\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "all.yaml"), []byte(`apiVersion: v1
kind: Pod
metadata:
  name: debug
spec:
  containers:
  - name: sh
    image: busybox:1.37
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
spec:
  selector: {matchLabels: {app: a}}
  template:
    metadata: {labels: {app: a}}
    spec:
      containers:
      - name: app
        image: example/app:1.0
`), 0o644)
	r := runWithStdin("", "lint", "-k", dir, "-o", "json")
	var rep model.LintReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("exit %d: %v\n%s%s", r.code, err, r.stdout, r.stderr)
	}
	var lines []int
	for _, f := range rep.Findings {
		lines = append(lines, f.Line)
	}
	if len(lines) < 2 || lines[0] > 8 || lines[len(lines)-1] < 10 || !slices.IsSorted(lines) {
		t.Errorf("findings at lines %v, want the Pod's (1-8) first and the Deployment's (10-) after", lines)
	}
}

// With --enable-helm, a kustomization's helmCharts are inflated by the
// helm program: lint names their objects' findings at the chart's entry,
// and fix changes the values the kustomization gives it.
func TestKustomizeHelmCharts(t *testing.T) {
	helm, err := cluster.Helm()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "charts"), 0o755)
	if err := os.Rename(copyChart(t), filepath.Join(dir, "charts/shop")); err != nil {
		t.Fatal(err)
	}
	kz := "# The shop, from its chart.\nhelmCharts:\n- name: shop\n  releaseName: prod\n  valuesInline:\n    api:\n      resources:\n        limits:\n          memory: 640Mi\n"
	os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(kz), 0o644)
	r := runWithStdin("", "lint", "-k", dir, "--enable-helm", "--helm-command", helm)
	want := filepath.Join(dir, "kustomization.yaml") + `:3:3: warning: container "worker" of Deployment prod-shop-worker has no memory limit`
	if r.code != 1 || !strings.Contains(r.stdout, want) {
		t.Errorf("exit %d, want 1 (warnings) and %q:\n%s%s", r.code, want, r.stdout, r.stderr)
	}
	// fix changes the value the kustomization gives the chart.
	r = runWithStdin("", "fix", "-k", dir, "--enable-helm", "--helm-command", helm, "deployment/prod-shop-api", "-c", "api", "--memory-limit", "800Mi", "--write")
	got, _ := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if r.code != 0 || string(got) != strings.Replace(kz, "640Mi", "800Mi", 1) {
		t.Errorf("fix: exit %d:\n%s%s\nkustomization.yaml:\n%s", r.code, r.stdout, r.stderr, got)
	}
}

func TestKustomizeErrors(t *testing.T) {
	prod := shopKustomize + "/overlays/prod"
	broken := t.TempDir()
	os.WriteFile(filepath.Join(broken, "kustomization.yaml"), []byte("resources:\n- missing.yaml\n"), 0o644)
	helm := t.TempDir()
	os.WriteFile(filepath.Join(helm, "kustomization.yaml"), []byte("helmCharts:\n- name: shop\n  version: 0.1.0\n"), 0o644)
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"fix -k and -f", []string{"fix", "-k", prod, "-f", prod, "--memory-limit", "1Gi"}, "-k and -f exclude each other"},
		{"fix -k and --chart", []string{"fix", "-k", prod, "--chart", shopChart, "--memory-limit", "1Gi"}, "-k and --chart exclude each other"},
		{"fix -k and --apply", []string{"fix", "-k", prod, "--apply", "--memory-limit", "1Gi"}, "kubectl apply -k it after"},
		{"fix -k and --patch-dir", []string{"fix", "-k", prod, "--patch-dir", t.TempDir(), "--memory-limit", "1Gi"}, "--patch-dir is for -f"},
		{"lint -k and -f", []string{"lint", "-k", prod, "-f", prod}, "-f, -k and --chart exclude each other"},
		{"no such folder", []string{"lint", "-k", filepath.Join(prod, "nope")}, "no such file or directory"},
		{"a file", []string{"lint", "-k", filepath.Join(prod, "report.yaml")}, "is a file: give the folder that holds kustomization.yaml"},
		{"no kustomization", []string{"fix", "-k", t.TempDir(), "--memory-limit", "1Gi"}, "has no kustomization.yaml"},
		{"does not build", []string{"lint", "-k", broken}, "kustomize build " + broken},
		{"a name without the prefix", []string{"fix", "-k", prod, "deployment/api", "--memory-limit", "1Gi"}, "deployment/api: no workload of that name in the kustomization's build (cronjob/prod-report, deployment/prod-api, deployment/prod-search, deployment/prod-worker): names are as it builds them, with any namePrefix"},
		{"a Helm chart", []string{"fix", "-k", helm, "--memory-limit", "1Gi"}, "it inflates a Helm chart (helmCharts): run again with --enable-helm"},
		{"--enable-helm without -k", []string{"lint", "-f", prod, "--enable-helm"}, "--enable-helm goes with -k"},
		{"--helm-command without --enable-helm", []string{"fix", "-k", prod, "--helm-command", "helm3", "--memory-limit", "1Gi"}, "--helm-command goes with --enable-helm"},
		{"no such helm", []string{"lint", "-k", helm, "--enable-helm", "--helm-command", "no-such-helm"}, `--enable-helm: cannot run the helm program "no-such-helm" (executable file not found in $PATH): install helm 3, or give its path with --helm-command`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := runWithStdin("", tc.args...)
			if r.code != 2 || !strings.Contains(r.stdout+r.stderr, tc.want) {
				t.Errorf("exit %d (want 2 and %q):\n%s%s", r.code, tc.want, r.stdout, r.stderr)
			}
		})
	}
}

// --partial writes the files for the changes they make when another is
// set by a transformer after the patches (a replacement), says that one,
// and exits 1.
func TestFixKustomizePartial(t *testing.T) {
	shop := copyTree(t, shopKustomize)
	sized := filepath.Join(shop, "overlays/sized")
	os.MkdirAll(sized, 0o755)
	os.WriteFile(filepath.Join(sized, "kustomization.yaml"), []byte(`resources:
- ../../base
- sizes.yaml
replacements:
- source: {kind: ConfigMap, name: sizes, fieldPath: data.apiLimit}
  targets:
  - select: {kind: Deployment, name: api}
    fieldPaths:
    - spec.template.spec.containers.[name=api].resources.limits.memory
`), 0o644)
	os.WriteFile(filepath.Join(sized, "sizes.yaml"), []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: sizes\ndata:\n  apiLimit: 900Mi\n"), 0o644)
	args := []string{"fix", "-k", sized, "deployment/api", "deployment/worker", "--memory-limit", "1200Mi", "--write"}
	r := runWithStdin("", args...)
	if r.code != 1 || !strings.Contains(r.stderr, "or give --partial to write those") || strings.Contains(r.stderr, "Wrote") {
		t.Fatalf("without --partial: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = runWithStdin("", append(args, "--partial")...)
	if r.code != 1 || !strings.Contains(r.stderr, "which stay as they are; the files are changed for the other") ||
		!strings.Contains(r.stderr, "Deployment api container api: resources.limits.memory") || !strings.Contains(r.stderr, "Wrote 2 files.") {
		t.Fatalf("--partial: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// The build has the worker at its new limit, the api at its old.
	for _, tc := range [][]string{{"deployment/worker", "1200Mi"}, {"deployment/api", "900Mi"}} {
		if r := runWithStdin("", "fix", "-k", sized, tc[0], "--memory-limit", tc[1]); r.code != 0 || !strings.Contains(r.stderr, "Nothing to change.") {
			t.Errorf("%s after --partial is not at %s: exit %d\n%s%s", tc[0], tc[1], r.code, r.stdout, r.stderr)
		}
	}
}
