package cluster

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// User creates a ServiceAccount in namespace with exactly the given rights
// (a ClusterRole bound cluster-wide) and returns a kubeconfig for it, with a
// token from the TokenRequest API. Use it to test RBAC the way a real user
// meets it.
func (cp *ControlPlane) User(ctx context.Context, namespace, name string, rules []rbacv1.PolicyRule) (string, error) {
	c := cp.Client
	if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return "", err
	}
	if _, err := c.CoreV1().ServiceAccounts(namespace).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		return "", err
	}
	role := "oomdoctor-test-" + namespace + "-" + name
	if _, err := c.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: role}, Rules: rules}, metav1.CreateOptions{}); err != nil {
		return "", err
	}
	if _, err := c.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: role},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: name, Namespace: namespace}},
	}, metav1.CreateOptions{}); err != nil {
		return "", err
	}
	if err := cp.waitForRights(ctx, namespace, name, rules); err != nil {
		return "", err
	}
	tr, err := c.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)},
	}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("requesting a token for %s/%s: %w", namespace, name, err)
	}
	path := filepath.Join(cp.Dir, namespace+"-"+name+".kubeconfig")
	return path, writeKubeconfig(path, cp.URL, cp.caData, name, tr.Status.Token)
}

// waitForRights waits until the API server's authorizer grants the user
// the first resource rule: it learns of new roles and bindings through
// its own watch, a moment after they are written, and until then refuses
// (clusterrole "..." not found), which a test would read as the rights it
// set up.
func (cp *ControlPlane) waitForRights(ctx context.Context, namespace, name string, rules []rbacv1.PolicyRule) error {
	var attrs *authorizationv1.ResourceAttributes
	for _, r := range rules {
		if len(r.Verbs) > 0 && len(r.Resources) > 0 && len(r.APIGroups) > 0 && len(r.ResourceNames) == 0 {
			attrs = &authorizationv1.ResourceAttributes{Verb: r.Verbs[0], Group: r.APIGroups[0], Resource: r.Resources[0]}
			break
		}
	}
	if attrs == nil {
		return nil
	}
	user := "system:serviceaccount:" + namespace + ":" + name
	deadline := time.Now().Add(30 * time.Second)
	for {
		review, err := cp.Client.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User: user, Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + namespace, "system:authenticated"}, ResourceAttributes: attrs,
		}}, metav1.CreateOptions{})
		if err != nil {
			return fmt.Errorf("checking the rights of %s: %w", user, err)
		}
		if review.Status.Allowed {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after 30 s the API server still does not grant %s %s on %s: %s", user, attrs.Verb, attrs.Resource, review.Status.Reason)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
