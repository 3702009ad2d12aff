package fix

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/oomdoctor/oomdoctor/internal/lint"
	"github.com/oomdoctor/oomdoctor/internal/manifest"
	"github.com/oomdoctor/oomdoctor/internal/model"
)

// liveConfigMaps reads the ConfigMaps a live workload's containers take
// env from or mount, so that a heap flag or Redis maxmemory set there is
// seen. One that cannot be read is a note: what it sets is not checked.
func liveConfigMaps(ctx context.Context, c kubernetes.Interface, w *manifest.Workload, res *ApplyResult) ConfigMaps {
	names := map[string]bool{}
	for _, r := range w.Spec.ConfigMapReads() {
		names[r.Name] = true
	}
	cms := ConfigMaps{}
	for name := range names {
		cm, err := c.CoreV1().ConfigMaps(w.Namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			res.Notes = append(res.Notes, fmt.Sprintf("ConfigMap %s is not read (%v): a heap flag or maxmemory set in it is not checked against the new limit", name, err))
			continue
		}
		cms[w.Namespace+"/"+name] = &ConfigMap{Object: &manifest.Object{Kind: "ConfigMap", Name: name, Namespace: w.Namespace}, Data: cm.Data, Version: cm.ResourceVersion, Live: cm}
	}
	return cms
}

// liveWorkload reads a live object (of kind and apiVersion: a list's
// items carry neither) as a manifest does; nil when it has no pod
// template.
func liveWorkload(obj runtime.Object, kind, apiVersion string) (*manifest.Workload, error) {
	w, _, err := liveDoc(obj, kind, apiVersion)
	return w, err
}

// liveDoc is liveWorkload with the YAML document it read.
func liveDoc(obj runtime.Object, kind, apiVersion string) (*manifest.Workload, []byte, error) {
	obj.GetObjectKind().SetGroupVersionKind(schema.FromAPIVersionAndKind(apiVersion, kind))
	doc, err := yaml.Marshal(obj)
	if err != nil {
		return nil, nil, err
	}
	var w *manifest.Workload
	err = manifest.ReadStream(liveFile, strings.NewReader(string(doc)), nil, func(o *manifest.Object) error {
		w, _ = manifest.AsWorkload(o)
		return nil
	})
	return w, doc, err
}

// liveFile names a live object read as a manifest, in lint's findings.
const liveFile = "(live object)"

// liveLinting is how --apply --lint lints: by a config, and of one
// container or all ("").
type liveLinting struct {
	cfg       *lint.Config
	container string
}

func lintOf(opts ApplyOptions) *liveLinting {
	if opts.Lint == nil {
		return nil
	}
	return &liveLinting{cfg: opts.Lint, container: opts.LintContainer}
}

// liveLint plans lint's automatic fixes of a live workload (doc, as
// liveDoc read it), with the ConfigMaps it reads as the cluster has them.
func liveLint(lo *liveLinting, w *manifest.Workload, doc []byte, cms ConfigMaps) ([]manifest.Edit, []Change, []ConfigMapEdit, error) {
	if lo.container != "" {
		if _, err := pickContainer(w, lo.container); err != nil {
			return nil, nil, nil, err
		}
	}
	files := []lint.File{{Name: liveFile, Data: doc}}
	for _, key := range slices.Sorted(maps.Keys(cms)) {
		if live := cms[key].Live; live != nil {
			cm := live.DeepCopy()
			cm.APIVersion, cm.Kind = "v1", "ConfigMap"
			data, err := yaml.Marshal(cm)
			if err != nil {
				return nil, nil, nil, err
			}
			files = append(files, lint.File{Name: "ConfigMap " + key, Data: data})
		}
	}
	rep, err := lint.New(lo.cfg).EditConfigMaps().RunFiles(files)
	if err != nil {
		return nil, nil, nil, err
	}
	var mine []model.LintFinding
	for _, f := range rep.Findings {
		if f.File == liveFile && (lo.container == "" || f.Container == lo.container) {
			mine = append(mine, f)
		}
	}
	edits, changes, cmEdits := lintEdits(w, mine)
	return edits, changes, cmEdits, nil
}

// configMapsFirst is the error that stops --apply when the new limits
// need a ConfigMap changed and --configmaps was not given: the new pods
// would start with what it says now.
func configMapsFirst(t ApplyTarget, edits []ConfigMapEdit) error {
	var lines []string
	for _, e := range edits {
		lines = append(lines, fmt.Sprintf("ConfigMap %s key %s: %s", e.ConfigMap, e.Key, e.Change.What))
	}
	sort.Strings(lines)
	lines = slices.Compact(lines)
	_, name, _ := strings.Cut(edits[0].ConfigMap, "/")
	return fmt.Errorf("the change needs a ConfigMap changed too, so nothing was changed:\n  %s\ngive --configmaps to change it with %s (when no other workload of namespace %s reads it), or change it yourself (kubectl edit configmap -n %s %s) and run this again: %s's new pods read it when they start",
		strings.Join(lines, "\n  "), t, t.Namespace, t.Namespace, name, t)
}

// cmPatch is one ConfigMap key --apply changes before the workload.
type cmPatch struct {
	ns, name, key string
	old, new      string
	// version is the resourceVersion read: the change is made only on
	// that version (after it, on the version it made).
	version string
	what    string
	// changes are the containers' changes it makes.
	changes []Change
}

func (p cmPatch) String() string {
	return fmt.Sprintf("ConfigMap %s/%s key %s: %s", p.ns, p.name, p.key, p.what)
}

// planConfigMapPatches turns the workload's ConfigMap edits into the
// changes to make, or says why they cannot be made: two containers that
// need different texts of one key, or another workload of the namespace
// that reads the key (its heap or size would move with a limit that does
// not), or one the user may not list.
func planConfigMapPatches(ctx context.Context, c kubernetes.Interface, t ApplyTarget, edits []ConfigMapEdit, cms ConfigMaps, also ConfigMapAsks) ([]cmPatch, error) {
	byKey := map[[2]string]*cmPatch{}
	var keys [][2]string
	for _, e := range edits {
		cm := cms[e.ConfigMap]
		_, name, _ := strings.Cut(e.ConfigMap, "/")
		if cm == nil || e.Edit.Op != manifest.OpSet {
			return nil, fmt.Errorf("ConfigMap %s key %s: %s cannot be made by --apply; nothing was changed", name, e.Key, e.Change.What)
		}
		k := [2]string{name, e.Key}
		if p := byKey[k]; p != nil {
			if p.new != e.Edit.Value {
				return nil, fmt.Errorf("ConfigMap %s key %s is read by two containers of %s that need it to say different things (%s; %s): nothing was changed; give them keys of their own", name, e.Key, t, p.what, e.Change.What)
			}
			p.changes = append(p.changes, e.Change)
			continue
		}
		byKey[k] = &cmPatch{ns: t.Namespace, name: name, key: e.Key, old: cm.Data[e.Key], new: e.Edit.Value, version: cm.Version, what: e.Change.What, changes: []Change{e.Change}}
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return keys[i][0] < keys[j][0] || keys[i][0] == keys[j][0] && keys[i][1] < keys[j][1]
	})
	readers, err := namespaceReaders(ctx, c, t)
	if err != nil {
		return nil, fmt.Errorf("cannot tell whether other workloads read the ConfigMaps the new limit needs changed (%v), so nothing was changed: change them yourself, or grant list on the namespace's workloads and pods", err)
	}
	var out []cmPatch
	for _, k := range keys {
		var others []string
		same := also[t.Namespace+"/"+k[0]+"/"+k[1]][byKey[k].new] // the run's targets that ask the same text
		for _, r := range readers {
			if slices.ContainsFunc(r.reads, func(x manifest.ConfigMapRead) bool { return x.Name == k[0] && (x.Key == "" || x.Key == k[1]) }) && !slices.Contains(same, r.name) {
				others = append(others, r.name)
			}
		}
		if len(others) > 0 {
			p := byKey[k]
			return nil, fmt.Errorf("ConfigMap %s/%s key %s is read by %s too, whose limits do not change with it, so nothing was changed: %s container %s needs %s; give %s a ConfigMap of its own, or change the ConfigMap and the others yourself", p.ns, p.name, p.key, strings.Join(others, ", "), t, p.changes[0].Container, p.what, t)
		}
		out = append(out, *byKey[k])
	}
	return out, nil
}

// reader is a live object of the namespace and the ConfigMap keys its
// pods read.
type reader struct {
	name  string
	reads []manifest.ConfigMapRead
}

// namespaceReaders lists the namespace's workloads other than t, and its
// pods and ReplicaSets and Jobs no controller owns (the others are
// their controllers'), with the ConfigMap keys they read.
func namespaceReaders(ctx context.Context, c kubernetes.Interface, t ApplyTarget) ([]reader, error) {
	ns := t.Namespace
	var out []reader
	add := func(kind, apiVersion string, obj runtime.Object, m metav1.Object) error {
		if kind == t.Kind && m.GetName() == t.Name || metav1.GetControllerOf(m) != nil && kind != "Deployment" && kind != "StatefulSet" && kind != "DaemonSet" && kind != "CronJob" {
			return nil
		}
		w, err := liveWorkload(obj, kind, apiVersion)
		if err != nil || w == nil {
			return err
		}
		if reads := w.Spec.ConfigMapReads(); len(reads) > 0 {
			out = append(out, reader{name: strings.ToLower(kind) + "/" + m.GetName(), reads: reads})
		}
		return nil
	}
	for _, kind := range []string{"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "CronJob", "Job", "Pod"} {
		apiVersion := applyKinds[strings.ToLower(kind)]
		if kind == "Pod" {
			apiVersion = "v1"
		}
		err := eachObject(ctx, c, ns, kind, metav1.ListOptions{}, func(obj runtime.Object, m metav1.Object) error {
			return add(kind, apiVersion, obj, m)
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// apply makes the change, as a merge patch that holds the version read:
// the server refuses it if the ConfigMap changed since.
func (p *cmPatch) apply(ctx context.Context, c kubernetes.Interface, dryRun bool) error {
	return p.patch(ctx, c, p.new, dryRun)
}

func (p *cmPatch) patch(ctx context.Context, c kubernetes.Interface, text string, dryRun bool) error {
	body, err := json.Marshal(map[string]any{
		"metadata": map[string]any{"resourceVersion": p.version},
		"data":     map[string]string{p.key: text},
	})
	if err != nil {
		return err
	}
	opts := metav1.PatchOptions{FieldManager: FieldManager}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	cm, err := c.CoreV1().ConfigMaps(p.ns).Patch(ctx, p.name, types.MergePatchType, body, opts)
	if err != nil {
		return err
	}
	if !dryRun {
		p.version = cm.ResourceVersion
	}
	return nil
}

// restoreConfigMaps puts back the keys changed before a later step
// failed, and says how that went (empty when there was none).
func restoreConfigMaps(ctx context.Context, c kubernetes.Interface, done []cmPatch) string {
	if len(done) == 0 {
		return ""
	}
	var back, failed []string
	for i := range done {
		p := &done[i]
		if err := p.patch(ctx, c, p.old, false); err != nil {
			failed = append(failed, fmt.Sprintf("%s (%v)", p, err))
			continue
		}
		back = append(back, "ConfigMap "+p.name+" key "+p.key)
	}
	msg := ""
	if len(back) > 0 {
		msg = "; put back as it was: " + strings.Join(back, ", ")
	}
	if len(failed) > 0 {
		msg += "; NOT put back, undo by hand: " + strings.Join(failed, ", ")
	}
	return msg
}

// cmChanges are the containers' changes the ConfigMap changes make.
// Each says the ConfigMap it is made in, when its text does not.
func cmChanges(ps []cmPatch) []Change {
	var out []Change
	for _, p := range ps {
		for _, c := range p.changes {
			c.ConfigMap, c.Key = p.name, p.key
			if c.Setting == "" && !strings.Contains(p.old+p.new, "\n") {
				// A lint fix: the key holds the value itself (an env var).
				c.Setting, c.From, c.To = p.key, p.old, p.new
			}
			if !strings.Contains(strings.ToLower(c.What), "configmap "+p.name) {
				c.What += fmt.Sprintf(" (in ConfigMap %s key %s)", p.name, p.key)
			}
			out = append(out, c)
		}
	}
	return out
}

// undoConfigMaps says what to put back by hand after a failed rollout.
func undoConfigMaps(done []cmPatch) string {
	var out []string
	for _, p := range done {
		out = append(out, p.String())
	}
	return strings.Join(out, ", ")
}

// splitRises parts the ConfigMap changes into those made before the
// workload's and those made after its rollout. A setting that falls (a
// heap or maxmemory that no longer fits) goes first: an old pod that
// restarts meanwhile takes a smaller setting. A setting that rises with
// a higher limit (GOMEMLIMIT) waits until every pod has that limit: a
// pod still at the old one that restarts in between would start with a
// setting sized for room it does not have.
func splitRises(ps []cmPatch) (falls, rises []cmPatch) {
	for _, p := range ps {
		if slices.ContainsFunc(p.changes, func(c Change) bool { return c.raises }) {
			rises = append(rises, p)
		} else {
			falls = append(falls, p)
		}
	}
	return falls, rises
}

// rolls says whether a kind's controller replaces its pods when its
// template changes.
func rolls(kind string) bool {
	return kind == "Deployment" || kind == "StatefulSet" || kind == "DaemonSet"
}

// restartWords says how the pods come to read the ConfigMaps changed
// (after the new limit's rollout: second).
func restartWords(t ApplyTarget, second bool) string {
	switch {
	case rolls(t.Kind) && second:
		return fmt.Sprintf("%s's pods are restarted to read it (a second rollout, as kubectl rollout restart makes)", t)
	case rolls(t.Kind):
		return fmt.Sprintf("%s's pods are restarted to read them (a rollout, as kubectl rollout restart makes)", t)
	case t.Kind == "ReplicaSet":
		return fmt.Sprintf("%s's pods read it when they are next created; those running now keep their old limit, and a container of theirs that restarts would read the new setting: delete them so that they are created again", t)
	default:
		return fmt.Sprintf("%s's next pods read it", t)
	}
}

// applyInOrder makes the changes: the ConfigMaps' falling settings, the
// workload (and waits for its rollout), then the rising settings, and
// restarts the pods to read them (the kubectl.kubernetes.io/restartedAt
// annotation on the template, as kubectl rollout restart writes). A
// failure before the workload's patch puts back what it changed
// (changed is false); after it, res.Changes are cut to what was made,
// and with opts.RollbackOnFailure a failed rollout puts back all of it
// (u: the workload as it was).
func applyInOrder(ctx context.Context, c kubernetes.Interface, t ApplyTarget, patch []byte, falls, rises []cmPatch, u *undoState, opts ApplyOptions, res *ApplyResult) (changed bool, err error) {
	for i := range falls {
		p := &falls[i]
		if err := p.apply(ctx, c, false); err != nil {
			return false, fmt.Errorf("changing ConfigMap %s: %w%s; %s was not changed", p.name, err, restoreConfigMaps(ctx, c, falls[:i]), t)
		}
	}
	if err := u.patch(ctx, c, t, patch); err != nil {
		return false, fmt.Errorf("patching %s: %w%s", t, err, restoreConfigMaps(ctx, c, falls))
	}
	putBack := func(ps []cmPatch) string {
		if len(ps) == 0 {
			return ""
		}
		return "; and put back what oomdoctor changed in " + undoConfigMaps(ps)
	}
	if len(rises) == 0 && !opts.Wait {
		return true, nil
	}
	undo := undoCommand(t)
	if opts.RollbackOnFailure {
		undo = ""
	}
	made := res.Changes[:len(res.Changes)-len(cmChanges(rises))]
	if err := waitRollout(ctx, c, t, opts, undo); err != nil {
		res.Changes = made
		if len(rises) > 0 {
			err = fmt.Errorf("%w; %s was not changed", err, undoConfigMaps(rises))
		}
		if opts.RollbackOnFailure {
			return true, fmt.Errorf("%w%s", err, rollBack(ctx, c, t, u, falls, err, opts, res))
		}
		return true, fmt.Errorf("%w%s", err, putBack(falls))
	}
	if len(rises) == 0 {
		return true, nil
	}
	for i := range rises {
		p := &rises[i]
		if err := p.apply(ctx, c, false); err != nil {
			res.Changes = made
			return true, fmt.Errorf("%s has its new limit, but changing ConfigMap %s failed: %w%s; its pods keep the old settings until you make the change: %s", t, p.name, err, restoreConfigMaps(ctx, c, rises[:i]), undoConfigMaps(rises))
		}
	}
	if !rolls(t.Kind) {
		return true, nil
	}
	if opts.Progress != nil {
		opts.Progress(fmt.Sprintf("changed %s; restarting the pods to read it", undoConfigMaps(rises)))
	}
	restart, err := restartPatch()
	if err != nil {
		return true, err
	}
	if err := u.patch(ctx, c, t, restart); err != nil {
		return true, fmt.Errorf("%s has its new limit and %s is changed, but restarting its pods failed: %w; they read the new settings when they next start, or now with: kubectl rollout restart %s -n %s", t, undoConfigMaps(rises), err, t, t.Namespace)
	}
	if err := waitRollout(ctx, c, t, opts, undo); err != nil {
		if opts.RollbackOnFailure {
			return true, fmt.Errorf("%w%s", err, rollBack(ctx, c, t, u, append(append([]cmPatch{}, rises...), falls...), err, opts, res))
		}
		return true, fmt.Errorf("%w; the new limit had rolled out before %s changed: to go back entirely, put that back, then undo both rollouts (kubectl rollout history %s -n %s)%s", err, undoConfigMaps(rises), t, t.Namespace, putBack(falls))
	}
	return true, nil
}

// restartPatch restarts a workload's pods as kubectl rollout restart
// does: a new restartedAt annotation on its template.
func restartPatch() ([]byte, error) {
	return json.Marshal(map[string]any{"spec": map[string]any{"template": map[string]any{"metadata": map[string]any{
		"annotations": map[string]string{restartedAt: time.Now().UTC().Format(time.RFC3339)}}}}})
}

// restartedAt is the template annotation kubectl rollout restart sets.
const restartedAt = "kubectl.kubernetes.io/restartedAt"
