package fix

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/oomdoctor/oomdoctor/internal/lint"
	"github.com/oomdoctor/oomdoctor/internal/manifest"
)

// FieldManager is the field manager oomdoctor patches as.
const FieldManager = "oomdoctor"

// ApplyTarget names a live object.
type ApplyTarget struct {
	Kind, Namespace, Name string
}

func (t ApplyTarget) String() string { return strings.ToLower(t.Kind) + "/" + t.Name }

// ApplyOptions say how to apply.
type ApplyOptions struct {
	Wait bool
	// SkipPodCheck leaves out the pod created in a dry run (the
	// namespace's LimitRanges, quotas and admission policies), with a
	// note: for a refusal the user means to resolve after the change.
	SkipPodCheck bool
	Timeout      time.Duration
	// Observe is how long the new pods of a finished rollout are watched
	// for a container OOM-killed or crashing in a loop (0: not at all).
	Observe time.Duration
	// Progress hears the rollout's state while waiting.
	Progress func(string)
	// Note hears the notes so far just before the patch, while the
	// change can still be stopped (they stay in ApplyResult.Notes too).
	Note func(string)
	// Warn hears the warnings the same way (ApplyResult.Warnings).
	Warn func(string)
	// DryRun is kubectl's --dry-run: "client" plans and checks what can
	// be read (nodes, HPAs, ConfigMaps' readers) and stops; "server" also
	// has the server check the changes and a pod of the new template;
	// neither changes anything ("" or "none": the change is made).
	DryRun string
	// Lint plans lint's automatic fixes of the live object too, by this
	// config (nil: none): a heap setting that does not fit the limit it
	// has, a GOMEMLIMIT missing.
	Lint *lint.Config
	// LintContainer keeps lint's fixes of that container only ("": all).
	LintContainer string
	// AlsoAsking are the ConfigMap changes the other targets of the run
	// ask for (AskedConfigMaps): a reader among them that asks the same
	// change does not stand in the way.
	AlsoAsking ConfigMapAsks
	// ConfigMaps lets the change include the ConfigMaps the new limit
	// needs changed (a heap flag or Redis maxmemory set there), when no
	// other workload of the namespace reads them; without it such a
	// change is refused and named.
	ConfigMaps bool
	// RollbackOnFailure puts back what the change made when its rollout
	// fails (new pods OOM-killed, crashing, refused, or not ready within
	// Timeout): the ConfigMaps, then the pod template as it was; it
	// needs Wait.
	RollbackOnFailure bool
}

// ApplyResult is what an apply did.
type ApplyResult struct {
	Target ApplyTarget
	// Changes are the containers' changes, those made in ConfigMaps
	// first.
	Changes []Change
	Notes   []string
	// Warnings are what the change does beyond the workload: to the
	// HorizontalPodAutoscalers that scale it on memory.
	Warnings []string
	// Pods describes the workload's pods after the rollout.
	Pods []string
	// PutBack says that the rollout failed and that all the changes
	// were put back (RollbackOnFailure).
	PutBack bool
}

// kinds: how to get each kind, and its apiVersion.
var applyKinds = map[string]string{
	"deployment": "apps/v1", "statefulset": "apps/v1", "daemonset": "apps/v1", "replicaset": "apps/v1",
	"job": "batch/v1", "cronjob": "batch/v1",
}

// NormalizeKind turns kubectl's spellings (deploy, deployments, sts) into a
// kind: Deployment.
func NormalizeKind(k string) (string, error) {
	k = strings.ToLower(k)
	short := map[string]string{"deploy": "deployment", "sts": "statefulset", "ds": "daemonset", "rs": "replicaset", "cj": "cronjob", "po": "pod"}
	if s, ok := short[k]; ok {
		k = s
	}
	k = strings.TrimSuffix(k, "s")
	if k == "pod" {
		return "", fmt.Errorf("a bare pod's resources cannot be patched: fix the manifest it comes from and recreate it, or fix its controller")
	}
	if _, ok := applyKinds[k]; !ok {
		return "", fmt.Errorf("cannot apply to %q: fix supports deployment, statefulset, daemonset, replicaset, job and cronjob", k)
	}
	names := map[string]string{"deployment": "Deployment", "statefulset": "StatefulSet", "daemonset": "DaemonSet", "replicaset": "ReplicaSet", "job": "Job", "cronjob": "CronJob"}
	return names[k], nil
}

// Apply sets a live object's memory: it plans the same edits as for a
// manifest, checks them against the nodes, runs a server-side dry run of
// the patch and of a pod of the new template, patches only the changed fields as field manager oomdoctor, and waits for
// the rollout.
func Apply(ctx context.Context, c kubernetes.Interface, t ApplyTarget, values Values, opts ApplyOptions) (*ApplyResult, error) {
	res := &ApplyResult{Target: t}
	pl, err := plan(ctx, c, t, values, lintOf(opts), res)
	if err != nil {
		return nil, err
	}
	obj, w, edits := pl.obj, pl.w, pl.edits
	var cmPatches []cmPatch
	if len(pl.cmEdits) > 0 {
		if !opts.ConfigMaps {
			return nil, configMapsFirst(t, pl.cmEdits)
		}
		if cmPatches, err = planConfigMapPatches(ctx, c, t, pl.cmEdits, pl.cms, opts.AlsoAsking); err != nil {
			return nil, err
		}
	}
	falls, rises := splitRises(cmPatches)
	still := noRollout(pl.obj)
	if len(rises) > 0 && still != "" {
		return nil, fmt.Errorf("the new limit raises a setting held in a ConfigMap (%s), which may change only once every pod has the new limit (a pod at the old one that restarts would take a setting it has no room for), but %s; nothing was changed: a paused Deployment, resume it and run this again; with OnDelete, set the limit (kubectl set resources), delete the pods, then change the ConfigMap and delete them again", undoConfigMaps(rises), still)
	}
	if len(rises) > 0 && rolls(t.Kind) && !opts.Wait {
		return nil, fmt.Errorf("the new limit raises a setting held in a ConfigMap (%s), so nothing was changed: every pod must have the new limit before the ConfigMap changes (a pod at the old limit that restarts would take a setting it has no room for), so --apply waits for that rollout: drop --wait=false", undoConfigMaps(rises))
	}
	// The changes are told in the order they are made.
	res.Changes = append(append(cmChanges(falls), pl.changes...), cmChanges(rises)...)
	if len(rises) > 0 {
		res.Notes = append(res.Notes, fmt.Sprintf("the new limit rolls out first, under the old settings; then %s changes, and %s", undoConfigMaps(rises), restartWords(t, true)))
	}
	for _, n := range pl.notes {
		res.Notes = append(res.Notes, n.Message)
	}
	if still != "" {
		res.Notes = append(res.Notes, still)
	}
	if len(edits) == 0 && len(cmPatches) == 0 {
		res.Notes = append(res.Notes, "nothing to change: the cluster already has these values")
		return res, nil
	}
	if err := checkNodes(ctx, c, w, edits, res); err != nil {
		return nil, err
	}
	checkHPAs(ctx, c, t, w, edits, res)
	if m, err := meta.Accessor(obj); err == nil {
		res.Warnings = append(res.Warnings, managedBy(t.String(), m, "these memory settings")...)
	}
	warned := map[string]bool{}
	for _, p := range cmPatches {
		if cm := pl.cms[p.ns+"/"+p.name]; cm != nil && cm.Live != nil && !warned[p.name] {
			warned[p.name] = true
			res.Warnings = append(res.Warnings, managedBy("ConfigMap "+p.ns+"/"+p.name, cm.Live, "the new "+p.key)...)
		}
	}
	var patch []byte // nil: the workload does not change
	if len(edits) > 0 {
		patchYAML, err := serverPatch(ObjectEdits{Object: w.Object, Edits: edits})
		if err != nil {
			return nil, err
		}
		if patch, err = yaml.YAMLToJSON(patchYAML); err != nil {
			return nil, err
		}
	} else {
		// Only ConfigMaps change (lint's fixes of settings held there):
		// the pods restart to read them, where a controller replaces them.
		res.Notes = append(res.Notes, "only ConfigMaps change: "+restartWords(t, false))
		if rolls(t.Kind) {
			if patch, err = restartPatch(); err != nil {
				return nil, err
			}
		}
	}
	if opts.DryRun == "client" {
		tell(res, opts)
		return res, nil
	}
	// The server checks the patch (validation, the workload's admission)
	// before anything changes, then a pod of the new template (limit
	// ranges, quotas, pod security: they act on pods).
	if _, err := doPatch(ctx, c, t, patch, types.StrategicMergePatchType, true); err != nil {
		if t.Kind == "Job" && apierrors.IsInvalid(err) && strings.Contains(err.Error(), "field is immutable") {
			return nil, jobImmutable(t, obj)
		}
		return nil, fmt.Errorf("the server refused the change in a dry run, nothing was changed: %w", err)
	}
	for _, p := range cmPatches {
		if err := p.apply(ctx, c, true); err != nil {
			return nil, fmt.Errorf("the server refused the change of ConfigMap %s in a dry run, nothing was changed: %w", p.name, err)
		}
	}
	if opts.SkipPodCheck {
		res.Notes = append(res.Notes, "the new pods were not checked against the namespace's LimitRanges, ResourceQuotas and admission policies (--pod-check=false): a refused pod shows as a stalled rollout")
	} else if patch != nil {
		if err := podsAdmitted(ctx, c, t, obj, patch, res); err != nil {
			return nil, fmt.Errorf("%w (--pod-check=false makes the change all the same, for a refusal you resolve afterwards)", err)
		}
	}
	tell(res, opts)
	if opts.DryRun == "server" {
		return res, nil
	}
	if changed, err := applyInOrder(ctx, c, t, patch, falls, rises, newUndoState(obj), opts, res); err != nil {
		if !changed {
			return nil, err
		}
		return res, err
	}
	if !opts.Wait {
		return res, nil
	}
	pods, err := describePods(ctx, c, t)
	if err != nil {
		res.Notes = append(res.Notes, fmt.Sprintf("the new pods' state is not shown: %v", err))
	}
	res.Pods = pods
	return res, nil
}

// applyPlan is what Apply plans on a live object before it checks
// anything: the object, read as a manifest, its edits and changes, and
// the ConfigMap edits they need, with the ConfigMaps read.
type applyPlan struct {
	obj     runtime.Object
	w       *manifest.Workload
	cms     ConfigMaps
	edits   []manifest.Edit
	changes []Change
	notes   []Note
	cmEdits []ConfigMapEdit
}

func plan(ctx context.Context, c kubernetes.Interface, t ApplyTarget, values Values, lo *liveLinting, res *ApplyResult) (*applyPlan, error) {
	obj, err := getObject(ctx, c, t)
	if err != nil {
		return nil, err
	}
	// Plan on the object as YAML, with the same code as for manifests.
	w, doc, err := liveDoc(obj, t.Kind, applyKinds[strings.ToLower(t.Kind)])
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", t, err)
	}
	if w == nil {
		return nil, fmt.Errorf("%s has no pod template", t)
	}
	p := &applyPlan{obj: obj, w: w, cms: liveConfigMaps(ctx, c, w, res)}
	p.edits, p.changes, p.notes, p.cmEdits, err = planWorkload(w, values, p.cms)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", t, err)
	}
	if lo != nil {
		edits, changes, cmEdits, err := liveLint(lo, w, doc, p.cms)
		if err != nil {
			return nil, fmt.Errorf("linting %s: %w", t, err)
		}
		p.edits, p.changes, p.cmEdits = append(p.edits, edits...), append(p.changes, changes...), append(p.cmEdits, cmEdits...)
	}
	return p, nil
}

// ConfigMapAsks are the ConfigMap changes the targets of one run ask
// for, by ConfigMap key (namespace/name/key) and new text: the targets
// that ask it. A target's --configmaps change of a key stands when every
// other reader of the key asks the same.
type ConfigMapAsks map[string]map[string][]string

// AskedConfigMaps plans each target as Apply does and says which
// ConfigMap changes they ask for; a target that cannot be planned asks
// nothing (Apply says why when its turn comes).
func AskedConfigMaps(ctx context.Context, c kubernetes.Interface, targets []ApplyTarget, values Values, opts ApplyOptions) ConfigMapAsks {
	asks := ConfigMapAsks{}
	for _, t := range targets {
		p, err := plan(ctx, c, t, values, lintOf(opts), &ApplyResult{})
		if err != nil {
			continue
		}
		for _, e := range p.cmEdits {
			key := e.ConfigMap + "/" + e.Key
			if asks[key] == nil {
				asks[key] = map[string][]string{}
			}
			if !slices.Contains(asks[key][e.Edit.Value], t.String()) {
				asks[key][e.Edit.Value] = append(asks[key][e.Edit.Value], t.String())
			}
		}
	}
	return asks
}

// tell gives the notes and warnings so far to the options' hooks,
// before the change is made.
func tell(res *ApplyResult, opts ApplyOptions) {
	if opts.Note != nil {
		for _, n := range res.Notes {
			opts.Note(n)
		}
	}
	if opts.Warn != nil {
		for _, x := range res.Warnings {
			opts.Warn(x)
		}
	}
}

func getObject(ctx context.Context, c kubernetes.Interface, t ApplyTarget) (runtime.Object, error) {
	var obj runtime.Object
	var err error
	switch t.Kind {
	case "Deployment":
		obj, err = c.AppsV1().Deployments(t.Namespace).Get(ctx, t.Name, metav1.GetOptions{})
	case "StatefulSet":
		obj, err = c.AppsV1().StatefulSets(t.Namespace).Get(ctx, t.Name, metav1.GetOptions{})
	case "DaemonSet":
		obj, err = c.AppsV1().DaemonSets(t.Namespace).Get(ctx, t.Name, metav1.GetOptions{})
	case "ReplicaSet":
		obj, err = c.AppsV1().ReplicaSets(t.Namespace).Get(ctx, t.Name, metav1.GetOptions{})
	case "Job":
		obj, err = c.BatchV1().Jobs(t.Namespace).Get(ctx, t.Name, metav1.GetOptions{})
	case "CronJob":
		obj, err = c.BatchV1().CronJobs(t.Namespace).Get(ctx, t.Name, metav1.GetOptions{})
	default:
		return nil, fmt.Errorf("cannot apply to a %s", t.Kind)
	}
	if err != nil {
		return nil, fmt.Errorf("getting %s in namespace %s: %w", t, t.Namespace, err)
	}
	return obj, nil
}

func doPatch(ctx context.Context, c kubernetes.Interface, t ApplyTarget, patch []byte, pt types.PatchType, dryRun bool) (runtime.Object, error) {
	if patch == nil {
		return nil, nil // nothing of the workload changes
	}
	opts := metav1.PatchOptions{FieldManager: FieldManager}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	switch t.Kind {
	case "Deployment":
		return c.AppsV1().Deployments(t.Namespace).Patch(ctx, t.Name, pt, patch, opts)
	case "StatefulSet":
		return c.AppsV1().StatefulSets(t.Namespace).Patch(ctx, t.Name, pt, patch, opts)
	case "DaemonSet":
		return c.AppsV1().DaemonSets(t.Namespace).Patch(ctx, t.Name, pt, patch, opts)
	case "ReplicaSet":
		return c.AppsV1().ReplicaSets(t.Namespace).Patch(ctx, t.Name, pt, patch, opts)
	case "Job":
		return c.BatchV1().Jobs(t.Namespace).Patch(ctx, t.Name, pt, patch, opts)
	case "CronJob":
		return c.BatchV1().CronJobs(t.Namespace).Patch(ctx, t.Name, pt, patch, opts)
	}
	return nil, fmt.Errorf("cannot patch a %s", t.Kind)
}

// jobImmutable is the error for a Job's pod template, which the API
// server keeps as it was created: the change goes where the next Job
// comes from.
func jobImmutable(t ApplyTarget, obj runtime.Object) error {
	from := "fix the manifest it comes from (oomdoctor fix -f PATH) and create it again"
	if m, err := meta.Accessor(obj); err == nil {
		if o := metav1.GetControllerOf(m); o != nil && o.Kind == "CronJob" {
			from = fmt.Sprintf("change its CronJob, whose next Jobs take the new values: oomdoctor fix --apply cronjob/%s -n %s with the same values", o.Name, t.Namespace)
		}
	}
	return fmt.Errorf("a Job's pod template cannot change once it is created (the API server refuses it: field is immutable), so nothing was changed: %s", from)
}

// checkNodes refuses a limit above every node's allocatable memory and a
// pod request no node can hold; it notes when no node has that much
// unrequested memory now (the new pods may stay Pending).
func checkNodes(ctx context.Context, c kubernetes.Interface, w *manifest.Workload, edits []manifest.Edit, res *ApplyResult) error {
	nodes, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		res.Notes = append(res.Notes, fmt.Sprintf("cannot list nodes (%v): the new values were not checked against their memory", err))
		return nil
	}
	if len(nodes.Items) == 0 {
		return nil
	}
	var biggest int64
	var biggestName string
	for _, n := range nodes.Items {
		if a := n.Status.Allocatable.Memory().Value(); a > biggest {
			biggest, biggestName = a, n.Name
		}
	}
	newValue := map[string]int64{}
	for _, e := range edits {
		if strings.HasSuffix(e.Path, ".memory") {
			q := mustBytes(e.Value)
			newValue[e.Path] = q
			if strings.HasSuffix(e.Path, "limits.memory") && q > biggest {
				return fmt.Errorf("refusing a memory limit of %s: the largest node (%s) has %s allocatable, so the container would be killed by the node before its limit; split the work or add larger nodes", e.Value, biggestName, manifest.FormatBytes(biggest))
			}
		}
	}
	// The pod's total request after the change.
	var total int64
	for _, ct := range w.Spec.Containers {
		p := ct.Resources.Path + ".requests.memory"
		if v, ok := newValue[p]; ok {
			total += v
		} else if ct.Resources.MemoryRequest.Set() {
			total += ct.Resources.MemoryRequest.Bytes()
		} else if v, ok := newValue[ct.Resources.Path+".limits.memory"]; ok {
			total += v // the request defaults to the limit
		}
	}
	if total > biggest {
		return fmt.Errorf("refusing: the pod would request %s of memory, more than any node can hold (the largest, %s, has %s allocatable); it would never be scheduled", manifest.FormatBytes(total), biggestName, manifest.FormatBytes(biggest))
	}
	free, err := freeMemory(ctx, c, nodes.Items)
	if err == nil && free < total {
		res.Notes = append(res.Notes, fmt.Sprintf("no node has %s of unrequested memory right now (the most is %s): new pods may stay Pending until room is made", manifest.FormatBytes(total), manifest.FormatBytes(free)))
	}
	return nil
}

// freeMemory is the most unrequested allocatable memory on one node.
func freeMemory(ctx context.Context, c kubernetes.Interface, nodes []corev1.Node) (int64, error) {
	used := map[string]int64{}
	err := eachObject(ctx, c, metav1.NamespaceAll, "Pod", metav1.ListOptions{FieldSelector: "status.phase!=Succeeded,status.phase!=Failed"}, func(obj runtime.Object, _ metav1.Object) error {
		if p, ok := obj.(*corev1.Pod); ok {
			for _, ct := range p.Spec.Containers {
				used[p.Spec.NodeName] += ct.Resources.Requests.Memory().Value()
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	var most int64
	for _, n := range nodes {
		if f := n.Status.Allocatable.Memory().Value() - used[n.Name]; f > most {
			most = f
		}
	}
	return most, nil
}

func mustBytes(q string) int64 {
	b, _ := quantityBytes(q)
	return b
}
