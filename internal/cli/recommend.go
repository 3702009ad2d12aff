package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/yaml"

	"github.com/oomdoctor/oomdoctor/internal/fix"
	"github.com/oomdoctor/oomdoctor/internal/manifest"
	"github.com/oomdoctor/oomdoctor/internal/model"
	"github.com/oomdoctor/oomdoctor/internal/recommend"
	"github.com/oomdoctor/oomdoctor/internal/runtimes"
	"github.com/oomdoctor/oomdoctor/internal/source/snapshot"
	"github.com/oomdoctor/oomdoctor/internal/usage"
	"github.com/oomdoctor/oomdoctor/internal/usage/prom"
	"github.com/oomdoctor/oomdoctor/internal/words"
)

// RecommendOptions are the options of `oomdoctor recommend`.
type RecommendOptions struct {
	genericiooptions.IOStreams
	Trace         string
	Strategy      string
	Output        string
	Namespace     string
	AllNamespaces bool
	PerPod        bool
	Workload      string
	Selector      string
	Snapshot      string
	FromCluster   bool
	// LeakCheck rereads the killed containers' pods to warn of leaks.
	LeakCheck bool
	MinChange float64
	MaxRatio  float64
	flags     *genericclioptions.ConfigFlags
	prom      *promFlags
	now       func() time.Time
}

// NewRecommendCommand builds `oomdoctor recommend`.
func NewRecommendCommand(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := &RecommendOptions{flags: flags, IOStreams: streams, Strategy: recommend.Default, Output: "table", prom: newPromFlags(flags, streams.ErrOut), now: time.Now, MinChange: recommend.MinChange, MaxRatio: model.MaxLimitRequestRatio}
	cmd := &cobra.Command{
		Use:   "recommend ((--prometheus-url URL | --prometheus-service NS/NAME|auto) [-n NS] [-l SELECTOR] [TYPE/NAME] | --snapshot DIR | --trace FILE)",
		Short: "Recommend memory requests and limits from usage history",
		Long: `Recommend a memory request and limit per container of each workload (all its replicas
together: the limit has to hold the largest), from usage history in Prometheus (cAdvisor's
working set, kube-state-metrics' limits, restarts and termination reasons) or in a trace file,
with the reasons in numbers. The default strategy, tail, sizes the limit for the rare peak: it
models the upper tail of the 6-hour peaks of the last 28 days and takes the level a week's peaks
exceed with probability 2e-5, at least 1.5x the highest peak; OOM kills count as peaks at least
as high as the limit they happened at. Other strategies (` + strings.Join(slices.DeleteFunc(recommend.Names(), func(n string) bool { return n == recommend.Default }), ", ") + `) are the peers'
and the rule of thumb; oomdoctor replay compares them on a trace.

From Prometheus, the history is read a namespace (or 100 pods) at a time, aggregated on the
server (the highest value within each --step), so that a large cluster does not overload it;
a limit above the largest node's allocatable memory (kube_node_status_allocatable, or the
nodes' status with --from-cluster or --snapshot) is capped there, with a warning, and so is one
above the namespace's LimitRange (kube_limitrange, or the LimitRanges with --from-cluster or
--snapshot), whose minimum and ratio raise the request too. All the recommendations applied to
the pods that run now are checked against the namespaces' ResourceQuotas (kube_resourcequota, or
the quotas with --from-cluster or --snapshot), with room for the largest rolling update's new
pods: a warning says which quota cannot hold them. A query that fails or times out becomes a
note (on stderr, and in -o json|yaml) about the containers it leaves out.

Where the current request or limit is known (kube-state-metrics) and the new one is within
--min-change (10%) of it, the current one is kept: every change rolls the pods. A container
OOM-killed in the history gets any rise of its limit. A request more than
--max-limit-request-ratio (4) times below its limit is raised to the limit / that ratio: the
scheduler reserves only the request, and lint flags the same ratio.

A container that leaks is killed whatever its limit. For each workload container with kills,
its two most-killed pods are read again at 5-minute steps (7 days at most); when their working
set climbs in each lifetime up to the kill, as scan's memory-leak detector sees it, the
recommendation warns, with the growth per hour and how long a restart takes to fill the new
limit and the current one.

The most-killed pod's RSS and page cache are read too, over 3 days at most: when page cache held
half the charge or more, RSS under 70% of the limit, before half of its kills or more, the
recommendation warns that the cache is sized with the container and that one the kernel cannot
reclaim fills any limit.

-o json writes a Recommendations document that oomdoctor fix --recommendations reads.`,
		Example: `  oomdoctor recommend --prometheus-url http://127.0.0.1:9090 -n shop
  oomdoctor recommend --prometheus-url http://127.0.0.1:9090 -n shop deployment/cart --history 28d
  oomdoctor recommend --prometheus-url http://127.0.0.1:9090 --from-cluster -l team=payments
  oomdoctor recommend --prometheus-service auto -n shop            # Prometheus in the cluster, through the API server
  oomdoctor recommend --prometheus-url http://127.0.0.1:9090 -o json > recs.json && oomdoctor fix -f k8s/ --recommendations recs.json
  oomdoctor recommend --trace usage.csv`,
		Args: atMostOneArg("a workload (TYPE/NAME: deployment/cart)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				o.Workload = args[0]
			}
			if err := o.prom.misused(cmd.Flags(), o.Trace != ""); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Trace, "trace", "", "Usage history: CSV series,unix_seconds,usage_bytes[,provisioned_bytes] (gzip or not); a series is named namespace/kind/name/container or anything.")
	f.StringVar(&o.Strategy, "strategy", o.Strategy, "Sizing strategy: tail, krr, peak-1.5x, peak-2x or vpa; tail:p=PROBABILITY:floor=FACTOR takes another risk that a week's peaks go above the limit (default 2e-5) and another least limit over the highest peak (default 1.5): oomdoctor replay --strategies shows what each costs.")
	f.StringVarP(&o.Output, "output", "o", o.Output, "Output format: table, wide (every reason, the runtime and its flags), json or yaml.")
	f.StringVarP(&o.Namespace, "namespace", "n", "", "With --prometheus-url: only this namespace.")
	f.BoolVarP(&o.AllNamespaces, "all-namespaces", "A", false, "With --prometheus-url: every namespace (the default without -n).")
	f.StringVarP(&o.Selector, "selector", "l", "", "With --from-cluster or --snapshot: only the pods whose labels match (e.g. -l app=cart,tier!=cache), as kubectl takes it, and the workloads they belong to (all their replicas).")
	f.BoolVar(&o.PerPod, "per-pod", false, "With --prometheus-url or --snapshot: one recommendation per pod's container instead of per workload.")
	f.BoolVar(&o.FromCluster, "from-cluster", false, fromClusterHelp)
	f.BoolVar(&o.LeakCheck, "leak-check", true, leakCheckHelp)
	f.Var(percent{&o.MinChange}, "min-change", minChangeHelp)
	f.Float64Var(&o.MaxRatio, "max-limit-request-ratio", o.MaxRatio, maxRatioHelp)
	f.StringVar(&o.Snapshot, "snapshot", "", "A snapshot folder: the pods' specs (for the runtime floors and the heap flags that go with each limit) and, without --prometheus-url, the history in its series files (*.om, *.csv).")
	o.prom.add(f)
	return cmd
}

const (
	fromClusterHelp = "With --prometheus-url: read the pods' specs (and the ConfigMaps their env comes from) from the cluster (kubeconfig flags), for the runtime floors and the heap flags that go with each limit, the OOM kills in the pods' status and the node agent's events, the namespaces' LimitRanges and ResourceQuotas (with the Deployments and DaemonSets whose rollouts they must hold), and the VerticalPodAutoscalers that set the containers' memory."
	leakCheckHelp   = "Read the two most-killed pods of each killed container again at 5-minute steps, to warn when it leaks, and the most-killed one's RSS and page cache over 3 days, to warn when page cache filled its limit (--leak-check=false skips it: on a cluster with many killed containers it is about as much work for Prometheus as the sizing)."
	minChangeHelp   = "Keep the current request or limit when the new one is within this much of it (0 changes every value)."
	maxRatioHelp    = "Raise a request more than this many times below its limit to limit/ratio, as lint's memory-request-far-below-limit asks (0: any ratio)."
)

// Run recommends.
func (o *RecommendOptions) Run(ctx context.Context) error {
	sources := 0
	for _, set := range []bool{o.Trace != "", o.prom.set(), o.Snapshot != "" && !o.prom.set()} {
		if set {
			sources++
		}
	}
	if sources != 1 {
		return usagef("give the usage history: --prometheus-url URL or --prometheus-service NAMESPACE/NAME|auto (with --snapshot DIR for the pods' specs), --snapshot DIR with series files, or --trace FILE")
	}
	if o.FromCluster && o.Trace != "" {
		return usagef("--from-cluster goes with --prometheus-url, not --trace (a trace holds no pods to read specs of)")
	}
	if o.FromCluster && (o.Snapshot != "" || !o.prom.set()) {
		return usagef("--from-cluster goes with --prometheus-url, instead of --snapshot")
	}
	switch o.Output {
	case "table", "wide", "json", "yaml":
	default:
		return usagef("unknown output format %q: valid formats are json, table, wide, yaml", o.Output)
	}
	if o.MaxRatio != 0 && !(o.MaxRatio >= 1) {
		return usagef("--max-limit-request-ratio %g: give 1 or more (1: the request is the limit), or 0 for any ratio", o.MaxRatio)
	}
	st, err := recommend.Lookup(o.Strategy)
	if err != nil {
		return asUsage(err)
	}
	if err := o.prom.stepFits(st); err != nil {
		return err
	}
	var doc model.Recommendations
	if o.Trace != "" {
		if o.Namespace != "" || o.Workload != "" || o.PerPod || o.Selector != "" {
			return usagef("-n, -l, TYPE/NAME and --per-pod go with --prometheus-url or --snapshot, not --trace")
		}
		doc, err = recommendTrace(o.Trace, sizing{st: st, minChange: o.MinChange, maxRatio: o.MaxRatio})
	} else {
		if o.Namespace != "" && o.AllNamespaces {
			return usagef("-n and -A exclude each other")
		}
		sel, perr := labels.Parse(o.Selector)
		if perr != nil {
			return usagef("invalid --selector %q: %v", o.Selector, perr)
		}
		if o.Selector != "" && !o.FromCluster && o.Snapshot == "" {
			return usagef("-l selects pods by their labels, which Prometheus does not hold: give --from-cluster (or --snapshot) for the pods' specs")
		}
		var want *model.WorkloadRef
		if o.Workload != "" {
			kind, name, ok := strings.Cut(o.Workload, "/")
			if !ok || name == "" || kind == "" {
				return usagef("%q is not TYPE/NAME (e.g. deployment/cart)", o.Workload)
			}
			if o.Namespace == "" {
				return usagef("%s: say its namespace with -n", o.Workload)
			}
			k, err := canonicalKind(kind)
			if err != nil {
				return usagef("%s: %v", o.Workload, err)
			}
			want = &model.WorkloadRef{Namespace: o.Namespace, Kind: k, Name: name}
		}
		var sp *specs
		var specNotes []string
		if o.FromCluster {
			if sp, specNotes, err = clusterSpecs(ctx, o.flags, o.Namespace); err != nil {
				return err
			}
		}
		var snap *snapshot.Snapshot
		if o.Snapshot != "" {
			if snap, err = openSnapshot(o.Snapshot); err != nil {
				return err
			}
			if sp, specNotes, err = loadSpecs(ctx, snap, o.Namespace); err != nil {
				return asUsage(err)
			}
		}
		var picked []string // the namespaces of the pods -l picks
		if o.Selector != "" {
			if picked, err = sp.pick(sel, o.Selector, o.Namespace); err != nil {
				return err
			}
		}
		if o.Snapshot != "" {
			if !o.prom.set() {
				groups, err := snapshotGroups(ctx, snap, sp, o.Snapshot, o.prom, o.Namespace, o.PerPod, "give --prometheus-url for the history")
				if err != nil {
					return err
				}
				doc = model.Recommendations{APIVersion: "oomdoctor.io/v1alpha1", Kind: model.RecommendationsKind}
				if sp.maxAllocatable == 0 {
					doc.Notes = append(doc.Notes, "the snapshot has no nodes with allocatable memory: limits are not checked against it")
				}
				sz := sizing{st: st, minChange: o.MinChange, maxRatio: o.MaxRatio, sp: sp, bounds: sp.bounds, leaks: o.LeakCheck}
				killed := killedPods{}
				seen := map[string]bool{}
				for _, g := range groups {
					seen[specKey(g.Workload, g.Container)] = true
				}
				for _, g := range append(groups, sp.orphans(seen, o.PerPod, want)...) {
					if want != nil && (g.Workload.Kind != want.Kind || g.Workload.Name != want.Name) || !sp.picks(g.Workload) {
						continue
					}
					if r, ok := recommendGroup(sz, sz.guard(sp.maxAllocatable), g); ok {
						doc.Items = append(doc.Items, r)
						killed.add(r, g, sp.win.step)
					}
				}
				if sz.leaks {
					hist, err := filesHistory(prom.HistoryFiles(o.Snapshot), leakFlags(o.prom), snapshotTime(snap))
					if err != nil {
						return err
					}
					notes, err := warnLeaks(ctx, hist, nil, doc.Items, killed, "--snapshot "+o.Snapshot, false, newProgress(o.ErrOut))
					doc.Notes = append(doc.Notes, notes...)
					if err != nil {
						return err
					}
				}
				sortRecommendations(doc.Items)
				sp.hpaWarnings(doc.Items)
				doc.Quotas = sp.quotaChecks(doc.Items)
				if want != nil && len(doc.Items) == 0 {
					return noHistory(want, sp.win)
				}
				if o.Namespace != "" && len(doc.Items) == 0 {
					doc.Notes = append(doc.Notes, noneInNamespace(o.Namespace, sp.win))
				}
			}
		}
		if o.prom.set() {
			doc, err = recommendPrometheus(ctx, o.prom, o.Namespace, picked, want, o.PerPod, sizing{st: st, minChange: o.MinChange, maxRatio: o.MaxRatio, sp: sp, leaks: o.LeakCheck}, o.now(), o.ErrOut)
		}
		doc.Notes = append(specNotes, doc.Notes...)
	}
	if err != nil {
		return err
	}
	for _, n := range doc.Notes {
		fmt.Fprintln(o.ErrOut, "note:", n)
	}
	printQuotaWarnings(o.ErrOut, doc.Quotas, func(string) bool { return true })
	switch o.Output {
	case "json":
		enc := json.NewEncoder(o.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(doc)
	case "yaml":
		b, err := yaml.Marshal(doc)
		if err != nil {
			return err
		}
		_, err = o.Out.Write(b)
		return err
	}
	return recommendTable(o.Out, doc, o.Trace != "", o.Output == "wide")
}

// recommendTable writes the recommendations as a table: WHY is how the
// limit was made (or why it was kept) and the warnings; wide shows every
// reason, the runtime and its flags. A trace has no pods, kills or specs.
func recommendTable(out io.Writer, doc model.Recommendations, trace, wide bool) error {
	tw := tabwriter.NewWriter(out, 0, 8, 2, ' ', 0)
	flags := wide
	for _, r := range doc.Items {
		flags = flags || len(r.RuntimeFlags) > 0
	}
	cols := []string{"WORKLOAD", "CONTAINER"}
	if !trace {
		cols = append(cols, "PODS", "KILLS")
	}
	cols = append(cols, "REQUEST", "LIMIT")
	if wide && !trace {
		cols = append(cols, "RUNTIME")
	}
	if flags && !trace {
		cols = append(cols, "RUNTIME FLAGS")
	}
	fmt.Fprintln(tw, strings.Join(append(cols, "WHY"), "\t"))
	for _, r := range doc.Items {
		var why []string
		for i, x := range r.Reasons {
			switch {
			case !wide && (i == 0 || strings.HasPrefix(x, keptLimitPrefix)):
				why = []string{x}
			case wide && !slices.Contains(r.Warnings, x): // said once, below
				why = append(why, x)
			}
		}
		for _, w := range r.Warnings {
			why = append(why, "WARNING: "+w)
		}
		req, lim := manifest.FormatBytes(*r.MemoryRequestBytes), manifest.FormatBytes(*r.MemoryLimitBytes)
		row := []string{workloadName(r.Workload), orDash(r.Container)}
		if trace {
			row = append(row, req, change(r.CurrentLimitBytes, lim))
		} else {
			row = append(row, strconv.Itoa(r.Pods), strconv.Itoa(r.OOMKills), change(r.CurrentRequestBytes, req), change(r.CurrentLimitBytes, lim))
			if wide {
				row = append(row, orDash(r.Runtime))
			}
			if flags {
				row = append(row, orDash(strings.Join(r.RuntimeFlags, " ")))
			}
		}
		fmt.Fprintln(tw, strings.Join(append(row, strings.Join(why, "; ")), "\t"))
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// change shows "old -> new" when the current value is known and differs.
func change(cur *int64, to string) string {
	if cur == nil {
		return to
	}
	from := manifest.FormatBytes(*cur)
	if from == to {
		return to
	}
	return from + " -> " + to
}

// recommendTrace sizes every series of a trace file. A series' latest
// provisioned_bytes is its current limit, as in a snapshot's CSV files: the
// table shows the change, and a new limit within band of it keeps it.
func recommendTrace(path string, sz sizing) (model.Recommendations, error) {
	doc := model.Recommendations{APIVersion: "oomdoctor.io/v1alpha1", Kind: model.RecommendationsKind}
	st, guard := sz.st, sz.guard(0)
	var zero []string
	err := usage.ReadTraceFile(path, func(s *usage.Series) error {
		req, lim, reasons, ok := recommend.Size(st, guard, len(s.Samples), func(i int) (int64, float64) { return s.Samples[i].T, s.Samples[i].Usage }, nil)
		if !ok {
			zero = append(zero, s.Name)
			return nil
		}
		r := model.Recommendation{Workload: workloadOf(s.Name), Container: containerOf(s.Name)}
		if cur := s.Samples[len(s.Samples)-1].Provisioned; cur > 0 {
			var whyLimit, whyRequest string
			req, lim, whyLimit, whyRequest = keepCurrent(sz.minChange, 0, cur, req, lim, false, guard)
			for _, w := range []string{whyLimit, whyRequest} {
				if w != "" {
					reasons = append(reasons, w)
				}
			}
			v := int64(cur)
			r.CurrentLimitBytes = &v
		}
		r.MemoryRequestBytes, r.MemoryLimitBytes, r.Reasons = &req, &lim, reasons
		doc.Items = append(doc.Items, r)
		return nil
	})
	if err != nil {
		return doc, asUsage(err)
	}
	if len(zero) > 0 {
		doc.Notes = append(doc.Notes, fmt.Sprintf("%s all zero, nothing to size from: %s", words.CountOf(len(zero), "series is", "series are"), nameSome(zero, 5)))
	}
	return doc, nil
}

// nameSome lists names, the first n of them and how many more.
func nameSome(names []string, n int) string {
	if len(names) <= n {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:n], ", "), len(names)-n)
}

// recommendPrometheus reads the history of a namespace (all when ns is
// empty) from Prometheus and recommends per workload container (or per
// pod's container).
func recommendPrometheus(ctx context.Context, pf *promFlags, ns string, picked []string, want *model.WorkloadRef, perPod bool, sz sizing, now time.Time, errOut io.Writer) (model.Recommendations, error) {
	st, sp := sz.st, sz.sp
	doc := model.Recommendations{APIVersion: "oomdoctor.io/v1alpha1", Kind: model.RecommendationsKind}
	c, err := pf.client()
	if err != nil {
		return doc, err
	}
	start, end, step, err := pf.window(now, st.Resolution)
	if err != nil {
		return doc, err
	}
	if sp != nil {
		sp.win = window{from: start, to: end, step: step}
	}
	q := prom.Query{Start: start, End: end, Step: step, OOMEvents: pf.OOMEvents}
	if ns != "" {
		q.Namespaces = []string{ns}
	}
	if len(picked) > 0 {
		q.Namespaces = picked // -l: the namespaces of the pods it picked only
	}
	if sp != nil {
		q.Owners = sp.owners
	}
	alloc, err := c.MaxAllocatable(ctx, end)
	if err != nil {
		return doc, err
	}
	if alloc == 0 && sp != nil {
		alloc = sp.maxAllocatable // the nodes' status, from the snapshot or the cluster
	}
	if alloc == 0 {
		doc.Notes = append(doc.Notes, "kube_node_status_allocatable is not in Prometheus: limits are not checked against the nodes' allocatable memory")
	}
	sz.bounds = map[string]recommend.Bounds{}
	if sp != nil {
		maps.Copy(sz.bounds, sp.bounds)
	}
	lrs, err := c.LimitRanges(ctx, ns, end)
	if err != nil {
		doc.Notes = append(doc.Notes, fmt.Sprintf("kube_limitrange: %v; limits are kept within the LimitRanges of the pods' specs only", err))
	}
	for _, lr := range lrs {
		sz.bounds[lr.Namespace] = sz.bounds[lr.Namespace].Tighten(recommend.Bounds{Max: lr.Max, Min: lr.Min, MaxRatio: lr.MaxRatio}.Named("LimitRange " + lr.Namespace + "/" + lr.Name))
	}
	// The quotas: the specs' (with their scopes) when they have any, else
	// kube-state-metrics', with the pods' requests from the history.
	specQuotas := sp != nil && len(sp.quotas) > 0
	pq := &promQuotas{}
	if !specQuotas {
		var notes []string
		pq, notes = newPromQuotas(ctx, c, ns, end)
		doc.Notes = append(doc.Notes, notes...)
	}
	guard := sz.guard(alloc)
	bar := newProgress(errOut)
	seen := map[string]bool{}
	killed := killedPods{}
	notes, _, err := c.History(ctx, q, func(_ string, cs []*prom.Container) error {
		if !specQuotas {
			pq.add(cs, perPod)
		}
		for _, g := range prom.Merge(cs, perPod) {
			seen[specKey(g.Workload, g.Container)] = true
			if want != nil && (g.Workload.Kind != want.Kind || g.Workload.Name != want.Name) || !sp.picks(g.Workload) {
				continue
			}
			if r, ok := recommendGroup(sz, guard, g); ok {
				doc.Items = append(doc.Items, r)
				killed.add(r, g, step)
			}
		}
		return nil
	}, bar.namespaces())
	bar.Done()
	doc.Notes = append(doc.Notes, notes...)
	if err != nil {
		return doc, err
	}
	if sp != nil {
		for _, g := range sp.orphans(seen, perPod, want) {
			if !sp.picks(g.Workload) {
				continue
			}
			if r, ok := recommendGroup(sz, guard, g); ok {
				doc.Items = append(doc.Items, r)
			}
		}
	}
	if sz.leaks {
		hist, err := promHistory(leakFlags(pf), at(now), prom.Query{UsageOnly: true})
		if err != nil {
			return doc, err
		}
		cache, err := promHistory(cacheFlags(pf), at(now), prom.Query{CacheOnly: true})
		if err != nil {
			return doc, err
		}
		notes, err = warnLeaks(ctx, hist, cache, doc.Items, killed, pf.where(), true, newProgress(errOut))
		doc.Notes = append(doc.Notes, notes...)
		if err != nil {
			return doc, err
		}
	}
	sortRecommendations(doc.Items)
	sp.hpaWarnings(doc.Items)
	if sp == nil && !perPod {
		// No specs: the HPAs kube-state-metrics exports.
		hpas, err := c.HPAs(ctx, ns, end)
		if err != nil {
			doc.Notes = append(doc.Notes, fmt.Sprintf("kube_horizontalpodautoscaler_spec_target_metric: %v; recommendations do not say how they move an HPA that scales on memory", err))
		}
		promHPAWarnings(hpas, doc.Items)
	}
	if specQuotas {
		doc.Quotas = sp.quotaChecks(doc.Items)
	} else {
		var notes []string
		if doc.Quotas, notes, err = pq.checks(ctx, c, doc.Items, end); err != nil {
			notes = append(notes, fmt.Sprintf("kube_pod_status_phase: %v; recommendations are not checked against the namespaces' ResourceQuotas", err))
		}
		doc.Notes = append(doc.Notes, notes...)
	}
	if want != nil && len(doc.Items) == 0 {
		return doc, noHistory(want, window{from: start, to: end})
	}
	if ns != "" && len(doc.Items) == 0 {
		doc.Notes = append(doc.Notes, noneInNamespace(ns, window{from: start, to: end}))
	}
	return doc, nil
}

// noHistory is the error for a workload named on the command line that
// the history does not hold.
func noHistory(w *model.WorkloadRef, win window) error {
	return usagef("no history for %s/%s in namespace %s between %s and %s: check the name, or that its pods ran then", w.Kind, w.Name, w.Namespace, win.from.Format(time.RFC3339), win.to.Format(time.RFC3339))
}

// noneInNamespace is the note of a namespace the history has no container
// of, as kubectl says "No resources found".
func noneInNamespace(ns string, win window) string {
	return fmt.Sprintf("no container of namespace %s has usage history between %s and %s: check the namespace", ns, win.from.Format(time.RFC3339), win.to.Format(time.RFC3339))
}

func sortRecommendations(items []model.Recommendation) {
	sort.SliceStable(items, func(i, j int) bool {
		a, b := items[i], items[j]
		if x, y := workloadName(a.Workload), workloadName(b.Workload); x != y {
			return x < y
		}
		return a.Container < b.Container
	})
}

// sizing is how recommendations are made: the strategy, the band within
// which the current values are kept (recommend.Settle), and the pods'
// specs and kills (nil without --from-cluster or --snapshot).
type sizing struct {
	st        recommend.Strategy
	minChange float64
	// maxRatio is the highest limit/request ratio (Guardrails.MaxRatio).
	maxRatio float64
	sp       *specs
	// bounds are the namespaces' LimitRanges' bounds on a container's
	// memory, by namespace (recommend.Guardrails.Bounds).
	bounds map[string]recommend.Bounds
	// leaks asks for the leak check (recommend_leak.go).
	leaks bool
}

// guard is the guardrails of this sizing: recommend.Base with its ratio
// and the largest node's allocatable memory (0: unknown).
func (sz sizing) guard(alloc float64) recommend.Guardrails {
	g := recommend.Base()
	g.MaxRatio, g.MaxAllocatable = sz.maxRatio, alloc
	return g
}

// killLimit is the limit a kill happened at: kube-state-metrics' in its
// step; without it, the killed pod's spec (sp: --from-cluster or
// --snapshot; a pod's limit is fixed for its life), else the container's
// current limit (kube-state-metrics' or its workload's spec); unknown, the
// demand was at least the highest usage seen in the hour before. from says
// which, "" for kube-state-metrics'.
func killLimit(g *prom.Group, k prom.Kill, sp *specs, current float64) (lim float64, from string) {
	if k.Limit > 0 {
		return k.Limit, ""
	}
	if sp != nil {
		if _, l := sp.current(model.WorkloadRef{Namespace: g.Workload.Namespace, Kind: "Pod", Name: k.Pod}, g.Container); l > 0 {
			return l, "the limit in the pod's spec"
		}
	}
	if current > 0 {
		return current, "the current limit"
	}
	for _, p := range g.WorkingSet {
		if p.T <= k.T && p.T > k.T-3600 && p.V > lim {
			lim = p.V
		}
	}
	return lim, usageBeforeKill
}

// usageBeforeKill is what a kill's limit is taken as when nothing says it:
// the recommendation may then be far too low (a child process killed
// between samples), and a warning says so.
const usageBeforeKill = "the highest usage in the hour before it (give --from-cluster for the pods' limits)"

func recommendGroup(sz sizing, guard recommend.Guardrails, g *prom.Group) (model.Recommendation, bool) {
	st, sp := sz.st, sz.sp
	var info runtimes.Info
	guard.Bounds = sz.bounds[g.Workload.Namespace]
	curReq, curLim := g.Request, g.Limit
	if sp != nil {
		// Without kube-state-metrics, the current values are the spec's.
		if curReq == 0 && curLim == 0 {
			curReq, curLim = sp.current(g.Workload, g.Container)
		}
		info = sp.runtime(g.Workload, g.Container)
		if f := runtimes.Floor(info.Runtime); float64(f) > guard.Floor {
			guard.Floor, guard.FloorWhy = float64(f), "a "+string(info.Runtime)+" rarely works in less"
		}
	}
	kills := make([]recommend.Kill, 0, len(g.Kills))
	var pods []string
	unknown := map[string]int{}
	for _, k := range g.Kills {
		lim, from := killLimit(g, k, sp, curLim)
		if from != "" {
			unknown[from] += max(1, k.Count)
		}
		for i := 0; i < max(1, k.Count); i++ {
			kills = append(kills, recommend.Kill{T: k.T, Limit: lim})
			pods = append(pods, k.Pod)
		}
	}
	var extra []recommend.Kill
	var killNotes []string
	if sp != nil {
		kills, extra, killNotes = sp.kills.merge(g.Workload, g.Container, kills, pods, sp.win)
	}
	// A point is the peak of the step that ends at its time: the
	// estimator files it a second earlier, in the step it belongs to.
	for i := range kills {
		kills[i].T--
	}
	kills = append(kills, extra...)
	n := len(kills)
	ws := g.WorkingSet
	req, lim, reasons, ok := recommend.Size(st, guard, len(ws), func(i int) (int64, float64) { return ws[i].T - 1, ws[i].V }, kills)
	if !ok {
		return model.Recommendation{}, false
	}
	req, lim, keptLimit, keptRequest := keepCurrent(sz.minChange, curReq, curLim, req, lim, n > 0, guard)
	for _, k := range []string{keptLimit, keptRequest} {
		if k != "" {
			reasons = append(reasons, k)
		}
	}
	for _, from := range slices.Sorted(maps.Keys(unknown)) {
		killNotes = append(killNotes, fmt.Sprintf("the limit at %s is not in the history (no kube-state-metrics): taken as %s", words.Count(unknown[from], "OOM kill"), from))
	}
	r := model.Recommendation{Workload: g.Workload, Container: g.Container, MemoryRequestBytes: &req, MemoryLimitBytes: &lim, Reasons: append(reasons, killNotes...), Pods: len(g.Pods), OOMKills: n}
	for _, x := range reasons {
		if strings.HasPrefix(x, recommend.CappedPrefix) {
			r.Warnings = append(r.Warnings, x)
		}
	}
	if k := unknown[usageBeforeKill]; k > 0 {
		r.Warnings = append(r.Warnings, words.Count(k, "OOM kill")+" at an unknown limit: the demand then is not known, and the limit may be too low; give --from-cluster (or run kube-state-metrics)")
	}
	if w := guard.AboveAllocatable(lim); w != "" {
		r.Warnings = append(r.Warnings, w)
	}
	if sp != nil {
		if w := sp.vpaWarning(g.Workload, g.Container); w != "" {
			r.Warnings = append(r.Warnings, w)
			r.Reasons = append(r.Reasons, w)
		}
	}
	if curReq > 0 {
		v := int64(curReq)
		r.CurrentRequestBytes = &v
	}
	if curLim > 0 {
		v := int64(curLim)
		r.CurrentLimitBytes = &v
	}
	if g.Guessed {
		r.Reasons = append(r.Reasons, "the workload is guessed from the pod names (kube_pod_owner is missing)")
	}
	if info.Runtime != runtimes.Unknown {
		r.Runtime = string(info.Runtime)
		// A flag where the runtime needs one: the JVM and Node.js or .NET
		// when they already set their heap, Go always (it never reads the
		// limit), a JVM too old to read cgroups.
		need := info.Heap != nil || info.Runtime == runtimes.Go || info.Runtime == runtimes.JVM && info.JDK.Cgroups() == runtimes.SupportNone
		if need {
			r.RuntimeFlags = runtimeFlags(info, lim)
			r.Reasons = append(r.Reasons, fmt.Sprintf("%s (%s): %s goes with the %s limit", info.Runtime, info.Why, strings.Join(r.RuntimeFlags, " "), manifest.FormatBytes(lim)))
		}
	}
	return r, true
}

// A series named namespace/kind/name/container names a workload's
// container; anything else is a series of its own.
func workloadOf(series string) model.WorkloadRef {
	if p := splitSeries(series); p != nil {
		return model.WorkloadRef{Namespace: p[0], Kind: p[1], Name: p[2]}
	}
	return model.WorkloadRef{Kind: "Series", Name: series}
}

func containerOf(series string) string {
	if p := splitSeries(series); p != nil {
		return p[3]
	}
	return ""
}

func splitSeries(s string) []string {
	var parts []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '/' {
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	if len(parts) == 4 && parts[0] != "" && parts[1] != "" && parts[2] != "" && parts[3] != "" {
		return parts
	}
	return nil
}

func workloadName(w model.WorkloadRef) string {
	if w.Namespace == "" {
		return w.Kind + "/" + w.Name
	}
	return w.Namespace + "/" + w.Kind + "/" + w.Name
}

// canonicalKind turns kubectl's spellings (deploy, pods, sts) into a kind.
func canonicalKind(k string) (string, error) {
	switch strings.ToLower(k) {
	case "po", "pod", "pods":
		return "Pod", nil
	}
	kind, err := fix.NormalizeKind(k)
	if err != nil {
		return "", fmt.Errorf("%q is not a kind of workload: give a pod, deployment (deploy), statefulset (sts), daemonset (ds), replicaset (rs), job or cronjob (cj)", k)
	}
	return kind, nil
}
