package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/oomdoctor/oomdoctor/internal/model"
	"github.com/oomdoctor/oomdoctor/test/cluster"
	"github.com/oomdoctor/oomdoctor/test/e2e/workloads"
)

// hogChart is a chart of one Deployment, made as charts make them: the
// standard labels, resources and GOMEMLIMIT from the values. Its program
// holds 100 MiB.
var hogChart = map[string]string{
	"Chart.yaml": "apiVersion: v2\nname: hog\nversion: 1.0.0\n",
	"values.yaml": `image: ` + cluster.TestImage + `
allocMiB: 100
# The Go runtime's soft limit.
goMemLimit: 200MiB
resources:
  requests:
    cpu: 10m
    memory: 32Mi
  limits:
    memory: 128Mi
`,
	"templates/_helpers.tpl": `{{- define "hog.labels" -}}
app.kubernetes.io/name: hog
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}
`,
	"templates/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
  labels: {{- include "hog.labels" . | nindent 4 }}
spec:
  replicas: 1
  selector:
    matchLabels:
      app.kubernetes.io/instance: {{ .Release.Name }}
  template:
    metadata:
      labels: {{- include "hog.labels" . | nindent 8 }}
    spec:
      hostNetwork: true
      terminationGracePeriodSeconds: 1
      containers:
        - name: app
          image: {{ .Values.image }}
          imagePullPolicy: Never
          command: ["/testapp", "-alloc", "{{ .Values.allocMiB }}", "-pace", "100"]
          env:
            - name: GOMEMLIMIT
              value: {{ .Values.goMemLimit | quote }}
          resources: {{- toYaml .Values.resources | nindent 12 }}
`,
}

// 9. A Helm release OOM-killed, fixed through its chart: scan names the
// release and gives the fix --chart command; run, it writes the release's
// values file (the heap setting lint fixes, then a higher limit with the
// heap following it), and helm upgrade with that file rolls out pods that
// hold their 100 MiB.
func TestHelmReleaseFixedThroughItsChart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	helm, err := cluster.Helm()
	if err != nil {
		t.Fatal(err)
	}
	ns := namespace(t, "e2e-helm")
	chart := filepath.Join(t.TempDir(), "hog")
	for name, text := range hogChart {
		p := filepath.Join(chart, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	values := filepath.Join(t.TempDir(), "prod.yaml")
	os.WriteFile(values, []byte("# prod\nresources:\n  limits:\n    memory: 64Mi # sized in a hurry\n"), 0o644)
	runHelm := func(args ...string) {
		t.Helper()
		out, err := exec.Command(helm, append(args, "--kubeconfig", node.Kubeconfig, "-n", ns)...).CombinedOutput()
		if err != nil {
			t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	runHelm("install", "hog", chart, "-f", values)

	waitPod(t, ns, "app.kubernetes.io/instance=hog", 2*time.Minute, "OOM-killed", func(p *corev1.Pod) bool {
		cs := workloads.Status(p, "app")
		return cs != nil && workloads.LastTerminated(cs) != nil && workloads.LastTerminated(cs).Reason == "OOMKilled"
	})

	// scan: GOMEMLIMIT 200MiB above the 64Mi limit, with the command that
	// makes lint's fix in the chart's values.
	var chartCmd string
	for _, f := range findings(scan(t, "-n", ns)) {
		for _, c := range f.Causes {
			if f.Workload.Kind == "Deployment" && f.Workload.Name == "hog" && c.ID == model.CauseRuntimeHeap {
				chartCmd = c.Fix.ChartCommand
			}
		}
	}
	if want := "oomdoctor fix --chart CHART --values VALUES --release hog -n " + ns + " deployment/hog --lint"; chartCmd != want {
		t.Fatalf("the runtime-heap cause's chart command: %q, want %q", chartCmd, want)
	}
	args := strings.Fields(strings.NewReplacer("CHART", chart, "VALUES", values).Replace(chartCmd))[1:]
	code, _, stderr := oomdoctor(args[0], append(args[1:], "--write")...)
	written, _ := os.ReadFile(values)
	if code != 0 || !strings.Contains(stderr, values+": goMemLimit: 200MiB → 57MiB") || !strings.Contains(string(written), "goMemLimit: 57MiB") {
		t.Fatalf("fix --chart --lint exited %d:\n%s\n%s", code, stderr, written)
	}

	// Then a limit that holds the program, the heap following it.
	code, _, stderr = oomdoctor("fix", "--chart", chart, "--values", values, "--release", "hog", "-n", ns, "deployment/hog", "-c", "app", "--memory-limit", "256Mi", "--write")
	written, _ = os.ReadFile(values)
	if want := "# prod\nresources:\n  limits:\n    memory: 256Mi # sized in a hurry\ngoMemLimit: 230MiB\n"; code != 0 || string(written) != want {
		t.Fatalf("fix --chart --memory-limit exited %d:\n%s\nprod.yaml:\n%s\nwant\n%s", code, stderr, written, want)
	}

	runHelm("upgrade", "hog", chart, "-f", values)
	fresh := waitPod(t, ns, "app.kubernetes.io/instance=hog", 2*time.Minute, "running under the new limit for 10s", func(p *corev1.Pod) bool {
		cs := workloads.Status(p, "app")
		lim := p.Spec.Containers[0].Resources.Limits[corev1.ResourceMemory]
		return cs != nil && cs.State.Running != nil && cs.RestartCount == 0 && lim.String() == "256Mi" &&
			time.Since(cs.State.Running.StartedAt.Time) > 10*time.Second
	})
	env := fresh.Spec.Containers[0].Env
	if !slices.Contains(env, corev1.EnvVar{Name: "GOMEMLIMIT", Value: "230MiB"}) {
		t.Errorf("the new pod's env: %v, want GOMEMLIMIT=230MiB", env)
	}
	d, err := node.Client.AppsV1().Deployments(ns).Get(ctx, "hog", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rel := d.Annotations["meta.helm.sh/release-name"]; rel != "hog" {
		t.Errorf("the Deployment is not helm's: release %q", rel)
	}
}
