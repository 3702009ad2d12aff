package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/oomdoctor/oomdoctor/test/files"
)

// fix -k's files, applied with kubectl apply -k to a real API server (a
// server-side dry run, so the scenario's namespace stays as it is): the
// server takes the overlay's new patches and stores the limits fix
// planned, the heap flag of the ConfigMap generated in the base with them,
// and a sidecar's new limit with the containers in their order.
func TestFixKustomizeAppliesToTheServer(t *testing.T) {
	dir := t.TempDir()
	files.Copy(t, "../../internal/kustomize/testdata/shop", dir)
	prod := filepath.Join(dir, "overlays/prod")
	// The worker gets a sidecar after it, whose limit changes first and
	// alone: the new patch must not move it before the worker.
	worker := filepath.Join(dir, "base/worker.yaml")
	base, err := os.ReadFile(worker)
	if err != nil {
		t.Fatal(err)
	}
	base = append(base, "      - name: log-shipper\n        image: fluent/fluent-bit:3.0\n        resources:\n          limits:\n            memory: 64Mi\n"...)
	if err := os.WriteFile(worker, base, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"deployment/prod-api", "--memory-limit", "400Mi"},
		{"deployment/prod-worker", "-c", "log-shipper", "--memory-limit", "96Mi"},
		{"deployment/prod-worker", "-c", "worker", "--memory-limit", "2Gi", "--memory-request", "512Mi"},
	} {
		r := oomdoctor(t, append([]string{"fix", "-k", prod, "--write"}, args...)...)
		if r.code != 0 {
			t.Fatalf("fix -k %s:\n%s", strings.Join(args, " "), r)
		}
	}
	if after, _ := os.ReadFile(worker); string(after) != string(base) {
		t.Error("the base, shared by other overlays, changed")
	}
	out, err := exec.Command(kubectlBinary(t), "--kubeconfig", cp.Kubeconfig, "apply", "-k", prod, "--dry-run=server", "-o", "yaml").Output()
	if err != nil {
		t.Fatalf("kubectl apply -k --dry-run=server: %v\n%s", err, out)
	}
	var list struct {
		Items []struct {
			Kind     string
			Metadata struct{ Name, Namespace string }
			Data     map[string]string
			Spec     struct {
				Template struct {
					Spec struct {
						Containers []struct {
							Name      string
							Resources struct{ Requests, Limits map[string]string }
						}
					}
				}
			}
		}
	}
	if err := yaml.Unmarshal(out, &list); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	seen := map[string]bool{}
	for _, o := range list.Items {
		switch {
		case o.Kind == "Deployment" && o.Metadata.Name == "prod-api":
			seen["api"] = true
			if got := o.Spec.Template.Spec.Containers[0].Resources.Limits["memory"]; got != "400Mi" {
				t.Errorf("the server stored prod-api's limit as %s, want 400Mi", got)
			}
		case o.Kind == "Deployment" && o.Metadata.Name == "prod-worker":
			seen["worker"] = true
			cs := o.Spec.Template.Spec.Containers
			if len(cs) != 2 || cs[0].Name != "worker" || cs[1].Name != "log-shipper" {
				t.Fatalf("the server stored prod-worker's containers as %v, want worker then log-shipper", cs)
			}
			if res := cs[0].Resources; res.Limits["memory"] != "2Gi" || res.Requests["memory"] != "512Mi" {
				t.Errorf("the server stored prod-worker's memory as %v / %v, want 512Mi / 2Gi", res.Requests, res.Limits)
			}
			if got := cs[1].Resources.Limits["memory"]; got != "96Mi" {
				t.Errorf("the server stored the log-shipper's limit as %s, want 96Mi", got)
			}
		case o.Kind == "ConfigMap" && strings.HasPrefix(o.Metadata.Name, "prod-api-env-"):
			seen["env"] = true
			if opts := o.Data["JAVA_OPTS"]; !strings.Contains(opts, "-Xmx") || strings.Contains(opts, "-Xmx512m") {
				t.Errorf("JAVA_OPTS %q: want a heap for the limit of 400Mi, not the old -Xmx512m", opts)
			}
		}
		if o.Metadata.Namespace != "shop" {
			t.Errorf("%s %s in namespace %q, want the overlay's shop", o.Kind, o.Metadata.Name, o.Metadata.Namespace)
		}
	}
	if len(seen) != 3 {
		t.Errorf("the server's answer holds %v of the api, the worker and the api's env:\n%s", seen, out)
	}
}
