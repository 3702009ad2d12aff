// Package kustomize builds a kustomization as `kustomize build` (and
// `kubectl kustomize`) builds it, with kustomize's own Go packages, knows
// which file each object of the build comes from, and traces a change of
// the build back to the files of the kustomization's folder that make it:
// a value it sets (a resource, a patch, a generator's literal), or a
// strategic-merge patch it gets.
package kustomize

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	yaml "go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/api/resource"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/oomdoctor/oomdoctor/internal/manifest"
	"github.com/oomdoctor/oomdoctor/internal/renderdiff"
)

// originAnnotation is where kustomize writes an object's origin when the
// kustomization asks for it (buildMetadata: [originAnnotations]).
const originAnnotation = "config.kubernetes.io/origin"

// Kustomization is a kustomization folder, with the texts its files would
// have after the edits traced so far (none at first).
type Kustomization struct {
	// Dir is the folder as given; root is its absolute path.
	Dir  string
	root string
	// file is its kustomization file (absolute).
	file string
	// built is the last Build, for the Trace that follows it.
	built *build
	// origins: the kustomization asks for origin annotations itself, so
	// they stay in the build.
	origins bool
	// generated are the objects generators make, by kind, namespace and
	// name without its hash, as the last build with origins found them.
	generated map[string]bool
	// Builds counts the builds made (with origins, and without).
	Builds, PlainBuilds int
	// Helm is the helm program that inflates the kustomization's
	// helmCharts, as kubectl kustomize's --enable-helm --helm-command;
	// empty, a kustomization with helmCharts is an error.
	Helm string
	// parsed and kustomizations are the files Locate has read, by path:
	// resource files and kustomization files.
	parsed         map[string][]*manifest.Object
	kustomizations map[string]*yaml.Node
	// charts tells, by folder, whether it holds a Chart.yaml: asked of
	// every file every build reads.
	charts map[string]bool
	// Progress, when set, hears how far Trace has come: the planned
	// fields its files make so far, and those left to try.
	Progress func(made, left int)
	// Partial makes Trace give the files' changes for the planned
	// changes they make even when it cannot trace others (its
	// TraceError then says which).
	Partial bool
}

// Load finds the kustomization file of dir.
func Load(dir string) (*Kustomization, error) {
	root, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("the kustomization %s: %w", dir, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%s is a file: give the folder that holds kustomization.yaml, as kubectl's -k", dir)
	}
	k := &Kustomization{Dir: dir, root: root, generated: map[string]bool{}}
	for _, name := range []string{"kustomization.yaml", "kustomization.yml", "Kustomization"} {
		p := filepath.Join(root, name)
		if _, err := os.Stat(p); err == nil {
			k.file = p
			break
		}
	}
	if k.file == "" {
		return nil, fmt.Errorf("%s has no kustomization.yaml: give a kustomization's folder, as kubectl's -k", dir)
	}
	data, err := os.ReadFile(k.file)
	if err != nil {
		return nil, err
	}
	var kz types.Kustomization
	if err := yaml.Unmarshal(data, &kz); err != nil {
		return nil, fmt.Errorf("%s: %w", k.display(k.file), err)
	}
	for _, b := range kz.BuildMetadata {
		k.origins = k.origins || b == types.OriginAnnotations
	}
	return k, nil
}

// Object is an object of a build.
type Object struct {
	// Source is the file it comes from, as a path from the working
	// folder; for a generated object, the kustomization that generates it.
	Source string
	// Text is the object as kustomize writes it.
	Text string
	// Kind, Namespace and Name are the object's, as built.
	Kind, Namespace, Name string
	// path is Source's absolute path, when it is a resource file (not
	// generated, not remote).
	path string
	// generated: by a generator of the kustomization file generator, of
	// the kind generatorKind (ConfigMapGenerator,
	// HelmChartInflationGenerator).
	generated     bool
	generator     string
	generatorKind string
	id            string
	// k is the kustomization built; built is Text parsed, once Locate
	// needs it.
	k     *Kustomization
	built any
}

// build is a build of the kustomization: its objects (with their sources
// when built with origins), their documents by object, and the files of
// the kustomization's folder it read (a chart's own files aside).
type build struct {
	objects []*Object
	docs    renderdiff.Docs
	read    []string
	// hashed are the generated objects' names, with the hash kustomize
	// adds to them, and the name without it.
	hashed map[string]string
}

// Build builds the kustomization as the files are on disk.
func (k *Kustomization) Build() ([]*Object, error) {
	b, err := k.build(nil, true)
	if err != nil {
		return nil, err
	}
	k.built = b
	return b.objects, nil
}

// build builds the kustomization with texts in place of the files'. With
// origins, each object's source is known; without, the build is several
// times faster (kustomize then records no transformations), for trials.
func (k *Kustomization) build(texts map[string][]byte, origins bool) (*build, error) {
	if origins {
		k.Builds++
	} else {
		k.PlainBuilds++
	}
	fs := &overlayFS{FileSystem: filesys.MakeFsOnDisk(), k: k, texts: texts, read: map[string]bool{}, origins: origins && !k.origins}
	opts := krusty.MakeDefaultOptions()
	// As kubectl kustomize: the kustomization's sortOptions, else
	// kustomize's legacy order (MakeDefaultOptions keeps the input's).
	opts.Reorder = krusty.ReorderOptionUnspecified
	if k.Helm != "" {
		opts.PluginConfig.HelmConfig.Enabled = true
		opts.PluginConfig.HelmConfig.Command = k.Helm
	}
	var m resmap.ResMap
	var err error
	run := func() { m, err = krusty.MakeKustomizer(opts).Run(fs, k.root) }
	if origins {
		run()
	} else {
		quietly(run)
	}
	if err != nil {
		if strings.Contains(err.Error(), "must specify --enable-helm") {
			return nil, fmt.Errorf("kustomize build %s: it inflates a Helm chart (helmCharts): run again with --enable-helm, as kubectl kustomize (the helm program of --helm-command, default helm, inflates it)", k.Dir)
		}
		return nil, fmt.Errorf("kustomize build %s: %w", k.Dir, err)
	}
	b := &build{docs: renderdiff.Docs{}, hashed: map[string]string{}}
	for _, r := range m.Resources() {
		o, err := k.object(r)
		if err != nil {
			return nil, err
		}
		b.objects = append(b.objects, o)
		if base, ok := unhashed(o.Name); ok && o.generated {
			k.generated[o.Kind+"/"+o.Namespace+"/"+base] = true
		}
	}
	for _, o := range b.objects {
		if base, ok := unhashed(o.Name); ok && k.generated[o.Kind+"/"+o.Namespace+"/"+base] {
			b.hashed[o.Name] = base
		}
	}
	for _, o := range b.objects {
		var v any
		if err := yaml.Unmarshal([]byte(o.Text), &v); err != nil {
			return nil, fmt.Errorf("%s: kustomize writes YAML that does not parse: %w", o.Source, err)
		}
		v = normalize(v, b.hashed)
		o.id = idOf(v)
		b.docs[o.id] = append(b.docs[o.id], v)
	}
	for p := range fs.read {
		if (p == k.root || k.under(p)) && !k.inChart(p) {
			b.read = append(b.read, p)
		}
	}
	slices.Sort(b.read)
	return b, nil
}

// inChart tells a file of a Helm chart in the kustomization's folder (its
// chartHome): the chart's own values are its defaults, which the values
// the kustomization gives override; fix leaves them as they came.
func (k *Kustomization) inChart(p string) bool {
	if k.charts == nil {
		k.charts = map[string]bool{}
	}
	for d := filepath.Dir(p); k.under(d); d = filepath.Dir(d) {
		chart, known := k.charts[d]
		if !known {
			_, err := os.Stat(filepath.Join(d, "Chart.yaml"))
			chart = err == nil
			k.charts[d] = chart
		}
		if chart {
			return true
		}
	}
	return false
}

// object is a resource of the build, with its origin.
func (k *Kustomization) object(r *resource.Resource) (*Object, error) {
	o := &Object{Kind: r.GetKind(), Namespace: r.GetNamespace(), Name: r.GetName(), k: k}
	origin, err := r.GetOrigin()
	if err != nil {
		return nil, err
	}
	switch {
	case origin == nil:
		o.Source = k.Dir
	case origin.ConfiguredIn != "":
		o.generator = filepath.Join(k.root, origin.ConfiguredIn)
		o.Source = k.display(o.generator)
		o.generated, o.generatorKind = true, origin.ConfiguredBy.Kind
	case origin.Repo != "":
		o.Source = origin.Repo + "//" + origin.Path
	default:
		o.path = filepath.Join(k.root, origin.Path)
		o.Source = k.display(o.path)
	}
	if !k.origins {
		ann := r.GetAnnotations()
		delete(ann, originAnnotation)
		if err := r.SetAnnotations(ann); err != nil {
			return nil, err
		}
	}
	text, err := r.AsYAML()
	if err != nil {
		return nil, err
	}
	o.Text = string(text)
	return o, nil
}

// display is an absolute path as a path from the folder given.
func (k *Kustomization) display(abs string) string {
	rel, err := filepath.Rel(k.root, abs)
	if err != nil {
		return abs
	}
	return filepath.Join(k.Dir, rel)
}

// unhashed strips the hash kustomize's generators add to a name
// (-h6b467gtmc).
func unhashed(name string) (string, bool) {
	i := strings.LastIndexByte(name, '-')
	if i < 1 || len(name)-i-1 != 10 {
		return name, false
	}
	return name[:i], true
}

// hashMark stands for a generated name's hash in a normalized build.
const hashMark = "-(hash)"

// normalize writes the generated objects' names without their hash, in
// the object and wherever it is named: the hash changes with their data,
// which is no change to compare.
func normalize(v any, hashed map[string]string) any {
	if len(hashed) == 0 {
		return v
	}
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = normalize(e, hashed)
		}
	case []any:
		for i, e := range x {
			x[i] = normalize(e, hashed)
		}
	case string:
		if base, ok := hashed[x]; ok {
			return base + hashMark
		}
	}
	return v
}

// idOf names an object of a build: kind, namespace and name.
func idOf(v any) string {
	kind, _ := renderdiff.Lookup(v, []any{"kind"})
	ns, _ := renderdiff.Lookup(v, []any{"metadata", "namespace"})
	name, _ := renderdiff.Lookup(v, []any{"metadata", "name"})
	return fmt.Sprintf("%v/%v/%v", renderdiff.ScalarText(kind), renderdiff.ScalarText(ns), renderdiff.ScalarText(name))
}

// overlayFS is the disk with some files' texts replaced, and the
// kustomization file asking for origin annotations; it notes the files
// read.
type overlayFS struct {
	filesys.FileSystem
	k     *Kustomization
	texts map[string][]byte
	read  map[string]bool
	// origins: ask for origin annotations.
	origins bool
}

func (fs *overlayFS) abs(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

func (fs *overlayFS) ReadFile(p string) ([]byte, error) {
	a := fs.abs(p)
	data, ok := fs.texts[a]
	if !ok {
		var err error
		if data, err = fs.FileSystem.ReadFile(p); err != nil {
			return nil, err
		}
	}
	fs.read[a] = true
	if a == fs.k.file && fs.origins {
		return withOrigins(data)
	}
	return data, nil
}

func (fs *overlayFS) Exists(p string) bool {
	if _, ok := fs.texts[fs.abs(p)]; ok {
		return true
	}
	return fs.FileSystem.Exists(p)
}

// CleanedAbs is the disk's, and for a new file its folder's and its name
// (kustomize confirms the folder of each file it loads).
func (fs *overlayFS) CleanedAbs(p string) (filesys.ConfirmedDir, string, error) {
	a := fs.abs(p)
	if _, ok := fs.texts[a]; ok && !fs.FileSystem.Exists(a) {
		d, _, err := fs.FileSystem.CleanedAbs(filepath.Dir(a))
		return d, filepath.Base(a), err
	}
	return fs.FileSystem.CleanedAbs(p)
}

// withOrigins is a kustomization's text with buildMetadata asking for
// origin annotations too.
func withOrigins(data []byte) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("the kustomization file is not a mapping")
	}
	m := doc.Content[0]
	var list *yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == "buildMetadata" {
			list = m.Content[i+1]
		}
	}
	if list == nil {
		list = &yaml.Node{Kind: yaml.SequenceNode}
		m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: "buildMetadata"}, list)
	}
	list.Content = append(list.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: types.OriginAnnotations})
	return yaml.Marshal(&doc)
}

// stderr guards os.Stderr while quietly has it.
var stderr sync.Mutex

// quietly runs f with os.Stderr at the null device. kustomize writes the
// warning of a deprecated field (patchesStrategicMerge, bases, vars)
// straight to os.Stderr at every build: the build with origins, which
// lint -k and fix -k make once, says it, as kubectl kustomize does, and
// the trials of a trace do not say it again dozens of times.
func quietly(f func()) {
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		f()
		return
	}
	defer null.Close()
	stderr.Lock()
	defer stderr.Unlock()
	saved := os.Stderr
	os.Stderr = null
	defer func() { os.Stderr = saved }()
	f()
}
