package cli

import (
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/oomdoctor/oomdoctor/internal/model"
)

// pick selects, as kubectl's -l does, the pods whose labels match sel and
// the workloads they belong to: a workload is picked whole (all its
// replicas, the ended ones too) when one of its pods now matches. It
// returns the namespaces of the picked pods, sorted, and an error that
// says what to do when none matches.
func (s *specs) pick(sel labels.Selector, selector, namespace string) ([]string, error) {
	s.picked = map[string]bool{}
	nss := map[string]bool{}
	for key, l := range s.podLabels {
		if !sel.Matches(l) {
			continue
		}
		ns, pod, _ := strings.Cut(key, "/")
		s.picked[pickKey(model.WorkloadRef{Namespace: ns, Kind: "Pod", Name: pod})] = true
		s.picked[pickKey(s.owners[key])] = true
		nss[ns] = true
	}
	if len(nss) == 0 {
		where := "in any namespace"
		if namespace != "" {
			where = "in namespace " + namespace
		}
		return nil, usagef("no pod %s matches -l %s: give a selector that kubectl get pods -l takes and that matches the pods that run now", where, selector)
	}
	out := make([]string, 0, len(nss))
	for ns := range nss {
		out = append(out, ns)
	}
	sort.Strings(out)
	return out, nil
}

// picks says whether -l picked w (true without -l).
func (s *specs) picks(w model.WorkloadRef) bool {
	return s == nil || s.picked == nil || s.picked[pickKey(w)]
}

func pickKey(w model.WorkloadRef) string { return fmt.Sprintf("%s/%s/%s", w.Namespace, w.Kind, w.Name) }
