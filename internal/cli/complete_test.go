package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// completions runs `oomdoctor __complete ARGS...` as a shell's Tab does and
// returns what it offers and cobra's directive.
func completions(t *testing.T, args ...string) ([]string, string) {
	t.Helper()
	r := run(append([]string{"__complete"}, args...)...)
	if r.code != 0 {
		t.Fatalf("__complete %q: exit %d: %s", args, r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	directive := lines[len(lines)-1]
	if !strings.HasPrefix(directive, ":") {
		t.Fatalf("__complete %q: no directive line:\n%s", args, r.stdout)
	}
	var got []string
	for _, l := range lines[:len(lines)-1] {
		name, _, _ := strings.Cut(l, "\t") // a description follows a tab
		got = append(got, name)
	}
	return got, directive
}

func TestCompletionFromASnapshot(t *testing.T) {
	snap := []string{"--snapshot", exampleSnapshot}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{append(slices.Clone(snap), "explain", "-n", "shop", "red"), []string{"redis-0", "redis-1"}},
		{append(slices.Clone(snap), "explain", "-n", "shop", "cart-7c9d8f6b5-x2kqp/"), []string{"cart-7c9d8f6b5-x2kqp/cart", "cart-7c9d8f6b5-x2kqp/envoy"}},
		{append(slices.Clone(snap), "explain", "-n", "shop", "pod/cart-7c9d8f6b5-x2kqp/e"), []string{"pod/cart-7c9d8f6b5-x2kqp/envoy"}},
		{append(slices.Clone(snap), "explain", "-n", "shop", "deploy/"), []string{"deploy/cart", "deploy/frontend", "deploy/search", "deploy/web"}},
		{append(slices.Clone(snap), "explain", "-n", "shop", "sts/"), []string{"sts/redis"}},
		{append(slices.Clone(snap), "explain", "-n", "shop", "cart-7c9d8f6b5-x2kqp", "-c", ""), []string{"cart", "envoy"}},
		{append(slices.Clone(snap), "explain", "-n", "shop", "cart-7c9d8f6b5-x2kqp", ""), nil}, // one argument only
		{append(slices.Clone(snap), "scan", "-n", "p"), []string{"payments"}},
		{append(slices.Clone(snap), "node", ""), []string{"node-a", "node-b"}},
		{append(slices.Clone(snap), "recommend", "-n", "payments", "cronjob/"), []string{"cronjob/nightly-reconcile"}},
		// recommend's own -n (Prometheus' namespace) is completed too.
		{append(slices.Clone(snap), "recommend", "-n", "s"), []string{"shop"}},
	} {
		got, directive := completions(t, tc.args...)
		if !slices.Equal(got, tc.want) || directive != ":4" { // 4: no file names
			t.Errorf("%q: offered %q (directive %s); want %q (:4)", tc.args, got, directive, tc.want)
		}
	}
}

func TestCompletionOfFlagsAndFiles(t *testing.T) {
	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "config")
	if err := os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters:
- name: prod
  cluster: {server: "https://127.0.0.1:1"}
- name: staging
  cluster: {server: "https://127.0.0.1:2"}
users:
- name: admin
  user: {token: x}
contexts:
- name: prod-admin
  context: {cluster: prod, user: admin}
- name: staging-admin
  context: {cluster: staging, user: admin}
current-context: prod-admin
`), 0o600); err != nil {
		t.Fatal(err)
	}
	manifests := filepath.Join(dir, "app.yaml")
	if err := os.WriteFile(manifests, []byte(`apiVersion: apps/v1
kind: Deployment
metadata: {name: api}
spec:
  template:
    spec:
      containers: [{name: api, image: api}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: worker}
spec:
  template:
    spec:
      containers: [{name: worker, image: worker}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  template:
    spec:
      containers: [{name: db, image: db}]
`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args      []string
		want      []string
		directive string
	}{
		{[]string{"scan", "--kubeconfig", kubeconfig, "--context", ""}, []string{"prod-admin", "staging-admin"}, ":4"},
		{[]string{"scan", "--kubeconfig", kubeconfig, "--cluster", "s"}, []string{"staging"}, ":4"},
		{[]string{"scan", "--kubeconfig", kubeconfig, "--user", ""}, []string{"admin"}, ":4"},
		{[]string{"scan", "-o", ""}, []string{"json", "table", "wide", "yaml"}, ":4"},
		{[]string{"recommend", "-o", "w"}, []string{"wide"}, ":4"},
		{[]string{"lint", "-o", "s"}, []string{"sarif"}, ":4"},
		{[]string{"recommend", "--strategy", "peak"}, []string{"peak-1.5x", "peak-2x"}, ":4"},
		{[]string{"replay", "--prometheus-service", ""}, []string{"auto"}, ":4"},
		{[]string{"snapshot", "-o", ""}, nil, ":16"}, // 16: folders
		// A TYPE first, the space held back (4 | 2), then the names of
		// the files' workloads of that kind, those given already left out.
		{[]string{"fix", "-f", manifests, "--memory-limit", "1Gi", "d"}, []string{"deployment/", "daemonset/"}, ":6"},
		{[]string{"fix", "-f", manifests, "--memory-limit", "1Gi", "deployment/"}, []string{"deployment/api", "deployment/worker"}, ":4"},
		{[]string{"fix", "-f", manifests, "--memory-limit", "1Gi", "deployment/api", "deploy/"}, []string{"deploy/api", "deploy/worker"}, ":4"},
		{[]string{"fix", "-f", manifests, "--memory-limit", "1Gi", "deployment/api", "deployment/"}, []string{"deployment/worker"}, ":4"},
		{[]string{"fix", "-f", manifests, "--memory-limit", "1Gi", "sts/"}, []string{"sts/db"}, ":4"},
		// A kustomization's names need a build: none offered.
		{[]string{"fix", "-k", dir, "--memory-limit", "1Gi", "deployment/"}, nil, ":4"},
		// No cluster to ask: nothing, not an error.
		{[]string{"explain", "--kubeconfig", kubeconfig, "-n", "shop", ""}, nil, ":4"},
	} {
		got, directive := completions(t, tc.args...)
		if !slices.Equal(got, tc.want) || directive != tc.directive {
			t.Errorf("%q: offered %q (directive %s); want %q (%s)", tc.args, got, directive, tc.want, tc.directive)
		}
	}
}

// kubectl runs kubectl_complete-oomdoctor with the words after `kubectl
// oomdoctor`; the binary under that name answers as __complete.
func TestKubectlCompletesThePlugin(t *testing.T) {
	var out, errOut strings.Builder
	code := Main(t.Context(), "/usr/local/bin/kubectl_complete-oomdoctor", []string{"explain", "--snapshot", exampleSnapshot, "-n", "shop", "red"},
		genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
	if code != 0 || out.String() != "redis-0\nredis-1\n:4\n" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out.String(), errOut.String())
	}
}

// The -o values completion offers are those each command's help names.
func TestCompletedFormatsAreTheCommandsOwn(t *testing.T) {
	root := newRootCommand(genericiooptions.IOStreams{In: strings.NewReader(""), Out: &strings.Builder{}, ErrOut: &strings.Builder{}}, "oomdoctor", nil)
	for name, formats := range outputFormats {
		cmd, _, err := root.Find([]string{name})
		if err != nil || cmd.Name() != name {
			t.Errorf("no command %s: %v", name, err)
			continue
		}
		usage := cmd.Flags().Lookup("output").Usage
		for _, f := range formats {
			if !regexp.MustCompile(`\b` + f + `\b`).MatchString(usage) {
				t.Errorf("%s -o: completion offers %s, its help says %q", name, f, usage)
			}
		}
	}
}
