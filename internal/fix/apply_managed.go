package fix

import (
	"fmt"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// managedBy warns when a tool that deploys the object from its own
// manifests manages it (Argo CD, Flux, Helm): that tool puts its
// manifest back, the old memory with it, at its next sync, and the
// change belongs in its source too. Told from the labels and annotations
// those tools write and the field managers the API server records.
// what names the object in the warnings; setting is what its source must
// say too ("these memory settings").
func managedBy(what string, m metav1.Object, setting string) []string {
	labels, ann := m.GetLabels(), m.GetAnnotations()
	managers := map[string]bool{}
	for _, f := range m.GetManagedFields() {
		managers[f.Manager] = true
	}
	var argo []string
	for name := range managers {
		if strings.HasPrefix(name, "argocd") {
			argo = append(argo, name)
		}
	}
	sort.Strings(argo)
	const files = "change the manifests it deploys as well (oomdoctor fix -f PATH with the same values), or this change is undone"
	var out []string
	switch {
	case ann["argocd.argoproj.io/tracking-id"] != "":
		app, _, _ := strings.Cut(ann["argocd.argoproj.io/tracking-id"], ":")
		out = append(out, fmt.Sprintf("%s is deployed by Argo CD (application %s): with automated sync and self-heal it puts its manifest back at once, else it shows OutOfSync until the next sync; %s", what, app, files))
	case len(argo) > 0:
		out = append(out, fmt.Sprintf("%s is deployed by Argo CD (field manager %s): with automated sync and self-heal it puts its manifest back at once, else it shows OutOfSync until the next sync; %s", what, strings.Join(argo, ", "), files))
	}
	if name := labels["kustomize.toolkit.fluxcd.io/name"]; name != "" {
		out = append(out, fmt.Sprintf("%s is deployed by Flux (Kustomization %s/%s): its next reconciliation puts its manifest back; %s", what, labels["kustomize.toolkit.fluxcd.io/namespace"], name, files))
	}
	if name := labels["helm.toolkit.fluxcd.io/name"]; name != "" {
		out = append(out, fmt.Sprintf("%s is deployed by Flux (HelmRelease %s/%s): its next reconciliation puts the chart's values back; set %s in the HelmRelease's values as well, or this change is undone", what, labels["helm.toolkit.fluxcd.io/namespace"], name, setting))
	} else if rel := ann["meta.helm.sh/release-name"]; rel != "" {
		// Helm install and upgrade write these; a chart's
		// app.kubernetes.io/managed-by label alone is also there when
		// Argo CD or Flux render it, with no release to upgrade.
		relNS := ann["meta.helm.sh/release-namespace"]
		out = append(out, fmt.Sprintf("%s belongs to Helm release %s (namespace %s): the next helm upgrade puts the chart's values back; set %s in the release's values as well (oomdoctor fix --chart CHART --values FILE --release %s -n %s, with the same values, writes it there), or this change is undone", what, rel, relNS, setting, rel, relNS))
	}
	return out
}
