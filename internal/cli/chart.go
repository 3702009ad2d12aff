package cli

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/oomdoctor/oomdoctor/internal/helmvalues"
)

// chartFlags are the flags that render a Helm chart as helm template does:
// fix --chart and lint --chart.
type chartFlags struct {
	dir     string
	values  []string
	sets    []string
	release string
	kube    string
}

func (c *chartFlags) add(f *pflag.FlagSet, what string) {
	c.release = "release-name"
	f.StringVar(&c.dir, "chart", "", "A Helm chart (folder or .tgz): render it as helm template does, and "+what+".")
	f.StringArrayVar(&c.values, "values", nil, "With --chart: a values file of the release, as helm's -f (repeat it; a later one overrides an earlier one).")
	f.StringArrayVar(&c.sets, "set", nil, "With --chart: values as helm's --set (key=value, repeat it or separate with commas), over the values files.")
	f.StringVar(&c.kube, "kube-version", "", "With --chart: the cluster's Kubernetes version, as helm template's --kube-version, for templates that branch on it (default: Helm's).")
	f.StringVar(&c.release, "release", c.release, "With --chart: the release's name, as helm template's NAME (workload names often hold it).")
}

func (c *chartFlags) set() bool { return c.dir != "" }

// misused refuses --values or --release without --chart.
func (c *chartFlags) misused(cmd *cobra.Command) error {
	if c.set() {
		return nil
	}
	for _, name := range []string{"values", "set", "release", "kube-version"} {
		if cmd.Flags().Changed(name) {
			return usagef("--%s goes with --chart (a Helm chart, rendered as helm template renders it)", name)
		}
	}
	return nil
}

// render loads the chart and renders it with the values files given, in
// the namespace -n says.
func (c *chartFlags) render(cmd *cobra.Command) (*helmvalues.Chart, []helmvalues.Template, error) {
	ns, _ := cmd.Flags().GetString("namespace")
	ch, err := helmvalues.LoadFor(c.dir, c.values, c.sets, c.release, ns, c.kube)
	if err != nil {
		return nil, nil, asUsage(err)
	}
	ts, err := ch.Render(ch.User())
	if err != nil {
		return nil, nil, usagef("the chart %s does not render with the values given: %v", c.dir, err)
	}
	return ch, ts, nil
}

// sourcePath is the path of the template helm names name
// (shop/templates/api.yaml, shop/charts/redis/templates/x.yaml) in a
// chart folder, when it is there; name otherwise (a packaged chart or
// subchart).
func (c *chartFlags) sourcePath(name string) string {
	_, rel, ok := strings.Cut(name, "/")
	if !ok {
		return name
	}
	p := filepath.Join(c.dir, filepath.FromSlash(rel))
	if st, err := os.Stat(p); err != nil || !st.Mode().IsRegular() {
		return name
	}
	return p
}
