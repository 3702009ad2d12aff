package snapshot

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/oomdoctor/oomdoctor/internal/source"
)

func write(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const podJSON = `{"apiVersion": "v1", "kind": "Pod", "metadata": {"namespace": "a", "name": "p1", "uid": "u1", "labels": {"app": "x"}}}`

func TestLoadShapes(t *testing.T) {
	cases := []struct {
		name, file, content string
		pods, events        int
	}{
		{"single object", "p.json", podJSON, 1, 0},
		{"kubectl List", "l.json", `{"apiVersion": "v1", "kind": "List", "items": [` + podJSON + `,
			{"apiVersion": "v1", "kind": "Event", "metadata": {"namespace": "a", "name": "e"}, "involvedObject": {"kind": "Pod"}}]}`, 1, 1},
		{"typed PodList without kinds on items", "pl.json", `{"apiVersion": "v1", "kind": "PodList", "items": [{"metadata": {"name": "q"}}]}`, 0, 0},
		{"several JSON values", "multi.json", podJSON + "\n" + strings.Replace(podJSON, "p1", "p2", 1), 2, 0},
		{"bare JSON array", "arr.json", "[" + podJSON + "]", 1, 0},
		{"empty List", "empty.json", `{"apiVersion": "v1", "kind": "List", "items": []}`, 0, 0},
		{"YAML documents", "d.yaml", "# pods\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: ns1}\n---\n---\napiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: b, namespace: ns1}\n", 2, 0},
		{"events.k8s.io Event", "ev.yaml", "apiVersion: events.k8s.io/v1\nkind: Event\nmetadata: {name: e, namespace: default}\nregarding: {kind: Node, name: n1}\nreason: SystemOOM\nnote: System OOM encountered\ntype: Warning\neventTime: \"2026-01-01T00:00:00.000000Z\"\nreportingController: kubelet\nreportingInstance: n1\naction: OOM\n", 0, 1},
		{"other kinds are ignored", "svc.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: s}\n", 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s, err := Load(write(t, dir, tc.file, tc.content))
			if strings.Contains(tc.name, "without kinds") {
				if err == nil || !strings.Contains(err.Error(), `no "kind"`) {
					t.Fatalf("items without kind must be an error, got %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(s.Objects.Pods) != tc.pods || len(s.Objects.Events) != tc.events {
				t.Errorf("pods %d events %d, want %d %d", len(s.Objects.Pods), len(s.Objects.Events), tc.pods, tc.events)
			}
		})
	}
}

func TestLoadConvertsEventsV1(t *testing.T) {
	dir := t.TempDir()
	s, err := Load(write(t, dir, "ev.yaml", "apiVersion: events.k8s.io/v1\nkind: Event\nmetadata: {name: e, namespace: default}\nregarding: {kind: Node, name: n1}\nreason: SystemOOM\nnote: \"victim process: java, pid: 7\"\ntype: Warning\nseries: {count: 4, lastObservedTime: \"2026-01-01T00:00:00.000000Z\"}\n"))
	if err != nil {
		t.Fatal(err)
	}
	e := s.Objects.Events[0]
	if e.InvolvedObject.Kind != "Node" || e.Message != "victim process: java, pid: 7" || e.Series.Count != 4 {
		t.Errorf("converted event %+v", e)
	}
}

func TestLoadErrorsHavePositions(t *testing.T) {
	cases := []struct {
		name, file, content, want string
	}{
		{"JSON syntax", "bad.json", "{\n  \"kind\": \"List\",\n  \"items\": [\n    {\"kind\": \"Pod\" \"apiVersion\": \"v1\"}\n  ]\n}", "bad.json:4:20: invalid JSON"},
		{"truncated JSON", "cut.json", "{\"kind\": \"List\", \"items\": [", "cut.json:1:"},
		{"wrong type deep in a List item", "type.json", "{\"kind\": \"List\", \"apiVersion\": \"v1\", \"items\": [\n" + podJSON + ",\n  {\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"metadata\": {\"name\": \"x\"},\n   \"status\": {\"containerStatuses\": [{\"name\": \"c\", \"restartCount\": \"many\"}]}}\n]}", "type.json:4:"},
		{"YAML syntax, second document", "bad.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: [unclosed\n", "bad.yaml:"},
		{"YAML type error names the item", "t.yaml", "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: a, namespace: ns1}\n  status: {containerStatuses: [{name: c, restartCount: many}]}\n", "t.yaml:1: item 0 (Pod ns1/a): field"},
		{"no kind", "nokind.json", `{"metadata": {"name": "x"}}`, `nokind.json:1:1: object has no "kind"`},
		{"empty file", "empty.yaml", "\n\n", "empty.yaml: the file is empty"},
		{"a plain value", "num.json", "42", "num.json:1: expected a Kubernetes object or a List"},
		{"bad quantity", "q.json", `{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"}, "spec": {"containers": [{"name": "c", "resources": {"limits": {"memory": "lots"}}}]}}`, "q.json:1:1: Pod x: quantities must match"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(write(t, t.TempDir(), tc.file, tc.content))
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("want a DecodeError, got %v", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

func TestLoadYAMLErrorLineCountsEarlierDocuments(t *testing.T) {
	content := "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n   bad: indent\n"
	_, err := Load(write(t, t.TempDir(), "x.yaml", content))
	if err == nil || !strings.Contains(err.Error(), "x.yaml:9:") {
		t.Errorf("want the error on line 9 of the file, got %v", err)
	}
}

func TestLoadFolder(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "pods.json", `{"apiVersion": "v1", "kind": "List", "items": [`+podJSON+`]}`)
	write(t, dir, "more/pods-again.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {namespace: a, name: p1, uid: u1, labels: {app: x}}\n")
	write(t, dir, "more/p2.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {namespace: b, name: p2, labels: {app: other}}\n")
	write(t, dir, "README.md", "not read")
	write(t, dir, ".hidden/x.json", "not read either {")
	s, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Objects.Pods) != 2 || s.Duplicates != 1 {
		t.Errorf("pods %d duplicates %d, want 2 and 1", len(s.Objects.Pods), s.Duplicates)
	}
	var names []string
	err = s.Pods(context.Background(), source.Scope{LabelSelector: "app=x"}, func(p *corev1.Pod) error {
		names = append(names, p.Name)
		return nil
	})
	if err != nil || strings.Join(names, ",") != "p1" {
		t.Errorf("selector app=x: %v %v", names, err)
	}
	names = nil
	_ = s.Pods(context.Background(), source.Scope{Namespace: "b"}, func(p *corev1.Pod) error {
		names = append(names, p.Name)
		return nil
	})
	if strings.Join(names, ",") != "p2" {
		t.Errorf("namespace b: %v", names)
	}

	if _, err := Load(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no .json, .yaml or .yml files") {
		t.Errorf("an empty folder: %v", err)
	}
	if _, err := Load(filepath.Join(dir, "nope")); err == nil {
		t.Error("a missing path loaded")
	}
}
