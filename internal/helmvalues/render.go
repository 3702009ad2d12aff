// Package helmvalues fixes a Helm chart through its values: the chart is
// rendered as `helm template` renders it, fix plans its changes on the
// rendered manifests, and each change is traced back to the values key that
// makes it, by rendering again with that key changed. The values files are
// then edited as fix edits manifests (comments, order and quoting kept),
// and nothing is written unless the chart, rendered with the new values,
// gives exactly the manifests fix planned.
package helmvalues

import (
	"fmt"
	"os"
	"path"
	"sort"
	"strings"

	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/common/util"
	chartv2 "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
	"helm.sh/helm/v4/pkg/engine"
	"helm.sh/helm/v4/pkg/strvals"

	"github.com/oomdoctor/oomdoctor/internal/manifest"
	"github.com/oomdoctor/oomdoctor/internal/renderdiff"
)

// Chart is a chart with the values files given for it.
type Chart struct {
	// Dir is the chart's folder (or archive, whose values cannot be
	// edited).
	Dir string
	// Files are the values files given (--values), in order: a later one
	// overrides an earlier one.
	Files []*ValuesFile
	// Defaults is the chart's own values.yaml; nil when it has none or
	// the chart is an archive.
	Defaults *ValuesFile
	// Progress, when set, hears how far Trace has come: the changes of
	// the render it traced to the values and those left.
	Progress func(traced, left int)
	// Partial lets Write make the edits Trace found when it could not
	// trace every planned change (its TraceError then says which): the
	// render is checked to differ from the plan in those alone.
	Partial bool

	chart   *chartv2.Chart
	release common.ReleaseOptions
	// caps are the cluster's capabilities templates read (nil: Helm's
	// default, as helm template without --kube-version).
	caps *common.Capabilities
	// volatile are the fields that change at each render (volatileFields).
	volatile map[string]bool
	// hooks says which templates are helm test hooks (testHook).
	hooks map[string]bool
	// alone are copies of the chart that render one template (and the
	// partials it may include), by the template's name.
	alone map[string]*chartv2.Chart
	// user is the merge of Files and the --set values, what `helm
	// template -f ... --set ...` passes on; set the --set values alone.
	user, set map[string]any
	// left are the differences from the plan Trace left (Partial).
	left []renderdiff.Difference
}

// ValuesFile is one values file and its text.
type ValuesFile struct {
	Path string
	Data []byte
	vals map[string]any
}

// Template is one rendered template: its name in the chart
// (api/templates/deployment.yaml) and its manifests.
type Template struct {
	Name string
	Text string
}

// Load reads the chart at dir (a folder or a packaged .tgz) and the values
// files, for a release of that name in namespace; sets are helm's --set
// values (key=value,...), over the files.
func Load(dir string, valuesFiles, sets []string, release, namespace string) (*Chart, error) {
	return LoadFor(dir, valuesFiles, sets, release, namespace, "")
}

// LoadFor is Load for a cluster of a Kubernetes version (helm template's
// --kube-version, "1.31" or "v1.31.2"; "" for Helm's default), which
// templates may branch on (.Capabilities.KubeVersion).
func LoadFor(dir string, valuesFiles, sets []string, release, namespace, kubeVersion string) (*Chart, error) {
	ch, err := loader.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("cannot load the chart %s: %w (give a chart folder, with its Chart.yaml, or a packaged .tgz)", dir, err)
	}
	if err := dependenciesThere(ch); err != nil {
		return nil, err
	}
	c := &Chart{Dir: dir, chart: ch, release: common.ReleaseOptions{Name: release, Namespace: namespace, Revision: 1, IsInstall: true}, user: map[string]any{}}
	if kubeVersion != "" {
		kv, err := common.ParseKubeVersion(kubeVersion)
		if err != nil {
			return nil, fmt.Errorf("--kube-version %q: %w (give a version such as 1.31 or v1.31.2)", kubeVersion, err)
		}
		c.caps = common.DefaultCapabilities.Copy()
		c.caps.KubeVersion = *kv
	}
	if st, err := os.Stat(dir); err == nil && st.IsDir() {
		p := path.Join(dir, chartutil.ValuesfileName)
		if data, err := os.ReadFile(p); err == nil {
			vf, err := parseValues(p, data)
			if err != nil {
				return nil, err
			}
			c.Defaults = vf
		}
	}
	for _, f := range valuesFiles {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("cannot read the values file %s: %w", f, err)
		}
		vf, err := parseValues(f, data)
		if err != nil {
			return nil, err
		}
		c.Files = append(c.Files, vf)
		c.user = loader.MergeMaps(c.user, vf.vals)
	}
	c.set = map[string]any{}
	for _, s := range sets {
		if err := strvals.ParseInto(s, c.set); err != nil {
			return nil, fmt.Errorf("--set %s: %w", s, err)
		}
		if err := strvals.ParseInto(s, c.user); err != nil {
			return nil, fmt.Errorf("--set %s: %w", s, err)
		}
	}
	// Subcharts are enabled or not by the values given, as helm does it
	// before it renders; the memory settings fix changes are not their
	// conditions.
	if err := chartutil.ProcessDependencies(ch, c.user); err != nil {
		return nil, fmt.Errorf("the chart %s: %w", dir, err)
	}
	return c, nil
}

// dependenciesThere refuses a chart whose Chart.yaml names subcharts its
// charts/ folder does not hold, as helm install does: rendered without
// them, their workloads would be left out.
func dependenciesThere(ch *chartv2.Chart) error {
	have := map[string]bool{}
	for _, d := range ch.Dependencies() {
		have[d.Name()] = true
	}
	var missing []string
	for _, d := range ch.Metadata.Dependencies {
		if !have[d.Name] {
			missing = append(missing, d.Name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("the chart %s needs %s, missing from its charts/ folder: run helm dependency build first", ch.Name(), strings.Join(missing, ", "))
	}
	return nil
}

func parseValues(p string, data []byte) (*ValuesFile, error) {
	vals, err := loader.LoadValues(strings.NewReader(string(data)))
	if err != nil {
		return nil, fmt.Errorf("%s: not a values file: %w", p, err)
	}
	if vals == nil {
		vals = map[string]any{}
	}
	return &ValuesFile{Path: p, Data: data, vals: vals}, nil
}

// Name is the chart's name.
func (c *Chart) Name() string { return c.chart.Name() }

// Render renders the chart with the values given (user values, over the
// chart's own) and returns its manifests, by template name. Partials,
// NOTES.txt, templates that render to nothing and the release's test
// hooks (pods `helm test` runs, not workloads) are left out.
func (c *Chart) Render(user map[string]any) ([]Template, error) {
	return c.render(c.chart, user)
}

// renderOne renders the template named alone, as Render renders it among
// the others: the values and partials are the same.
func (c *Chart) renderOne(user map[string]any, name string) ([]Template, error) {
	if c.alone == nil {
		c.alone = map[string]*chartv2.Chart{}
	}
	ch, ok := c.alone[name]
	if !ok {
		ch = only(c.chart, c.chart.Name(), name)
		c.alone[name] = ch
	}
	return c.render(ch, user)
}

// only copies ch (whose templates are named under prefix) and its
// subcharts with no template but the partials and the one named.
func only(ch *chartv2.Chart, prefix, name string) *chartv2.Chart {
	cp := *ch
	cp.Templates = nil
	for _, t := range ch.Templates {
		if strings.HasPrefix(path.Base(t.Name), "_") || path.Join(prefix, t.Name) == name {
			cp.Templates = append(cp.Templates, t)
		}
	}
	var deps []*chartv2.Chart
	for _, d := range ch.Dependencies() {
		deps = append(deps, only(d, path.Join(prefix, "charts", d.Name()), name))
	}
	cp.SetDependencies(deps...)
	return &cp
}

func (c *Chart) render(ch *chartv2.Chart, user map[string]any) ([]Template, error) {
	vals, err := util.ToRenderValues(ch, user, c.release, c.caps)
	if err != nil {
		return nil, err
	}
	out, err := engine.Render(ch, vals)
	if err != nil {
		return nil, err
	}
	var ts []Template
	for name, text := range out {
		base := path.Base(name)
		if strings.HasPrefix(base, "_") || strings.HasSuffix(base, ".txt") || strings.TrimSpace(text) == "" || c.testHook(name, text) {
			continue
		}
		ts = append(ts, Template{Name: name, Text: text})
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].Name < ts[j].Name })
	return ts, nil
}

// testHook tells a template of `helm test` pods, read from its first
// render: the traces render the chart again and again, and a template's
// hook annotation does not hang on memory settings.
func (c *Chart) testHook(name, text string) bool {
	if test, ok := c.hooks[name]; ok {
		return test
	}
	if c.hooks == nil {
		c.hooks = map[string]bool{}
	}
	test := false
	defer func() { c.hooks[name] = test }()
	_ = manifest.ReadStream(name, strings.NewReader(text), &manifest.Stats{}, func(o *manifest.Object) error {
		hook := manifest.StringMap(manifest.Child(manifest.Child(o.Node, "metadata"), "annotations"))["helm.sh/hook"]
		for _, h := range strings.Split(hook, ",") {
			if h = strings.TrimSpace(h); h == "test" || h == "test-success" {
				test = true
			}
		}
		return nil
	})
	return test
}

// User is the values the files given set, merged in order.
func (c *Chart) User() map[string]any { return c.user }
