package fix

import (
	"strings"
	"testing"

	"github.com/oomdoctor/oomdoctor/internal/manifest"
	"github.com/oomdoctor/oomdoctor/internal/workload"
)

// memoryChange reads what an HPA's metric reads before and after fix's
// own edits: a request left unset follows the limit (old and new), the
// other container keeps its values, a container without a limit leaves
// the pod unlimited.
func TestMemoryChange(t *testing.T) {
	const mi = 1 << 20
	doc := `apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec:
  template:
    spec:
      containers:
      - name: app
        image: app:1
        resources: {limits: {memory: 256Mi}}
      - name: proxy
        image: proxy:1
        resources: {requests: {memory: 64Mi}, limits: {memory: 128Mi}}
      - name: log
        image: log:1
        resources: {requests: {memory: 32Mi}}
`
	var w *manifest.Workload
	if err := manifest.ReadStream("api.yaml", strings.NewReader(doc), nil, func(o *manifest.Object) error {
		w, _ = manifest.AsWorkload(o)
		return nil
	}); err != nil || w == nil {
		t.Fatalf("reading the workload: %v", err)
	}
	limit := int64(512 * mi)
	edits, _, _, _, err := planWorkload(w, Explicit{Container: "app", Target: Target{Limit: &limit}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		container string
		want      workload.MemoryChange
	}{
		// 256 + 64 + 32 before; the app's request follows its limit to 512.
		{"", workload.MemoryChange{OldRequest: 352 * mi, NewRequest: 608 * mi, NewLimit: 640 * mi, Limited: false}},
		{"app", workload.MemoryChange{OldRequest: 256 * mi, NewRequest: 512 * mi, NewLimit: 512 * mi, Limited: true}},
		{"proxy", workload.MemoryChange{OldRequest: 64 * mi, NewRequest: 64 * mi, NewLimit: 128 * mi, Limited: true}},
		{"log", workload.MemoryChange{OldRequest: 32 * mi, NewRequest: 32 * mi, Limited: false}},
	} {
		if got := memoryChange(w, edits, tc.container); got != tc.want {
			t.Errorf("container %q: got %+v, want %+v", tc.container, got, tc.want)
		}
	}
}
