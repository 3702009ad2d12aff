package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes"

	"github.com/oomdoctor/oomdoctor/internal/fix"
	"github.com/oomdoctor/oomdoctor/internal/lint"
	"github.com/oomdoctor/oomdoctor/internal/manifest"
	"github.com/oomdoctor/oomdoctor/internal/model"
	"github.com/oomdoctor/oomdoctor/internal/words"
)

// RunApply changes live objects: the TYPE/NAME arguments, or the workloads
// of the -f manifests.
func (o *FixOptions) RunApply(cmd *cobra.Command) error {
	ns, _, err := o.flags.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return asUsage(explainKubeconfig(o.flags, err, ""))
	}
	var targets []fix.ApplyTarget
	var kinds []string // TYPE alone, or -l: listed from the cluster
	for _, a := range o.Objects {
		kind, name, named := strings.Cut(a, "/")
		k, err := fix.NormalizeKind(kind)
		if err != nil {
			return asUsage(err)
		}
		if !named {
			kinds = append(kinds, k)
			continue
		}
		targets = append(targets, fix.ApplyTarget{Kind: k, Namespace: ns, Name: name})
	}
	if o.Selector != "" && len(kinds) == 0 {
		kinds = fix.ControllerKinds
	}
	if len(o.Files) > 0 {
		files, err := manifest.ExpandInputs(o.Files)
		if err != nil {
			return asUsage(err)
		}
		err = manifest.Read(files, o.In, nil, func(obj *manifest.Object) error {
			if _, ok := manifest.AsWorkload(obj); !ok {
				return nil
			}
			if len(o.Objects) > 0 {
				return nil // the arguments chose already
			}
			k, err := fix.NormalizeKind(obj.Kind)
			if err != nil {
				return fmt.Errorf("%s: %w", obj, err)
			}
			t := fix.ApplyTarget{Kind: k, Namespace: obj.Namespace, Name: obj.Name}
			if t.Namespace == "" {
				t.Namespace = ns
			}
			targets = append(targets, t)
			return nil
		})
		if err != nil {
			return asUsage(err)
		}
	}
	if fr, ok := o.values.(*fix.FromRecommendations); ok && len(targets) == 0 && len(kinds) == 0 && len(o.Files) == 0 {
		// Every workload the document sizes (in -n's namespace, when
		// given).
		only := ""
		if o.flags.Namespace != nil {
			only = *o.flags.Namespace
		}
		for _, w := range fr.Workloads() {
			if only != "" && w.Namespace != only {
				continue
			}
			k, err := fix.NormalizeKind(w.Kind)
			if err != nil {
				fmt.Fprintf(o.ErrOut, "note: %s/%s (namespace %s) left alone: %v\n", w.Kind, w.Name, w.Namespace, err)
				continue
			}
			t := fix.ApplyTarget{Kind: k, Namespace: w.Namespace, Name: w.Name}
			if t.Namespace == "" {
				t.Namespace = ns // an item without one: the context's, as kubectl
			}
			targets = append(targets, t)
		}
		if len(targets) == 0 {
			where := ""
			if only != "" {
				where = " in namespace " + only
			}
			return usagef("--apply: the recommendations size no workload fix can change%s (Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs, CronJobs)", where)
		}
	}
	if len(targets) == 0 && len(kinds) == 0 {
		return usagef("--apply needs objects: TYPE/NAME arguments (deployment/api), a TYPE (deployments) or -l SELECTOR for all that match in the namespace, manifests with -f, or --recommendations")
	}
	src, err := openClusterHint(o.flags, 500, ", or fix the manifests' files with -f and without --apply")
	if err != nil {
		return err
	}
	if len(kinds) > 0 {
		in := ns
		if o.AllNamespaces {
			in = "" // every namespace
		}
		listed, skipped, err := fix.ListTargets(cmd.Context(), src.Client(), in, kinds, o.Selector)
		if err != nil {
			return err
		}
		if len(skipped) > 0 {
			fmt.Fprintf(o.ErrOut, "note: left alone, since a controller owns them and would put their template back (change the owner): %s\n", strings.Join(skipped, ", "))
		}
		if len(listed) == 0 && len(targets) == 0 {
			match := ""
			if o.Selector != "" {
				match = " matching -l " + o.Selector
			}
			where := "namespace " + ns
			if o.AllNamespaces {
				where = "any namespace"
			}
			fmt.Fprintf(o.ErrOut, "no %s%s in %s: nothing to change\n", kindWords(kinds), match, where)
			return o.writeReport(newApplyReport(src.Describe(), o.DryRun, nil)) // no object
		}
		targets = append(targets, listed...)
	}
	var asks fix.ConfigMapAsks
	if o.ConfigMaps && len(targets) > 1 {
		// A ConfigMap key the targets read together changes when they
		// all ask the same text of it.
		asks = fix.AskedConfigMaps(cmd.Context(), src.Client(), targets, o.values, fix.ApplyOptions{Lint: o.applyLint(), LintContainer: o.Container})
	}
	rep := newApplyReport(src.Describe(), o.DryRun, targets)
	if o.Parallel > 1 && len(targets) > 1 {
		return o.applyParallel(cmd.Context(), src.Client(), targets, rep, asks)
	}
	var refused []string
	for i, t := range targets {
		res, err := o.applyOne(cmd.Context(), src.Client(), t, &rep.Objects[i], asks, o.Out, o.ErrOut)
		switch {
		case err == nil:
		case res != nil || len(targets) == 1:
			// Something changed before it failed: the rest waits until
			// this one is looked at.
			if err := o.writeReport(rep); err != nil {
				return err
			}
			if len(targets) > 1 {
				return fmt.Errorf("%w\n(stopped: the objects after %s were not looked at)", err, t)
			}
			return err
		default:
			// Nothing of it changed: the others go on.
			sayRefused(o.ErrOut, err)
			refused = append(refused, t.String())
		}
	}
	if err := o.writeReport(rep); err != nil {
		return err
	}
	return refusedError(refused, len(targets))
}

// refusedError names the objects refused before anything of them changed
// (said above each), or is nil.
func refusedError(refused []string, of int) error {
	if len(refused) == 0 {
		return nil
	}
	return fmt.Errorf("%s of %d not changed (said above): %s", words.CountOf(len(refused), "object", "objects"), of, strings.Join(refused, ", "))
}

// applyParallel changes up to --parallel objects at once. Each line an
// object prints on stderr begins with its name; its change lines on
// stdout name it already. Once a change fails after something of it
// changed (a rollout), no other object is started, those under way are
// seen to their end, and the error names the objects never looked at.
func (o *FixOptions) applyParallel(ctx context.Context, c kubernetes.Interface, targets []fix.ApplyTarget, rep *model.ApplyReport, asks fix.ConfigMapAsks) error {
	var mu, outMu, errMu sync.Mutex // mu: over refused, failed and stop
	out := &lineWriter{mu: &outMu, w: o.Out}
	var refused []string
	var failed []error
	stop := false
	slots := make(chan struct{}, o.Parallel)
	var wg sync.WaitGroup
	next := 0 // the objects from next on were never started
	for ; next < len(targets); next++ {
		i, t := next, targets[next]
		slots <- struct{}{}
		mu.Lock()
		halt := stop || ctx.Err() != nil
		mu.Unlock()
		if halt {
			<-slots
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			prefix := "[" + t.Namespace + "/" + t.String() + "] "
			objErr := &lineWriter{mu: &errMu, w: o.ErrOut, prefix: prefix}
			res, err := o.applyOne(ctx, c, t, &rep.Objects[i], asks, out, objErr)
			if err != nil && res == nil {
				sayRefused(objErr, err)
			}
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
			case res != nil:
				stop = true
				failed = append(failed, err)
			default:
				refused = append(refused, t.String())
			}
		}()
	}
	wg.Wait()
	if err := o.writeReport(rep); err != nil {
		return err
	}
	var left []string
	for _, t := range targets[next:] {
		left = append(left, t.String())
	}
	if len(left) > 0 && len(failed) == 0 {
		failed = append(failed, ctx.Err()) // interrupted between objects
	}
	if len(failed) > 0 {
		err := errors.Join(failed...)
		if len(left) > 0 {
			err = fmt.Errorf("%w\n(stopped: %s not looked at: %s)", err, words.CountOf(len(left), "object", "objects"), strings.Join(left, ", "))
		}
		if r := refusedError(refused, len(targets)); r != nil {
			err = fmt.Errorf("%w\n%v", err, r)
		}
		return err
	}
	return refusedError(refused, len(targets))
}

// applyOne changes one live object, saying on errOut what it does (its
// change lines on out), and records it in obj. A refusal, before anything
// of it changed, is said there too.
func (o *FixOptions) applyOne(ctx context.Context, c kubernetes.Interface, t fix.ApplyTarget, obj *model.ApplyObject, asks fix.ConfigMapAsks, out, errOut io.Writer) (*fix.ApplyResult, error) {
	fmt.Fprintf(errOut, "%s (namespace %s):\n", t, t.Namespace)
	said := map[string]bool{}
	if fr, ok := o.values.(*fix.FromRecommendations); ok {
		// Said before the rollout, while it can still be stopped.
		recs := fr.Of(t.Namespace, t.Kind, t.Name)
		printWarnings(errOut, recs, "  ")
		for _, r := range recs {
			for _, x := range r.Warnings {
				said[x] = true // an HPA's, said again by the check below
				obj.Warnings = append(obj.Warnings, fix.RecName(r)+": "+x)
			}
		}
	}
	res, err := fix.Apply(ctx, c, t, o.values, fix.ApplyOptions{
		Wait: o.Wait, Timeout: o.Timeout, Observe: o.Observe, SkipPodCheck: !o.PodCheck, ConfigMaps: o.ConfigMaps, RollbackOnFailure: o.Rollback, DryRun: o.DryRun, AlsoAsking: asks, Lint: o.applyLint(), LintContainer: o.Container,
		Progress: func(s string) {
			fmt.Fprintf(errOut, "  %s\n", s)
			obj.Rollout = append(obj.Rollout, s)
		},
		Note: func(n string) {
			fmt.Fprintf(errOut, "  note: %s\n", n)
			said[n] = true
			obj.Notes = append(obj.Notes, n)
		},
		Warn: func(x string) {
			if !said[x] {
				fmt.Fprintf(errOut, "  warning: %s\n", x)
				obj.Warnings = append(obj.Warnings, x)
			}
		},
	})
	if res != nil {
		suffix := ""
		switch {
		case o.DryRun != "none":
			suffix = " (" + o.DryRun + " dry run)"
		case res.PutBack:
			suffix = " (put back: the rollout failed)"
		}
		for _, c := range res.Changes {
			if o.Output == "" {
				fmt.Fprintf(out, "%s %s/%s container %s: %s%s\n", t.Kind, t.Namespace, t.Name, c.Container, c.What, suffix)
			}
		}
		for _, n := range res.Notes {
			if !said[n] {
				fmt.Fprintf(errOut, "  note: %s\n", n)
				obj.Notes = append(obj.Notes, n)
			}
		}
		for _, p := range res.Pods {
			fmt.Fprintf(errOut, "  %s\n", p)
		}
	}
	record(obj, res, err, o.DryRun)
	return res, err
}

// sayRefused says under an object why it was refused (nothing of it
// changed), when others go on.
func sayRefused(w io.Writer, err error) {
	fmt.Fprintf(w, "  error: %s\n", strings.ReplaceAll(err.Error(), "\n", "\n  "))
}

// lineWriter writes each Write (whole lines, as fix's are) to w in one
// piece under mu, every line begun with prefix: the lines of objects
// changed at once.
type lineWriter struct {
	mu     *sync.Mutex
	w      io.Writer
	prefix string
}

func (l *lineWriter) Write(b []byte) (int, error) {
	text := string(b)
	if l.prefix != "" {
		var sb strings.Builder
		for _, line := range strings.SplitAfter(text, "\n") {
			if line != "" {
				sb.WriteString(l.prefix + line)
			}
		}
		text = sb.String()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, err := io.WriteString(l.w, text); err != nil {
		return 0, err
	}
	return len(b), nil
}

// recWarnings prints the warnings of the recommendations fix used (a
// leak, a limit capped at the nodes' allocatable memory): what to look at
// beyond the new values.
func recWarnings(w io.Writer, v fix.Values) {
	if fr, ok := v.(*fix.FromRecommendations); ok {
		used := fr.Used()
		printWarnings(w, used, "")
		printQuotaWarnings(w, fr.Quotas, func(ns string) bool {
			return slices.ContainsFunc(used, func(r model.Recommendation) bool { return r.Workload.Namespace == ns })
		})
	}
}

func printWarnings(w io.Writer, rs []model.Recommendation, indent string) {
	for _, r := range rs {
		for _, x := range r.Warnings {
			fmt.Fprintf(w, "%swarning: %s: %s\n", indent, fix.RecName(r), x)
		}
	}
}

// applyLint is lint's config for --apply --lint (nil without --lint).
func (o *FixOptions) applyLint() *lint.Config {
	if !o.Lint {
		return nil
	}
	return o.lintCfg
}

// kindWords names kinds in the plural: "Deployments, StatefulSets".
func kindWords(kinds []string) string {
	out := make([]string, len(kinds))
	for i, k := range kinds {
		out[i] = k + "s"
	}
	return strings.Join(out, ", ")
}
