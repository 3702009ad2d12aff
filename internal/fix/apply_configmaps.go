package fix

import (
	"context"
	"fmt"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/oomdoctor/oomdoctor/internal/manifest"
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
		cms[w.Namespace+"/"+name] = &ConfigMap{Object: &manifest.Object{Kind: "ConfigMap", Name: name, Namespace: w.Namespace}, Data: cm.Data}
	}
	return cms
}

// configMapsFirst is the error that stops --apply when the new limits
// need a ConfigMap changed: the new pods would start with what it says
// now. Changed first, the ConfigMap no longer stands in the way.
func configMapsFirst(t ApplyTarget, edits []ConfigMapEdit) error {
	var lines []string
	for _, e := range edits {
		lines = append(lines, fmt.Sprintf("ConfigMap %s key %s: %s", e.ConfigMap, e.Key, e.Change.What))
	}
	sort.Strings(lines)
	return fmt.Errorf("the new limit needs a ConfigMap changed first, which --apply does not do (other workloads may read it), so nothing was changed:\n  %s\nchange it (kubectl edit configmap -n %s NAME), then run this again: %s's new pods read it when they start",
		strings.Join(lines, "\n  "), t.Namespace, t)
}
