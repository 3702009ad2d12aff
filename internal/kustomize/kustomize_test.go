package kustomize

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v3"

	"github.com/oomdoctor/oomdoctor/internal/renderdiff"
	"github.com/oomdoctor/oomdoctor/test/cluster"
	"github.com/oomdoctor/oomdoctor/test/files"
)

// shop copies testdata/shop (a base, a prod overlay with patches of every
// kind and a resource of its own, a dev overlay) into a temporary folder,
// so that tests may write it.
func shop(t *testing.T) string {
	t.Helper()
	dst := t.TempDir()
	files.Copy(t, "testdata/shop", dst)
	return dst
}

func load(t *testing.T, dir string) (*Kustomization, []*Object) {
	t.Helper()
	return loadHelm(t, dir, "")
}

// loadHelm is load with helmCharts inflated by the helm program helm.
func loadHelm(t *testing.T, dir, helm string) (*Kustomization, []*Object) {
	t.Helper()
	k, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	k.Helm = helm
	objs, err := k.Build()
	if err != nil {
		t.Fatal(err)
	}
	return k, objs
}

// change is a planned change: in the object kind/name of the build, the
// text from becomes to.
type change struct{ object, from, to string }

// planned is the build with the changes made, as fix would plan it.
func planned(t *testing.T, objs []*Object, changes ...change) []Planned {
	t.Helper()
	out := make([]Planned, len(objs))
	used := make([]bool, len(changes))
	for i, o := range objs {
		text := o.Text
		for j, c := range changes {
			if c.object == o.Kind+"/"+o.Name {
				if !strings.Contains(text, c.from) {
					t.Fatalf("%s has no %q:\n%s", c.object, c.from, text)
				}
				text = strings.Replace(text, c.from, c.to, 1)
				used[j] = true
			}
		}
		out[i] = Planned{Name: o.Source, Text: text}
	}
	for j, u := range used {
		if !u {
			t.Fatalf("no object %s in the build", changes[j].object)
		}
	}
	return out
}

// traced traces the changes and checks that exactly the files of want
// (by path from dir) change, into those texts.
func traced(t *testing.T, dir string, k *Kustomization, p []Planned, want map[string]string) []FileChange {
	t.Helper()
	changes, err := k.Trace(p)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, c := range changes {
		rel, _ := filepath.Rel(dir, c.abs)
		got[filepath.ToSlash(rel)] = string(c.Fixed)
	}
	for f, text := range want {
		if got[f] != text {
			t.Errorf("%s:\n%s\nwant:\n%s", f, got[f], text)
		}
	}
	for f := range got {
		if _, ok := want[f]; !ok {
			t.Errorf("%s changes too, which it should not:\n%s", f, got[f])
		}
	}
	return changes
}

// write writes the changes, as fix -k --write does.
func write(t *testing.T, changes []FileChange) {
	t.Helper()
	for _, c := range changes {
		if err := os.WriteFile(c.abs, c.Fixed, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// Every object of the build is named by the file it comes from, and the
// build is kubectl kustomize's, origin annotations left out.
func TestBuildIsKubectlKustomizes(t *testing.T) {
	dir := shop(t)
	prod := filepath.Join(dir, "overlays/prod")
	_, objs := load(t, prod)
	sources := map[string]string{}
	for _, o := range objs {
		sources[o.Kind+"/"+o.Name] = o.Source
		if strings.Contains(o.Text, originAnnotation) {
			t.Errorf("%s keeps the origin annotation:\n%s", o.Source, o.Text)
		}
	}
	base := filepath.Join(prod, "../../base")
	want := map[string]string{
		"Deployment/prod-api":               filepath.Join(base, "api.yaml"),
		"Deployment/prod-worker":            filepath.Join(base, "worker.yaml"),
		"Deployment/prod-search":            filepath.Join(base, "search.yaml"),
		"CronJob/prod-report":               filepath.Join(prod, "report.yaml"),
		"ConfigMap/prod-api-env-h6b467gtmc": filepath.Join(base, "kustomization.yaml"),
	}
	for obj, src := range want {
		if sources[obj] != src {
			t.Errorf("%s: source %q, want %q", obj, sources[obj], src)
		}
	}
	if len(sources) != len(want) {
		t.Errorf("objects %v, want those of %v", sources, want)
	}
	out := kubectlKustomize(t, prod)
	theirs, ours := byObject(t, string(out)), renderdiff.Docs{}
	var order []string
	for _, o := range objs {
		if err := ours.Add(o.Kind+"/"+o.Name, o.Text); err != nil {
			t.Fatal(err)
		}
		order = append(order, o.Kind+"/"+o.Name)
	}
	// In kustomize's legacy order, as kubectl kustomize sorts a build
	// whose kustomization does not say.
	if kubectls := objectOrder(t, string(out)); !slices.Equal(order, kubectls) {
		t.Errorf("objects in the order %v, kubectl kustomize's %v", order, kubectls)
	}
	if ds := renderdiff.Diff(ours, theirs); len(ds) > 0 {
		t.Errorf("the build differs from kubectl kustomize's at %s: %v against %v", renderdiff.Describe(ours, ds[0].Field), ds[0].Old, ds[0].New)
	}
}

// objectOrder is the kind/name of each object of a build, in its order.
func objectOrder(t *testing.T, text string) []string {
	t.Helper()
	var out []string
	for _, d := range docs(t, text) {
		out = append(out, kindName(d))
	}
	return out
}

// byObject parses a build by kind/name.
func byObject(t *testing.T, text string) renderdiff.Docs {
	t.Helper()
	out := renderdiff.Docs{}
	for _, d := range docs(t, text) {
		out[kindName(d)] = append(out[kindName(d)], d)
	}
	return out
}

func docs(t *testing.T, text string) []any {
	t.Helper()
	all := renderdiff.Docs{}
	if err := all.Add("", text); err != nil {
		t.Fatal(err)
	}
	return all[""]
}

func kindName(d any) string {
	kind, _ := renderdiff.Lookup(d, []any{"kind"})
	name, _ := renderdiff.Lookup(d, []any{"metadata", "name"})
	return renderdiff.ScalarText(kind) + "/" + renderdiff.ScalarText(name)
}

// A new patch indents its lists as the object's own file does: deeper
// than their key here, as yaml.v3 and kubectl write them.
func TestNewPatchIndentsListsAsTheObjectsFile(t *testing.T) {
	dir := shop(t)
	worker := filepath.Join(dir, "base/worker.yaml")
	wide := strings.ReplaceAll(read(t, worker), "\n      - name: worker\n        ", "\n        - name: worker\n          ")
	wide = strings.ReplaceAll(wide, "\n        resources:", "\n          resources:")
	wide = strings.NewReplacer("\n          requests:", "\n            requests:", "\n            memory: 128Mi", "\n              memory: 128Mi",
		"\n          limits:", "\n            limits:", "\n            memory: 256Mi", "\n              memory: 256Mi").Replace(wide)
	if err := os.WriteFile(worker, []byte(wide), 0o644); err != nil {
		t.Fatal(err)
	}
	prod := filepath.Join(dir, "overlays/prod")
	kz := read(t, filepath.Join(prod, "kustomization.yaml"))
	k, objs := load(t, prod)
	traced(t, dir, k, planned(t, objs, change{"Deployment/prod-worker", "memory: 1Gi", "memory: 2Gi"}), map[string]string{
		"overlays/prod/kustomization.yaml":            kz + "- path: deployment-worker-memory.yaml\n",
		"overlays/prod/deployment-worker-memory.yaml": workerPatch("  "),
	})
}

// A new patch of a sidecar's limit and of the second of a container's
// environment variables names the items before them too, by their name
// alone: kustomize puts a patch's items first, which would otherwise move
// the sidecar before the app and GOMEMLIMIT before the variable it uses.
func TestNewPatchKeepsTheOrderOfItems(t *testing.T) {
	dir := t.TempDir()
	putAll(t, dir, map[string]string{
		"base/kustomization.yaml": "resources:\n- app.yaml\n",
		"base/app.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
spec:
  template:
    spec:
      containers:
      - name: app
        image: example/app:1
        env:
        - name: LIMIT
          valueFrom:
            resourceFieldRef: {resource: limits.memory}
        - name: GOMEMLIMIT
          value: 400MiB
        resources:
          limits:
            memory: 512Mi
      - name: proxy
        image: example/proxy:1
        resources:
          limits:
            memory: 64Mi
      - name: logs
        image: example/logs:1
`,
		"prod/kustomization.yaml": "resources:\n- ../base\n",
	})
	k, objs := load(t, filepath.Join(dir, "prod"))
	traced(t, dir, k, planned(t, objs,
		change{"Deployment/app", "value: 400MiB", "value: 300MiB"},
		change{"Deployment/app", "memory: 64Mi", "memory: 96Mi"}), map[string]string{
		"prod/kustomization.yaml": "resources:\n- ../base\npatches:\n- path: deployment-app-memory.yaml\n",
		"prod/deployment-app-memory.yaml": `# Written by oomdoctor fix: memory settings for Deployment app (from ../base/app.yaml).
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
spec:
  template:
    spec:
      containers:
      - name: app
        env:
        - name: LIMIT
        - name: GOMEMLIMIT
          value: 300MiB
      - name: proxy
        resources:
          limits:
            memory: 96Mi
`,
	})
}

// Fields added to the overlay's own patch keep the order too: a container
// after those it names is added with the ones between, by their name.
func TestPatchAddedToKeepsTheOrderOfItems(t *testing.T) {
	dir := t.TempDir()
	patch := `apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
spec:
  template:
    spec:
      containers:
      - name: app
        resources:
          limits:
            memory: 1Gi # prod
`
	putAll(t, dir, map[string]string{
		"base/kustomization.yaml": "resources:\n- app.yaml\n",
		"base/app.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
spec:
  template:
    spec:
      containers:
      - {name: app, image: example/app:1}
      - {name: proxy, image: example/proxy:1}
      - {name: logs, image: example/logs:1}
      - {name: tracing, image: example/tracing:1}
`,
		"prod/kustomization.yaml": "resources:\n- ../base\npatches:\n- path: app.yaml\n",
		"prod/app.yaml":           patch,
	})
	k, objs := load(t, filepath.Join(dir, "prod"))
	traced(t, dir, k, planned(t, objs,
		change{"Deployment/app", "name: logs\n", "name: logs\n        resources:\n          limits:\n            memory: 128Mi\n"}), map[string]string{
		"prod/app.yaml": patch + "      - name: proxy\n      - name: logs\n        resources:\n          limits:\n            memory: 128Mi\n",
	})
}

// workerPatch is the new patch of the worker's limit of 2Gi, its
// containers' items indented by indent under their key.
func workerPatch(indent string) string {
	return `# Written by oomdoctor fix: memory settings for Deployment worker (from ../../base/worker.yaml).
apiVersion: apps/v1
kind: Deployment
metadata:
  name: worker
spec:
  template:
    spec:
      containers:
` + indent + strings.NewReplacer("\n", "\n"+indent).Replace("      - name: worker\n        resources:\n          limits:\n            memory: 2Gi") + "\n"
}

// A value the overlay's patch sets is changed there, its line alone,
// the comment kept; the base is not touched.
func TestTraceChangesTheValueWhereTheOverlaySetsIt(t *testing.T) {
	dir := shop(t)
	k, objs := load(t, filepath.Join(dir, "overlays/prod"))
	patch := read(t, filepath.Join(dir, "overlays/prod/api-memory.yaml"))
	changes := traced(t, dir, k, planned(t, objs, change{"Deployment/prod-api", "memory: 1Gi", "memory: 1536Mi"}), map[string]string{
		"overlays/prod/api-memory.yaml": strings.Replace(patch, "memory: 1Gi # raised", "memory: 1536Mi # raised", 1),
	})
	if want := []string{"Deployment prod-api container api: resources.limits.memory"}; !slices.Equal(changes[0].Fields, want) {
		t.Errorf("fields %q, want %q", changes[0].Fields, want)
	}
}

// A value a patch sets for several objects changes there when they all
// need the same; for one of them alone, it gets a patch of its own,
// listed last under patches, and the shared patch stays. Its lists are
// indented as in the object's own file (here, not deeper than their key).
func TestTraceSharedPatch(t *testing.T) {
	dir := shop(t)
	prod := filepath.Join(dir, "overlays/prod")
	kz := read(t, filepath.Join(prod, "kustomization.yaml"))
	k, objs := load(t, prod)
	traced(t, dir, k, planned(t, objs,
		change{"Deployment/prod-worker", "memory: 1Gi", "memory: 2Gi"},
		change{"Deployment/prod-search", "memory: 1Gi", "memory: 2Gi"}), map[string]string{
		"overlays/prod/kustomization.yaml": strings.Replace(kz, "value: 1Gi", "value: 2Gi", 1),
	})

	k, objs = load(t, prod)
	changes := traced(t, dir, k, planned(t, objs, change{"Deployment/prod-worker", "memory: 1Gi", "memory: 2Gi"}), map[string]string{
		"overlays/prod/kustomization.yaml":            kz + "- path: deployment-worker-memory.yaml\n",
		"overlays/prod/deployment-worker-memory.yaml": workerPatch(""),
	})
	// Written, the overlay builds as planned and a second trace has
	// nothing to do.
	write(t, changes)
	k, objs = load(t, prod)
	for _, o := range objs {
		if o.Name == "prod-worker" && !strings.Contains(o.Text, "memory: 2Gi") || o.Name == "prod-search" && !strings.Contains(o.Text, "memory: 1Gi") {
			t.Errorf("after the write, %s:\n%s", o.Name, o.Text)
		}
	}
	traced(t, dir, k, planned(t, objs), map[string]string{})
}

// A field the overlay's own resource lacks is added to it; one the base
// sets, for an object the overlay has a patch of, is added to that
// patch. Written, kubectl kustomize builds exactly the plan.
func TestTraceAddsFieldsToTheOverlaysFiles(t *testing.T) {
	dir := shop(t)
	prod := filepath.Join(dir, "overlays/prod")
	report := read(t, filepath.Join(prod, "report.yaml"))
	patch := read(t, filepath.Join(prod, "api-memory.yaml"))
	k, objs := load(t, prod)
	p := planned(t, objs,
		change{"CronJob/prod-report", "limits:\n                memory: 300Mi", "limits:\n                memory: 300Mi\n              requests:\n                memory: 200Mi"},
		change{"Deployment/prod-api", "memory: 512Mi", "memory: 640Mi"})
	changes := traced(t, dir, k, p, map[string]string{
		"overlays/prod/report.yaml":     report + "              requests:\n                memory: 200Mi\n",
		"overlays/prod/api-memory.yaml": patch + "          requests:\n            memory: 640Mi\n",
	})
	write(t, changes)
	out := kubectlKustomize(t, prod)
	want := renderdiff.Docs{}
	for _, pl := range p {
		if err := want.Add("", pl.Text); err != nil {
			t.Fatal(err)
		}
	}
	if ds := renderdiff.Diff(byObject(t, string(out)), byObject(t, joinDocs(want[""]))); len(ds) > 0 {
		t.Errorf("kubectl kustomize builds the written overlay differently from the plan at %s: %v, want %v", ds[0].Key(), ds[0].Old, ds[0].New)
	}
	for _, f := range []string{"base/api.yaml", "base/kustomization.yaml", "overlays/dev/kustomization.yaml"} {
		if got, orig := read(t, filepath.Join(dir, f)), read(t, filepath.Join("testdata/shop", f)); got != orig {
			t.Errorf("%s changed:\n%s", f, got)
		}
	}
}

func joinDocs(docs []any) string {
	var b strings.Builder
	for _, d := range docs {
		data, err := yaml.Marshal(d)
		if err != nil {
			panic(err)
		}
		b.WriteString("---\n")
		b.Write(data)
	}
	return b.String()
}

// A generated ConfigMap's value is changed in the generator's literal when
// the generator is in the folder (the base); from an overlay, a generator
// of the overlay merges into the base's, the changed keys as literals.
func TestTraceGeneratedConfigMap(t *testing.T) {
	dir := shop(t)
	base := filepath.Join(dir, "base")
	kz := read(t, filepath.Join(base, "kustomization.yaml"))
	k, objs := load(t, base)
	opts := change{"ConfigMap/api-env-h6b467gtmc", "-Xmx512m -XX:+UseG1GC", "-Xmx384m -XX:+UseG1GC"}
	changes := traced(t, dir, k, planned(t, objs, opts), map[string]string{
		"base/kustomization.yaml": strings.Replace(kz, "-Xmx512m", "-Xmx384m", 1),
	})
	if want := []string{"ConfigMap api-env-h6b467gtmc: data.JAVA_OPTS"}; !slices.Equal(changes[0].Fields, want) {
		t.Errorf("fields %q, want %q", changes[0].Fields, want)
	}

	// In an overlay, a generator that merges into the base's: a second
	// key joins its literals.
	prod := filepath.Join(dir, "overlays/prod")
	k, objs = load(t, prod)
	opts.object = "ConfigMap/prod-api-env-h6b467gtmc"
	overlay := read(t, filepath.Join(prod, "kustomization.yaml")) + "configMapGenerator:\n- name: api-env\n  behavior: merge\n  literals:\n  - JAVA_OPTS=-Xmx384m -XX:+UseG1GC\n"
	write(t, traced(t, dir, k, planned(t, objs, opts), map[string]string{"overlays/prod/kustomization.yaml": overlay}))
	k, objs = load(t, prod)
	var cm string
	for _, o := range objs {
		if o.Kind == "ConfigMap" {
			cm = o.Kind + "/" + o.Name
		}
	}
	traced(t, dir, k, planned(t, objs, change{cm, "  JAVA_OPTS:", "  GOGC: \"50\"\n  JAVA_OPTS:"}), map[string]string{
		"overlays/prod/kustomization.yaml": overlay + "  - GOGC=50\n",
	})
}

// A base's generator that sets a namespace is matched by one that names
// it too: in the merging generator, and in a patch of the ConfigMap.
func TestTraceNamespacedGenerator(t *testing.T) {
	dir := t.TempDir()
	putAll(t, dir, map[string]string{
		"base/kustomization.yaml": "configMapGenerator:\n- name: app-env\n  namespace: shop\n  literals:\n  - JAVA_OPTS=-Xmx700m\n  files:\n  - app.conf\n",
		"base/app.conf":           "cache 300mb\nthreads 4\n",
		"prod/kustomization.yaml": "resources:\n- ../base\n",
	})
	k, objs := load(t, filepath.Join(dir, "prod"))
	cm := "ConfigMap/" + objs[0].Name
	traced(t, dir, k, planned(t, objs, change{cm, "-Xmx700m", "-Xmx450m"}), map[string]string{
		"prod/kustomization.yaml": "resources:\n- ../base\nconfigMapGenerator:\n- name: app-env\n  namespace: shop\n  behavior: merge\n  literals:\n  - JAVA_OPTS=-Xmx450m\n",
	})
	traced(t, dir, k, planned(t, objs, change{cm, "cache 300mb", "cache 200mb"}), map[string]string{
		"prod/kustomization.yaml": "resources:\n- ../base\npatches:\n- path: configmap-app-env-memory.yaml\n",
		"prod/configmap-app-env-memory.yaml": `# Written by oomdoctor fix: memory settings for ConfigMap app-env (from ../base/kustomization.yaml).
apiVersion: v1
kind: ConfigMap
metadata:
  name: app-env
  namespace: shop
data:
  app.conf: |
    cache 200mb
    threads 4
`,
	})
}

// A value of several lines (a config file a base's generator reads) is
// not a literal: the ConfigMap gets a patch of its own.
func TestTraceGeneratedConfigFile(t *testing.T) {
	dir := t.TempDir()
	putAll(t, dir, map[string]string{
		"base/kustomization.yaml": "configMapGenerator:\n- name: redis-conf\n  files:\n  - redis.conf\n",
		"base/redis.conf":         "maxmemory 300mb\nmaxmemory-policy allkeys-lru\n",
		"prod/kustomization.yaml": "resources:\n- ../base\n",
	})
	k, objs := load(t, filepath.Join(dir, "prod"))
	traced(t, dir, k, planned(t, objs, change{"ConfigMap/" + objs[0].Name, "maxmemory 300mb", "maxmemory 200mb"}), map[string]string{
		"prod/kustomization.yaml": "resources:\n- ../base\npatches:\n- path: configmap-redis-conf-memory.yaml\n",
		"prod/configmap-redis-conf-memory.yaml": `# Written by oomdoctor fix: memory settings for ConfigMap redis-conf (from ../base/kustomization.yaml).
apiVersion: v1
kind: ConfigMap
metadata:
  name: redis-conf
data:
  redis.conf: |
    maxmemory 200mb
    maxmemory-policy allkeys-lru
`,
	})
}

// A value a transformer sets after the patches (a replacement from a
// ConfigMap) is not traced: the error names the field and why, says that
// the other changes can be made alone, and nothing is written.
func TestTraceRefusesWhatAReplacementSets(t *testing.T) {
	dir := shop(t)
	sized := filepath.Join(dir, "overlays/sized")
	if err := os.MkdirAll(sized, 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"kustomization.yaml": `resources:
- ../../base
- sizes.yaml
replacements:
- source:
    kind: ConfigMap
    name: sizes
    fieldPath: data.apiLimit
  targets:
  - select:
      kind: Deployment
      name: api
    fieldPaths:
    - spec.template.spec.containers.[name=api].resources.limits.memory
`,
		"sizes.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: sizes\ndata:\n  apiLimit: 900Mi\n",
	}
	putAll(t, sized, files)
	k, objs := load(t, sized)
	_, err := k.Trace(planned(t, objs, change{"Deployment/api", "memory: 900Mi", "memory: 1Gi"}, change{"Deployment/worker", "memory: 256Mi", "memory: 300Mi"}))
	var te *TraceError
	if !errors.As(err, &te) || len(te.Unresolved) != 1 || te.Unresolved[0].Field != "Deployment api container api: resources.limits.memory" {
		t.Fatalf("want the limit unresolved, got %v", err)
	}
	if !strings.Contains(te.Error(), "a strategic-merge patch of Deployment api in "+sized+" does not make it as planned") {
		t.Errorf("error: %v", te)
	}
	// The worker's limit, which a new patch makes, is said to be made.
	if te.Traced != 1 || !strings.Contains(te.Error(), "(the files make the other 1: choose their objects with TYPE/NAME arguments to make them alone, or give --partial to write those)") {
		t.Errorf("traced %d: %v", te.Traced, te)
	}

	// Partial: the files are changed for the worker alone, and the
	// error still names the api's limit.
	k, objs = load(t, sized)
	k.Partial = true
	changes, err := k.Trace(planned(t, objs, change{"Deployment/api", "memory: 900Mi", "memory: 1Gi"}, change{"Deployment/worker", "memory: 256Mi", "memory: 300Mi"}))
	if !errors.As(err, &te) || !te.Partial || len(te.Unresolved) != 1 || te.Traced != 1 || len(changes) == 0 ||
		!strings.Contains(te.Error(), "makes 1 planned change, which stay as they are; the files are changed for the other 1 (--partial)") {
		t.Fatalf("partial: %d changes, %v", len(changes), err)
	}
	write(t, changes)
	built := byObject(t, string(kubectlKustomize(t, sized)))
	for name, want := range map[string]string{"api": "900Mi", "worker": "300Mi"} {
		d := built["Deployment/"+name][0].(map[string]any)
		c := d["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)
		if got := c["resources"].(map[string]any)["limits"].(map[string]any)["memory"]; got != want {
			t.Errorf("after the partial write, kubectl kustomize builds %s's limit %v, want %s", name, got, want)
		}
	}
	// Nothing traced: nothing to write, whatever Partial says.
	k, objs = load(t, sized)
	k.Partial = true
	if changes, err := k.Trace(planned(t, objs, change{"Deployment/api", "memory: 900Mi", "memory: 1Gi"})); !errors.As(err, &te) || te.Partial || len(changes) != 0 {
		t.Errorf("partial, nothing traced: %d changes, %v", len(changes), err)
	}
}

func TestOccurrencesAreWholeWords(t *testing.T) {
	text := []byte("a: 512Mi\nb: 1512Mi\nc: 512Mib\nd: [512Mi]\nJAVA_OPTS=-Xmx512m -XX:+UseG1GC\n")
	if got, want := occurrences(text, "512Mi"), []int{3, 33}; !slices.Equal(got, want) {
		t.Errorf("512Mi at %v, want %v", got, want)
	}
	if got, want := occurrences(text, "-Xmx512m"), []int{50}; !slices.Equal(got, want) {
		t.Errorf("-Xmx512m at %v, want %v", got, want)
	}
	for _, c := range []struct{ from, to, f, t string }{
		{"-Xmx512m -XX:+UseG1GC", "-Xmx384m -XX:+UseG1GC", "-Xmx512m", "-Xmx384m"},
		{"-XX:+UseG1GC -Xmx512m -Dx=1", "-XX:+UseG1GC -Xmx384m -Dx=1", "-Xmx512m", "-Xmx384m"},
	} {
		f, tt, ok := changedWords(c.from, c.to)
		if !ok || f != c.f || tt != c.t {
			t.Errorf("changedWords(%q, %q) = %q, %q, %v; want %q, %q", c.from, c.to, f, tt, ok, c.f, c.t)
		}
	}
	if _, _, ok := changedWords("512Mi", "1Gi"); ok {
		t.Error("a single word is the whole text, not a part of it")
	}
}

// A finding's field is found in the file its object comes from: the
// field's value, or the nearest enclosing field a patch adds to; a
// generated object's, at its generator's entry.
func TestLocate(t *testing.T) {
	_, objs := load(t, "testdata/shop/overlays/prod")
	at := map[string]*Object{}
	for _, o := range objs {
		at[o.Kind+"/"+o.Name] = o
	}
	cases := []struct {
		object, field string
		line, col     int
	}{
		{"Deployment/prod-worker", "spec.template.spec.containers[0].resources.requests.memory", 22, 21},
		// The limit the overlay's patch sets: the base's own is there.
		{"Deployment/prod-worker", "spec.template.spec.containers[0].resources.limits.memory", 24, 21},
		// No request in the file: its resources.
		{"CronJob/prod-report", "spec.jobTemplate.spec.template.spec.containers[0].resources.requests.memory", 16, 13},
		{"Deployment/prod-api", "spec.template.spec.containers[0]", 18, 9},
	}
	for _, c := range cases {
		line, col, ok := at[c.object].Locate(c.field)
		if !ok || line != c.line || col != c.col {
			t.Errorf("%s %s: %d:%d (%v), want %d:%d", c.object, c.field, line, col, ok, c.line, c.col)
		}
	}
	// A generated object: its generator's entry in the kustomization.
	if line, col, ok := at["ConfigMap/prod-api-env-h6b467gtmc"].Locate("data.JAVA_OPTS"); !ok || line != 7 || col != 3 {
		t.Errorf("the generated ConfigMap at %d:%d (%v), want its configMapGenerator entry, 7:3", line, col, ok)
	}
}

// Of several generator entries, a generated object is at the one whose
// name its name holds, the longest.
func TestLocateGeneratorEntry(t *testing.T) {
	dir := t.TempDir()
	kz := "namePrefix: prod-\nconfigMapGenerator:\n- name: api\n  literals: [A=1]\n- name: api-extra\n  literals: [B=2]\nsecretGenerator:\n- name: db\n  literals: [C=3]\n"
	if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(kz), 0o644); err != nil {
		t.Fatal(err)
	}
	_, objs := load(t, dir)
	want := map[string][2]int{"ConfigMap/prod-api": {3, 3}, "ConfigMap/prod-api-extra": {5, 3}, "Secret/prod-db": {8, 3}}
	for _, o := range objs {
		base, _ := unhashed(o.Name)
		w, known := want[o.Kind+"/"+base]
		if !known {
			t.Errorf("%s/%s: not generated by the kustomization", o.Kind, o.Name)
			continue
		}
		if line, col, ok := o.Locate("data"); !ok || line != w[0] || col != w[1] {
			t.Errorf("%s/%s at %d:%d (%v), want %d:%d", o.Kind, o.Name, line, col, ok, w[0], w[1])
		}
	}
	if len(objs) != 3 {
		t.Errorf("%d objects, want 3", len(objs))
	}
}

// The fields are added to a patch listed under the deprecated
// patchesStrategicMerge too.
func TestTraceAddsToALegacyPatch(t *testing.T) {
	dir := shop(t)
	legacy := filepath.Join(dir, "overlays/legacy")
	if err := os.MkdirAll(legacy, 0o755); err != nil {
		t.Fatal(err)
	}
	patch := read(t, filepath.Join(dir, "overlays/prod/api-memory.yaml"))
	putAll(t, legacy, map[string]string{
		"kustomization.yaml": "resources:\n- ../../base\npatchesStrategicMerge:\n- api-memory.yaml\n",
		"api-memory.yaml":    patch,
	})
	// kustomize warns of patchesStrategicMerge on stderr: once, at the
	// build that planned was made of, not at every trial.
	said, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	saved := os.Stderr
	os.Stderr = said
	k, objs := load(t, legacy)
	traced(t, dir, k, planned(t, objs, change{"Deployment/api", "memory: 512Mi", "memory: 700Mi"}), map[string]string{
		"overlays/legacy/api-memory.yaml": patch + "          requests:\n            memory: 700Mi\n",
	})
	os.Stderr = saved
	said.Close()
	if n := strings.Count(read(t, said.Name()), "'patchesStrategicMerge' is deprecated"); n != 1 {
		t.Errorf("kustomize's warning said %d times, want once (as kubectl kustomize says it)", n)
	}
}

// kubectlKustomize is what kubectl kustomize builds of dir.
func kubectlKustomize(t *testing.T, dir string) []byte {
	t.Helper()
	kubectl, err := cluster.Binary("kubectl")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(kubectl, "kustomize", dir).Output()
	if err != nil {
		t.Fatalf("kubectl kustomize %s: %v", dir, err)
	}
	return out
}

// Progress hears the fields made so far and those left, to the end.
func TestTraceProgress(t *testing.T) {
	k, err := Load(bigOverlay(t, 4))
	if err != nil {
		t.Fatal(err)
	}
	objs, err := k.Build()
	if err != nil {
		t.Fatal(err)
	}
	var calls [][2]int
	k.Progress = func(made, left int) { calls = append(calls, [2]int{made, left}) }
	if _, err := k.Trace(raise(objs)); err != nil {
		t.Fatal(err)
	}
	if len(calls) == 0 {
		t.Fatal("Progress was not called")
	}
	total := calls[0][0] + calls[0][1]
	for i, c := range calls {
		if c[0]+c[1] != total || i > 0 && c[0] < calls[i-1][0] {
			t.Errorf("calls %v: want made growing and made+left the same", calls)
			break
		}
	}
	if last := calls[len(calls)-1]; last != [2]int{4, 0} {
		t.Errorf("last call %v, want the 4 limits made and none left", last)
	}
}
