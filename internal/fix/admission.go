package fix

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/client-go/kubernetes"
	resourcehelper "k8s.io/component-helpers/resource"
	"k8s.io/utils/ptr"

	"github.com/oomdoctor/oomdoctor/internal/manifest"
	"github.com/oomdoctor/oomdoctor/internal/recommend"
	"github.com/oomdoctor/oomdoctor/internal/workload"
)

// LimitRanges, ResourceQuotas, Pod Security and most admission webhooks
// act on pods, which the workload's controller creates after the patch:
// the dry run of the workload's own patch passes them, and the rollout
// then stalls with every new pod refused (a StatefulSet's pod is deleted
// first, and not recreated). So before patching, the API server is asked
// to create one pod of the changed template in a dry run (nothing is
// stored), and a refusal stops the change.

// podsAdmitted checks a pod of the patched template against the
// namespace's admission. A refusal is an error, except a quota's when the
// rollout replaces its pods in place and the quota holds them all with
// the new values, and one that a pod of the current template meets too
// (notes then: the rollout's wait stops on refused pods). Without the
// right to create pods it notes that nothing was checked.
func podsAdmitted(ctx context.Context, c kubernetes.Interface, t ApplyTarget, obj runtime.Object, patch []byte, res *ApplyResult) error {
	before, after, err := templates(obj, patch)
	if err != nil {
		return fmt.Errorf("reading the pod template of %s: %w", t, err)
	}
	if ok, why := mayCreatePods(ctx, c, t.Namespace); !ok {
		res.Notes = append(res.Notes, fmt.Sprintf("the new pods were not checked against the namespace's LimitRanges, ResourceQuotas and admission policies (%s): a refused pod shows as a stalled rollout", why))
		return nil
	}
	admitted, refused := dryRunPod(ctx, c, t, obj, after)
	switch {
	case refused == nil:
		if d := mutated(before, after, admitted); d != "" {
			return fmt.Errorf("refusing: the API server changes the memory of the new pods of %s as it admits them (%s), so the values would not take; a mutating admission webhook or policy does it, such as a VerticalPodAutoscaler's in an updating mode (kubectl get vpa -n %s): change its bounds (resourcePolicy minAllowed, maxAllowed) or set its updateMode to Off instead; nothing was changed", t, d, t.Namespace)
		}
		return nil
	case !apierrors.IsForbidden(refused) && !apierrors.IsInvalid(refused):
		res.Notes = append(res.Notes, fmt.Sprintf("the new pods could not be checked against the namespace's admission (a pod created in a dry run: %v)", refused))
		return nil
	case strings.Contains(refused.Error(), "exceeded quota"):
		return quotaRoom(ctx, c, t, obj, podOf(t, obj, before), podOf(t, obj, after), refused, res)
	}
	if _, current := dryRunPod(ctx, c, t, obj, before); current != nil {
		// Not (only) the new values' doing: a policy the running pods
		// predate, or a pod this check cannot build as the controller
		// does. The rollout's wait still stops on refused pods.
		res.Notes = append(res.Notes, fmt.Sprintf("the new pods were not checked against the namespace's admission: a pod of the current template is refused as well (%v); waiting for the rollout (--wait) stops on refused pods", current))
		return nil
	}
	msg := fmt.Sprintf("refusing: the API server would refuse the new pods of %s, so the rollout would stall (the %s itself accepts the change: admission checks pods, which its controller creates afterwards); nothing was changed: %v", t, strings.ToLower(t.Kind), refused)
	if strings.Contains(refused.Error(), "memory") {
		msg += fmt.Sprintf("; choose values the namespace allows (kubectl describe limitrange -n %s) or have its LimitRange changed", t.Namespace)
	}
	return fmt.Errorf("%s", msg)
}

// dryRunPod asks the API server to create a pod of the workload's
// template, storing nothing; it returns the pod as admission left it.
func dryRunPod(ctx context.Context, c kubernetes.Interface, t ApplyTarget, obj runtime.Object, tpl *corev1.PodTemplateSpec) (*corev1.Pod, error) {
	return c.CoreV1().Pods(t.Namespace).Create(ctx, podOf(t, obj, tpl), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}, FieldManager: FieldManager})
}

// mutated says which memory values the change sets (in after, not as in
// before) that the admitted pod does not have: "container app: limit
// 768Mi, not the 640Mi set". Empty when every one took.
func mutated(before, after *corev1.PodTemplateSpec, admitted *corev1.Pod) string {
	if admitted == nil {
		return ""
	}
	find := func(cs []corev1.Container, name string) *corev1.Container {
		for i := range cs {
			if cs[i].Name == name {
				return &cs[i]
			}
		}
		return nil
	}
	var out []string
	for _, lists := range [][3][]corev1.Container{
		{before.Spec.InitContainers, after.Spec.InitContainers, admitted.Spec.InitContainers},
		{before.Spec.Containers, after.Spec.Containers, admitted.Spec.Containers},
	} {
		for _, a := range lists[1] {
			b, got := find(lists[0], a.Name), find(lists[2], a.Name)
			if got == nil {
				continue
			}
			for _, f := range []struct {
				what string
				of   func(*corev1.Container) corev1.ResourceList
			}{{"request", func(c *corev1.Container) corev1.ResourceList { return c.Resources.Requests }}, {"limit", func(c *corev1.Container) corev1.ResourceList { return c.Resources.Limits }}} {
				want, set := f.of(&a)[corev1.ResourceMemory]
				if !set {
					continue
				}
				if b != nil {
					if old, ok := f.of(b)[corev1.ResourceMemory]; ok && old.Cmp(want) == 0 {
						continue // not changed: not ours to check
					}
				}
				if have, ok := f.of(got)[corev1.ResourceMemory]; !ok || have.Cmp(want) != 0 {
					h := "none"
					if ok {
						h = manifest.FormatBytes(have.Value())
					}
					out = append(out, fmt.Sprintf("container %s: %s %s, not the %s set", a.Name, f.what, h, manifest.FormatBytes(want.Value())))
				}
			}
		}
	}
	return strings.Join(out, "; ")
}

// podOf is a pod of the template, as the workload's controller would
// make it: owned by the workload, and a StatefulSet's with a volume for
// each of its claim templates, which their containers mount.
func podOf(t ApplyTarget, obj runtime.Object, tpl *corev1.PodTemplateSpec) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{GenerateName: t.Name + "-", Namespace: t.Namespace, Labels: tpl.Labels, Annotations: tpl.Annotations},
		Spec:       *tpl.Spec.DeepCopy(),
	}
	// Owned, as a controller's pods are (policies that refuse bare pods
	// look for it); a Deployment's own ReplicaSet is not known here.
	if m, err := meta.Accessor(obj); err == nil && m.GetUID() != "" {
		p.OwnerReferences = []metav1.OwnerReference{{APIVersion: applyKinds[strings.ToLower(t.Kind)], Kind: t.Kind, Name: m.GetName(), UID: m.GetUID(), Controller: ptr.To(true)}}
	}
	if s, ok := obj.(*appsv1.StatefulSet); ok {
		for _, pvc := range s.Spec.VolumeClaimTemplates {
			if slices.ContainsFunc(p.Spec.Volumes, func(v corev1.Volume) bool { return v.Name == pvc.Name }) {
				continue
			}
			p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: pvc.Name, VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: pvc.Name + "-" + s.Name + "-0"},
			}})
		}
	}
	return p
}

// mayCreatePods asks whether the user may create pods in the namespace
// (a dry run needs the same right).
func mayCreatePods(ctx context.Context, c kubernetes.Interface, ns string) (bool, string) {
	r, err := c.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{
		Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: ns, Verb: "create", Resource: "pods"}},
	}, metav1.CreateOptions{})
	if err != nil {
		return false, fmt.Sprintf("cannot ask whether you may create pods: %v", err)
	}
	if !r.Status.Allowed {
		return false, fmt.Sprintf("that needs the right to create pods in %s, in a dry run", ns)
	}
	return true, ""
}

// templates returns the object's pod template before and after the patch.
func templates(obj runtime.Object, patch []byte) (before, after *corev1.PodTemplateSpec, err error) {
	orig, err := json.Marshal(obj)
	if err != nil {
		return nil, nil, err
	}
	patched, err := strategicpatch.StrategicMergePatch(orig, patch, obj)
	if err != nil {
		return nil, nil, err
	}
	out := reflect.New(reflect.TypeOf(obj).Elem()).Interface().(runtime.Object)
	if err := json.Unmarshal(patched, out); err != nil {
		return nil, nil, err
	}
	before, _ = templateOf(obj)
	after, _ = templateOf(out)
	if before == nil || after == nil {
		return nil, nil, fmt.Errorf("no pod template in a %T", obj)
	}
	return before, after, nil
}

// templateOf is a workload's pod template and selector (a CronJob's:
// its Jobs' template, no selector; nil: a kind without either).
func templateOf(obj runtime.Object) (*corev1.PodTemplateSpec, *metav1.LabelSelector) {
	switch o := obj.(type) {
	case *appsv1.Deployment:
		return &o.Spec.Template, o.Spec.Selector
	case *appsv1.StatefulSet:
		return &o.Spec.Template, o.Spec.Selector
	case *appsv1.DaemonSet:
		return &o.Spec.Template, o.Spec.Selector
	case *appsv1.ReplicaSet:
		return &o.Spec.Template, o.Spec.Selector
	case *batchv1.Job:
		return &o.Spec.Template, o.Spec.Selector
	case *batchv1.CronJob:
		return &o.Spec.JobTemplate.Spec.Template, nil
	}
	return nil, nil
}

// quotaRoom decides on a quota's refusal of one pod with the new values
// beside the current pods. A rollout that surges needs that room: refused.
// One that replaces each pod in place needs the quota to hold every pod
// with the new values: refused when it does not, a note when it does.
func quotaRoom(ctx context.Context, c kubernetes.Interface, t ApplyTarget, obj runtime.Object, old, new *corev1.Pod, refusal error, res *ApplyResult) error {
	describe := fmt.Sprintf("kubectl describe resourcequota -n %s", t.Namespace)
	pods, surge, ok := workload.Rollout(obj)
	switch {
	case !ok:
		return fmt.Errorf("refusing: the namespace's ResourceQuota has no room for a pod of %s with the new values (%s); nothing was changed: %v", t, describe, refusal)
	case surge > 0:
		return fmt.Errorf("refusing: the rollout of %s creates each new pod before an old one goes, and the namespace's ResourceQuota has no room for one, so the rollout would stall; raise the quota (%s), or have the rollout remove an old pod first (strategy.rollingUpdate.maxSurge: 0, maxUnavailable: 1); nothing was changed: %v", t, describe, refusal)
	}
	qs, err := c.CoreV1().ResourceQuotas(t.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("refusing: the namespace's ResourceQuota has no room for a pod of %s with the new values beside the current ones, and its quotas cannot be read to see whether the pods fit once replaced (%v); nothing was changed: %v", t, err, refusal)
	}
	opts := resourcehelper.PodResourcesOptions{}
	requests := mem(resourcehelper.PodRequests(new, opts)) - mem(resourcehelper.PodRequests(old, opts))
	delta := map[corev1.ResourceName]int64{
		corev1.ResourceRequestsMemory: requests,
		corev1.ResourceMemory:         requests, // "memory" in a quota is the requests'
		corev1.ResourceLimitsMemory:   mem(resourcehelper.PodLimits(new, opts)) - mem(resourcehelper.PodLimits(old, opts)),
	}
	for _, q := range qs.Items {
		if x, ok := recommend.QuotaOf(&q); !ok || x.Covers != nil && !x.Covers(new) {
			continue // no memory, or scopes that leave the pod out
		}
		for _, key := range []corev1.ResourceName{corev1.ResourceRequestsMemory, corev1.ResourceMemory, corev1.ResourceLimitsMemory} {
			hard, ok := q.Status.Hard[key]
			if !ok {
				continue
			}
			used := q.Status.Used[key]
			need := used.Value() + int64(pods)*delta[key]
			if need > hard.Value() {
				return fmt.Errorf("refusing: with the new values the %d pods of %s would need %s of %s in ResourceQuota %s, which allows %s (%s used now); raise the quota or choose lower values; nothing was changed", pods, t, manifest.FormatBytes(need), key, q.Name, manifest.FormatBytes(hard.Value()), manifest.FormatBytes(used.Value()))
			}
		}
	}
	res.Notes = append(res.Notes, fmt.Sprintf("the namespace's ResourceQuota has no room for a pod with the new values beside the current ones (%v); the rollout of %s replaces each pod after the old one goes, and the quota holds all %d with the new values", refusal, t, pods))
	return nil
}

func mem(l corev1.ResourceList) int64 {
	q := l[corev1.ResourceMemory]
	return q.Value()
}
