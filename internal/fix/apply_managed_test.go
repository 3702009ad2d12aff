package fix

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestManagedBy(t *testing.T) {
	target := ApplyTarget{Kind: "Deployment", Namespace: "shop", Name: "api"}
	for _, tc := range []struct {
		name        string
		labels, ann map[string]string
		managers    []string
		want        []string // one part of each warning, in order; none: no warning
	}{
		{"kubectl", map[string]string{"app": "api"}, map[string]string{"kubectl.kubernetes.io/last-applied-configuration": "{}"}, []string{"kubectl-client-side-apply"}, nil},
		{"argo annotation", nil, map[string]string{"argocd.argoproj.io/tracking-id": "shop-api:apps/Deployment:shop/api"}, nil, []string{"deployment/api is deployed by Argo CD (application shop-api)"}},
		{"argo server-side apply", map[string]string{"app.kubernetes.io/instance": "shop-api"}, nil, []string{"argocd-controller", "kube-controller-manager"}, []string{"Argo CD (field manager argocd-controller)"}},
		{"flux kustomization", map[string]string{"kustomize.toolkit.fluxcd.io/name": "apps", "kustomize.toolkit.fluxcd.io/namespace": "flux-system"}, nil, []string{"kustomize-controller"}, []string{"Flux (Kustomization flux-system/apps): its next reconciliation puts its manifest back"}},
		{"flux helmrelease", map[string]string{"helm.toolkit.fluxcd.io/name": "api", "helm.toolkit.fluxcd.io/namespace": "shop", "app.kubernetes.io/managed-by": "Helm"}, map[string]string{"meta.helm.sh/release-name": "api"}, []string{"helm-controller"}, []string{"Flux (HelmRelease shop/api)"}},
		{"helm", map[string]string{"app.kubernetes.io/managed-by": "Helm"}, map[string]string{"meta.helm.sh/release-name": "api", "meta.helm.sh/release-namespace": "shop"}, []string{"helm"}, []string{"belongs to Helm release api (namespace shop): the next helm upgrade"}},
		{"a chart rendered by another tool", map[string]string{"app.kubernetes.io/managed-by": "Helm"}, nil, nil, nil},
	} {
		d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "api", Namespace: "shop", Labels: tc.labels, Annotations: tc.ann}}
		for _, m := range tc.managers {
			d.ManagedFields = append(d.ManagedFields, metav1.ManagedFieldsEntry{Manager: m})
		}
		got := managedBy(target.String(), d, "these memory settings")
		if len(got) != len(tc.want) {
			t.Errorf("%s: %q, want %d warnings", tc.name, got, len(tc.want))
			continue
		}
		for i, w := range tc.want {
			if !strings.Contains(got[i], w) || !strings.Contains(got[i], "or this change is undone") {
				t.Errorf("%s: %q, want it to say %q", tc.name, got[i], w)
			}
		}
	}
}
