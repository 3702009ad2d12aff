package fix

import (
	"errors"
	"fmt"
	"math/rand"
	"reflect"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v3"

	"github.com/oomdoctor/oomdoctor/internal/manifest"
	"github.com/oomdoctor/oomdoctor/internal/renderdiff"
)

// genManifest writes a random valid Deployment: block or flow style for its
// parts, comments in random places, quoted or plain values (some with a
// tag or an anchor), resources or not, one to three containers, a later
// one's resources sometimes an alias of an earlier one's.
func genManifest(r *rand.Rand) string {
	var b strings.Builder
	comment := func(indent string) {
		if r.Intn(3) == 0 {
			fmt.Fprintf(&b, "%s# note %d\n", indent, r.Intn(100))
		}
	}
	anchors := 0
	quote := func(s string) string {
		switch r.Intn(3) {
		case 0:
			s = `"` + s + `"`
		case 1:
			s = "'" + s + "'"
		}
		switch r.Intn(6) {
		case 0:
			s = "!!str " + s
		case 1:
			anchors++
			s = fmt.Sprintf("&v%d %s", anchors, s)
		}
		return s
	}
	var shared []string // anchors of resources
	comment("")
	b.WriteString("apiVersion: apps/v1\nkind: Deployment\n")
	if r.Intn(2) == 0 {
		b.WriteString("metadata: {name: app, labels: {a: b}}\n")
	} else {
		b.WriteString("metadata:\n  name: app\n")
		comment("  ")
		b.WriteString("  labels:\n    a: b\n")
	}
	b.WriteString("spec:\n  replicas: 2\n  template:\n    spec:\n      containers:\n")
	n := 1 + r.Intn(3)
	for i := 0; i < n; i++ {
		comment("      ")
		fmt.Fprintf(&b, "      - name: c%d\n        image: %s\n", i, quote(fmt.Sprintf("img:%d", i)))
		switch r.Intn(5) {
		case 0: // none
		case 1:
			fmt.Fprintf(&b, "        resources: {requests: {memory: %s}, limits: {memory: %s}}\n", quote("256Mi"), quote("512Mi"))
		case 4:
			if len(shared) > 0 {
				fmt.Fprintf(&b, "        resources: *%s\n", shared[r.Intn(len(shared))])
				break
			}
			fallthrough
		case 2:
			b.WriteString("        resources:")
			if r.Intn(2) == 0 {
				shared = append(shared, fmt.Sprintf("r%d", i))
				b.WriteString(" &r" + fmt.Sprint(i))
			}
			b.WriteString("\n")
			comment("          ")
			fmt.Fprintf(&b, "          limits:\n            memory: %s\n", quote("1Gi"))
		case 3:
			fmt.Fprintf(&b, "        resources:\n          requests:\n            cpu: 100m\n            memory: %s   # inline\n", quote("128Mi"))
		}
		if r.Intn(3) == 0 {
			b.WriteString("        env:\n        - name: X\n          value: \"1\"\n")
		}
	}
	comment("")
	return b.String()
}

// toData decodes YAML into plain values to compare.
func toData(t *testing.T, s string) any {
	var v any
	if err := yaml.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("%v\n%s", err, s)
	}
	return v
}

// FuzzFixChangesOnlyTargetFields: random manifests, random values; parsed
// back, the fixed manifest differs from the original only in the target
// container's memory request and limit.
func FuzzFixChangesOnlyTargetFields(f *testing.F) {
	for _, seed := range []int64{1, 2, 3, 42, 1234} {
		f.Add(seed, int64(300), int64(900))
	}
	f.Fuzz(func(t *testing.T, seed, reqMi, limMi int64) {
		if reqMi <= 4 || limMi < reqMi || limMi > 1<<20 {
			return
		}
		r := rand.New(rand.NewSource(seed))
		in := genManifest(r)
		req, lim := reqMi<<20, limMi<<20
		res, err := File("m.yaml", []byte(in), Options{Values: Explicit{Container: "c0", Target: Target{Request: &req, Limit: &lim}}})
		var ee *manifest.EditError
		if errors.As(err, &ee) && strings.Contains(in, "resources: *r0") && strings.Contains(err.Error(), "which reads the same text through a YAML anchor") {
			return // c0's resources are another container's too: refused
		}
		if err != nil {
			t.Fatalf("%v\n%s", err, in)
		}
		before := toData(t, in).(map[string]any)
		after := toData(t, string(res.Fixed)).(map[string]any)
		containers := func(m map[string]any) []any {
			return m["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)
		}
		cb, ca := containers(before), containers(after)
		c0 := ca[0].(map[string]any)
		res0 := c0["resources"].(map[string]any)
		gotReq := res0["requests"].(map[string]any)["memory"]
		gotLim := res0["limits"].(map[string]any)["memory"]
		if gotReq != manifest.FormatBytes(req) || gotLim != manifest.FormatBytes(lim) {
			t.Fatalf("target not set: %v %v\n%s", gotReq, gotLim, res.Fixed)
		}
		// Put the original values back: everything must then be equal.
		orig := cb[0].(map[string]any)
		if origRes, ok := orig["resources"].(map[string]any); ok {
			res0 = renderdiff.Copy(origRes).(map[string]any)
			c0["resources"] = res0
		} else {
			delete(c0, "resources")
		}
		if !reflect.DeepEqual(before, after) {
			t.Fatalf("fields other than the target changed\n--- in\n%s\n--- out\n%s", in, res.Fixed)
		}
		again, err := File("m.yaml", res.Fixed, Options{Values: Explicit{Container: "c0", Target: Target{Request: &req, Limit: &lim}}})
		if err != nil || again.Changed() {
			t.Fatalf("not idempotent: %v\n%s", err, again.Fixed)
		}
	})
}
