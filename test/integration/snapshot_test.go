package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oomdoctor/oomdoctor/internal/model"
	"github.com/oomdoctor/oomdoctor/internal/source/snapshot"
)

// findingsJSON is the findings part of a report, which must not depend on
// whether it came from the cluster or a snapshot of it.
func findingsJSON(t *testing.T, rep *model.ScanReport) string {
	t.Helper()
	b, err := json.MarshalIndent(struct {
		W []model.WorkloadFindings
		S model.ScanSummary
	}{rep.Workloads, rep.Summary}, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// withoutDiagnosis drops the causes, for comparing with a source that
// lacks what diagnosis reads (kubectl's output has no nodes).
func withoutDiagnosis(rep *model.ScanReport) *model.ScanReport {
	for i := range rep.Workloads {
		for j := range rep.Workloads[i].Findings {
			rep.Workloads[i].Findings[j].Causes, rep.Workloads[i].Findings[j].Undecided = nil, nil
		}
	}
	return rep
}

func TestSnapshotAnswersLikeTheCluster(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "bundle")
	r := oomdoctor(t, "snapshot", "--kubeconfig", cp.Kubeconfig, "-o", dir)
	if r.code != 0 {
		t.Fatal(r)
	}
	if !strings.Contains(r.stderr, "16 pods") {
		t.Errorf("snapshot should say what it wrote: %s", r.stderr)
	}
	for _, f := range []string{"pods.json", "events.json", "nodes.json", "limitranges.json", "resourcequotas.json", "deployments.json", "replicasets.json", "statefulsets.json", "daemonsets.json", "jobs.json", "cronjobs.json", "horizontalpodautoscalers.json", "verticalpodautoscalers.json", snapshot.InfoFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("snapshot lacks %s: %v", f, err)
		}
	}
	live := scanJSON(t, "--kubeconfig", cp.Kubeconfig)
	offline := scanJSON(t, "--snapshot", dir)
	// The fix commands of the live scan name the cluster it read; the
	// snapshot's, read offline, name none.
	named := 0
	for i := range live.Workloads {
		for j := range live.Workloads[i].Findings {
			for k := range live.Workloads[i].Findings[j].Causes {
				fx := &live.Workloads[i].Findings[j].Causes[k].Fix
				if cmd, ok := strings.CutSuffix(fx.Command, " --kubeconfig "+cp.Kubeconfig); ok {
					fx.Command = cmd
					named++
				} else if fx.Command != "" {
					t.Errorf("a live fix command without the --kubeconfig given: %s", fx.Command)
				}
			}
		}
	}
	if named == 0 {
		t.Error("no fix command in the live scan")
	}
	if a, b := findingsJSON(t, live), findingsJSON(t, offline); a != b {
		t.Errorf("the snapshot's findings differ from the cluster's\nlive:\n%s\nsnapshot:\n%s", a, b)
	}
	if offline.Metadata.Source.Type != "snapshot" || offline.Metadata.Source.Server != cp.URL || offline.Metadata.AsOf.IsZero() {
		t.Errorf("snapshot source metadata: %+v asOf %v", offline.Metadata.Source, offline.Metadata.AsOf)
	}

	// A second snapshot into the same folder replaces the first.
	if r := oomdoctor(t, "snapshot", "--kubeconfig", cp.Kubeconfig, "-n", "shop", "-o", dir); r.code != 0 {
		t.Fatal(r)
	}
	shop := scanJSON(t, "--snapshot", dir)
	for _, g := range shop.Workloads {
		for _, f := range g.Findings {
			if f.Namespace != "shop" && f.Namespace != "" {
				t.Errorf("a snapshot of shop has a finding in %s", f.Namespace)
			}
		}
	}

	// A folder of the user's is never written into.
	mine := t.TempDir()
	if err := os.WriteFile(filepath.Join(mine, "notes.txt"), []byte("mine"), 0o600); err != nil {
		t.Fatal(err)
	}
	r = oomdoctor(t, "snapshot", "--kubeconfig", cp.Kubeconfig, "-o", mine)
	if r.code != 2 || !strings.Contains(r.stderr, "not empty") {
		t.Errorf("snapshot into a folder with other files: want exit 2: %s", r)
	}
	if entries, _ := os.ReadDir(mine); len(entries) != 1 {
		t.Errorf("snapshot wrote into the user's folder: %v", entries)
	}
}

func TestScanKubectlOutput(t *testing.T) {
	// What a user makes by hand: kubectl get pods,events -A -o json.
	kubectl := kubectlBinary(t)
	out, err := runCmd(kubectl, "--kubeconfig", cp.Kubeconfig, "get", "pods,events,replicasets,jobs", "-A", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "cluster.json")
	if err := os.WriteFile(file, out, 0o600); err != nil {
		t.Fatal(err)
	}
	// kubectl's files have no nodes: the causes that need them differ.
	fromKubectl := withoutDiagnosis(scanJSON(t, "--snapshot", file))
	live := withoutDiagnosis(scanJSON(t, "--kubeconfig", cp.Kubeconfig))
	if a, b := findingsJSON(t, live), findingsJSON(t, fromKubectl); a != b {
		t.Errorf("findings from kubectl's output differ from the cluster's\nlive:\n%s\nkubectl:\n%s", a, b)
	}
	// The same as YAML.
	out, err = runCmd(kubectl, "--kubeconfig", cp.Kubeconfig, "get", "pods,events,replicasets,jobs", "-A", "-o", "yaml")
	if err != nil {
		t.Fatal(err)
	}
	yamlFile := filepath.Join(t.TempDir(), "cluster.yaml")
	if err := os.WriteFile(yamlFile, out, 0o600); err != nil {
		t.Fatal(err)
	}
	if a, b := findingsJSON(t, live), findingsJSON(t, withoutDiagnosis(scanJSON(t, "--snapshot", yamlFile))); a != b {
		t.Errorf("findings from kubectl's YAML differ from the cluster's")
	}
}
