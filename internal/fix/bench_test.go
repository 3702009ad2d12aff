package fix

import (
	"bytes"
	"fmt"
	"os"
	"testing"

	yaml "go.yaml.in/yaml/v3"
)

// corpus1000 is 1,000 different Deployments, as separate manifests.
func corpus1000(b *testing.B) [][]byte {
	b.Helper()
	tmpl, err := os.ReadFile("testdata/golden/deployment-comments/in.yaml")
	if err != nil {
		b.Fatal(err)
	}
	out := make([][]byte, 1000)
	for i := range out {
		out[i] = bytes.ReplaceAll(tmpl, []byte("name: api #"), []byte(fmt.Sprintf("name: api-%d #", i)))
	}
	return out
}

// BenchmarkFix1000 rewrites 1,000 manifests' memory request and limit with
// the comment-keeping editor.
func BenchmarkFix1000(b *testing.B) {
	docs := corpus1000(b)
	req, lim := int64(512<<20), int64(1<<30)
	opts := Options{Values: Explicit{Container: "api", Target: Target{Request: &req, Limit: &lim}}}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j, d := range docs {
			r, err := File(fmt.Sprintf("m%d.yaml", j), d, opts)
			if err != nil || !r.Changed() {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkRemarshal1000 is the baseline: what re-marshalling tools do,
// decoding each manifest into yaml.v3 nodes and encoding it again (which
// also loses the file's layout and quoting).
func BenchmarkRemarshal1000(b *testing.B) {
	docs := corpus1000(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, d := range docs {
			var n yaml.Node
			if err := yaml.Unmarshal(d, &n); err != nil {
				b.Fatal(err)
			}
			if _, err := yaml.Marshal(&n); err != nil {
				b.Fatal(err)
			}
		}
	}
}
