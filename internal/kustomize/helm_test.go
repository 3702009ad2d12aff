package kustomize

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/oomdoctor/oomdoctor/internal/renderdiff"
	"github.com/oomdoctor/oomdoctor/test/cluster"
	"github.com/oomdoctor/oomdoctor/test/files"
)

// helmShop is a kustomization that inflates helmvalues' test chart
// (whose templates make a random password) as release prod, with values
// inline and in a file of its own; and the helm program.
func helmShop(t *testing.T) (dir, helm string) {
	t.Helper()
	helm, err := cluster.Helm()
	if err != nil {
		t.Fatal(err)
	}
	dir = t.TempDir()
	files.Copy(t, "../helmvalues/testdata/shop", filepath.Join(dir, "charts/shop"))
	putAll(t, dir, map[string]string{
		"kustomization.yaml": `namespace: shop
helmCharts:
- name: shop
  releaseName: prod
  valuesFile: values-prod.yaml
  valuesInline:
    api:
      resources:
        limits:
          memory: 640Mi # raised in May
`,
		"values-prod.yaml": "cache:\n  resources:\n    limits:\n      memory: 500Mi # prod\n",
	})
	return dir, helm
}

// With --enable-helm, the build is kubectl kustomize --enable-helm's (the
// password aside: it is random); without, an error says so.
func TestHelmChartsBuild(t *testing.T) {
	dir, helm := helmShop(t)
	k, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k.Build(); err == nil || !strings.Contains(err.Error(), "run again with --enable-helm") {
		t.Errorf("without helm: %v", err)
	}
	k.Helm = helm
	objs, err := k.Build()
	if err != nil {
		t.Fatal(err)
	}
	kubectl, err := cluster.Binary("kubectl")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(kubectl, "kustomize", "--enable-helm", "--helm-command", helm, dir).Output()
	if err != nil {
		t.Fatalf("kubectl kustomize: %v", err)
	}
	ours, order := renderdiff.Docs{}, []string{}
	for _, o := range objs {
		if o.Source != filepath.Join(dir, "kustomization.yaml") {
			t.Errorf("%s/%s: source %s, want the kustomization that inflates the chart", o.Kind, o.Name, o.Source)
		}
		if err := ours.Add(o.Kind+"/"+o.Name, o.Text); err != nil {
			t.Fatal(err)
		}
		order = append(order, o.Kind+"/"+o.Name)
	}
	if theirs := objectOrder(t, string(out)); !slices.Equal(order, theirs) {
		t.Errorf("objects %v, kubectl kustomize's %v", order, theirs)
	}
	theirs := byObject(t, string(out))
	for _, d := range renderdiff.Diff(ours, theirs) {
		if d.Source != "Secret/prod-shop-db" {
			t.Errorf("the build differs from kubectl kustomize's at %s: %v against %v", renderdiff.Describe(ours, d.Field), d.Old, d.New)
		}
	}
	if v, _ := renderdiff.Lookup(ours["StatefulSet/prod-shop-cache"][0], []any{"spec", "template", "spec", "containers", 0, "resources", "limits", "memory"}); v != "500Mi" {
		t.Errorf("the cache's limit %v, want the values file's 500Mi", v)
	}
}

// A value the kustomization gives the chart changes where it is given,
// inline or in its values file, though a password changes at every build;
// a default of the chart's goes to the values file; a field no value makes
// gets a patch; a finding names the chart's entry.
func TestHelmChartsTrace(t *testing.T) {
	dir, helm := helmShop(t)
	k, objs := loadHelm(t, dir, helm)
	kz := read(t, filepath.Join(dir, "kustomization.yaml"))
	changes := traced(t, dir, k, planned(t, objs,
		change{"Deployment/prod-shop-api", "memory: 640Mi", "memory: 800Mi"},
		change{"StatefulSet/prod-shop-cache", "memory: 500Mi", "memory: 600Mi"},
		change{"Deployment/prod-shop-search", "memory: 256Mi", "memory: 300Mi"},
		change{"Deployment/prod-shop-worker", "        name: worker\n", "        name: worker\n        resources:\n          limits:\n            memory: 1Gi\n"}), map[string]string{
		"kustomization.yaml": strings.Replace(kz, "memory: 640Mi # raised", "memory: 800Mi # raised", 1) + "patches:\n- path: deployment-prod-shop-worker-memory.yaml\n",
		"values-prod.yaml":   "cache:\n  resources:\n    limits:\n      memory: 600Mi # prod\nsearch:\n  requestMi: 300\n",
		"deployment-prod-shop-worker-memory.yaml": `# Written by oomdoctor fix: memory settings for Deployment prod-shop-worker (from kustomization.yaml).
apiVersion: apps/v1
kind: Deployment
metadata:
  name: prod-shop-worker
spec:
  template:
    spec:
      containers:
      - name: worker
        resources:
          limits:
            memory: 1Gi
`,
	})
	if len(changes) != 3 {
		t.Errorf("%d files change, want the kustomization, the values file and a new patch", len(changes))
	}
	for _, o := range objs {
		if o.Name == "prod-shop-worker" {
			if line, col, ok := o.Locate("spec.template.spec.containers[0].resources"); !ok || line != 3 || col != 3 {
				t.Errorf("the worker's resources at %d:%d (%v), want the chart's entry, 3:3", line, col, ok)
			}
		}
	}
}

// A number the chart writes a unit after (memory: {{ .Values.search.limitMi
// }}Mi, -Xmx{{ .Values.search.heapMb }}m) changes where the kustomization
// gives it, in its own unit. A field the chart's own defaults make gets
// its key under valuesInline (the chart's files stay as they came): a
// number, the words of a string that change (the api's JVM options), a
// subchart's default under the subchart's name (redis's limit); a
// default that makes other fields too (the metrics sidecar's limit, the
// api's and the gateway's) gets a patch instead, which names the api first to keep the containers'
// order.
func TestHelmChartsTraceDefaults(t *testing.T) {
	dir, helm := helmShop(t)
	kz := `namespace: shop
helmCharts:
- name: shop
  releaseName: prod
  valuesInline:
    search:
      heapMb: 384 # three quarters of the limit
      limitMi: 512
`
	if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(kz), 0o644); err != nil {
		t.Fatal(err)
	}
	chart := read(t, filepath.Join(dir, "charts/shop/values.yaml"))
	k, objs := loadHelm(t, dir, helm)
	traced(t, dir, k, planned(t, objs,
		change{"Deployment/prod-shop-search", "memory: 512Mi", "memory: 1Gi"},
		change{"Deployment/prod-shop-search", "-Xmx384m -XX:+UseG1GC", "-Xmx768m -XX:+UseG1GC"},
		change{"Deployment/prod-shop-search", "memory: 256Mi", "memory: 300Mi"},
		change{"Deployment/prod-shop-api", "-Xmx384m -XX:+UseG1GC", "-Xmx288m -XX:+UseG1GC"},
		change{"Deployment/prod-shop-api", "memory: 64Mi", "memory: 96Mi"},
		change{"StatefulSet/prod-redis", "memory: 256Mi", "memory: 384Mi"}), map[string]string{
		"kustomization.yaml": strings.NewReplacer("heapMb: 384", "heapMb: 768", "limitMi: 512", "limitMi: 1024").Replace(kz) +
			"      requestMi: 300\n    api:\n      javaOpts: -Xmx288m -XX:+UseG1GC\n    redis:\n      resources:\n        limits:\n          memory: 384Mi\npatches:\n- path: deployment-prod-shop-api-memory.yaml\n",
		"deployment-prod-shop-api-memory.yaml": `# Written by oomdoctor fix: memory settings for Deployment prod-shop-api (from kustomization.yaml).
apiVersion: apps/v1
kind: Deployment
metadata:
  name: prod-shop-api
spec:
  template:
    spec:
      containers:
      - name: api
      - name: metrics
        resources:
          limits:
            memory: 96Mi
`,
	})
	if got := read(t, filepath.Join(dir, "charts/shop/values.yaml")); got != chart {
		t.Error("the chart's values.yaml changed")
	}
}

// A chart a kustomization in a folder of DIR inflates gets its defaults
// set there, in that kustomization's valuesInline.
func TestHelmChartsInAFolderOfDIR(t *testing.T) {
	helm, err := cluster.Helm()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files.Copy(t, "../helmvalues/testdata/shop", filepath.Join(dir, "app/charts/shop"))
	app := "helmCharts:\n- name: shop\n  releaseName: prod\n"
	putAll(t, dir, map[string]string{
		"kustomization.yaml":     "namespace: shop\nresources:\n- app\n",
		"app/kustomization.yaml": app,
	})
	k, objs := loadHelm(t, dir, helm)
	traced(t, dir, k, planned(t, objs, change{"Deployment/prod-shop-search", "memory: 256Mi", "memory: 300Mi"}), map[string]string{
		"app/kustomization.yaml": app + "  valuesInline:\n    search:\n      requestMi: 300\n",
	})
}
