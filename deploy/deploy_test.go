// Package deploy holds the agent's Helm chart and plain manifests; its
// tests lint and render the chart with a real helm and check what it
// renders.
package deploy

import (
	"bytes"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"

	"github.com/oomdoctor/oomdoctor/test/cluster"
)

const chart = "helm/oomdoctor-agent"

func helm(t *testing.T, args ...string) string {
	t.Helper()
	bin, err := cluster.Helm()
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("helm %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errOut.String())
	}
	return out.String()
}

// docs splits rendered YAML into objects by kind.
func docs(t *testing.T, rendered string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, d := range strings.Split(rendered, "\n---") {
		var meta struct{ Kind string }
		if err := yaml.Unmarshal([]byte(d), &meta); err != nil {
			t.Fatalf("%v\n%s", err, d)
		}
		if meta.Kind != "" {
			out[meta.Kind] = []byte(d)
		}
	}
	return out
}

func TestChartLints(t *testing.T) {
	for _, set := range []string{"", "cgroup.recursiveReadOnly=IfPossible,podMonitor.enabled=true,events=false", "kernelLog=false", "kernelLogSource=device"} {
		args := []string{"lint", "--strict", chart}
		if set != "" {
			args = append(args, "--set", set)
		}
		if out := helm(t, args...); !strings.Contains(out, "0 chart(s) failed") {
			t.Errorf("helm lint %s:\n%s", set, out)
		}
	}
}

// TestChartRendersTheDaemonSet checks the default rendering: the kernel
// log read through syslog(2) with CAP_SYSLOG alone, not privileged (the
// end-to-end test TestAgentDaemonSet runs it on a real kubelet), and
// otherwise as little as it needs.
func TestChartRendersTheDaemonSet(t *testing.T) {
	objs := docs(t, helm(t, "template", "oomdoctor-agent", chart, "--namespace", "oomdoctor"))
	var ds appsv1.DaemonSet
	if err := yaml.UnmarshalStrict(objs["DaemonSet"], &ds); err != nil {
		t.Fatalf("the DaemonSet does not decode strictly: %v", err)
	}
	spec := ds.Spec.Template.Spec
	if !spec.HostPID || spec.PriorityClassName != "system-node-critical" || len(spec.Containers) != 1 {
		t.Errorf("pod spec: hostPID %v, priority %q, %d containers", spec.HostPID, spec.PriorityClassName, len(spec.Containers))
	}
	c := spec.Containers[0]
	unprivileged(t, c.SecurityContext, "SYSLOG")
	for _, m := range c.VolumeMounts {
		if !m.ReadOnly {
			t.Errorf("mount %s is writable", m.Name)
		}
	}
	hostPaths := map[string]corev1.HostPathType{}
	for _, v := range spec.Volumes {
		if v.HostPath == nil {
			t.Errorf("volume %s is not a hostPath", v.Name)
			continue
		}
		hostPaths[v.HostPath.Path] = *v.HostPath.Type
	}
	if len(hostPaths) != 1 || hostPaths["/sys/fs/cgroup"] != corev1.HostPathDirectory {
		t.Errorf("host paths %v, want only the cgroup root", hostPaths)
	}
	if c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() || c.Resources.Requests.Cpu().IsZero() {
		t.Errorf("resources %+v", c.Resources)
	}
	if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" || c.LivenessProbe == nil || c.LivenessProbe.HTTPGet.Path != "/healthz" {
		t.Error("probes")
	}
	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		env[e.Name] = e
	}
	if n := env["NODE_NAME"]; n.ValueFrom == nil || n.ValueFrom.FieldRef.FieldPath != "spec.nodeName" || env["GOMEMLIMIT"].Value != "48MiB" {
		t.Errorf("env %+v", c.Env)
	}
	if !strings.HasSuffix(c.Image, "oomdoctor-agent:0.1.0") {
		t.Errorf("image %s", c.Image)
	}
	args := strings.Join(c.Args, " ")
	for _, want := range []string{"--root=/host", "--kmsg=syslog", "--listen=:9710"} {
		if !strings.Contains(args, want) {
			t.Errorf("args %q lack %q", args, want)
		}
	}
	if len(spec.Tolerations) != 1 || spec.Tolerations[0].Operator != corev1.TolerationOpExists {
		t.Errorf("tolerations %+v: the agent must run on every node", spec.Tolerations)
	}

	var role rbacv1.ClusterRole
	if err := yaml.UnmarshalStrict(objs["ClusterRole"], &role); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range role.Rules {
		for _, res := range r.Resources {
			got[strings.Join(r.APIGroups, ",")+"/"+res] = strings.Join(r.Verbs, ",")
		}
	}
	want := map[string]string{"/pods": "get,list,watch", "/events": "create,patch"}
	if len(got) != len(want) || got["/pods"] != want["/pods"] || got["/events"] != want["/events"] {
		t.Errorf("ClusterRole rules %v, want exactly %v", got, want)
	}
	if _, ok := objs["PodMonitor"]; ok {
		t.Error("a PodMonitor by default")
	}
}

// unprivileged checks a security context with every capability dropped
// but add, no escalation, the runtime's seccomp profile, a read-only root.
func unprivileged(t *testing.T, sc *corev1.SecurityContext, add ...corev1.Capability) {
	t.Helper()
	if sc == nil || sc.Privileged != nil && *sc.Privileged || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.Capabilities == nil || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" || !reflect.DeepEqual(sc.Capabilities.Add, add) ||
		sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault ||
		sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Errorf("security context %+v: want unprivileged, every capability dropped but %v, RuntimeDefault seccomp", sc, add)
	}
}

// renderedDaemonSet is the chart's DaemonSet with the values set, decoded
// strictly.
func renderedDaemonSet(t *testing.T, set string) *appsv1.DaemonSet {
	t.Helper()
	var ds appsv1.DaemonSet
	if err := yaml.UnmarshalStrict(docs(t, helm(t, "template", "x", chart, "--set", set))["DaemonSet"], &ds); err != nil {
		t.Fatal(err)
	}
	return &ds
}

// kernelLogSource=device reads /dev/kmsg, which the device cgroup lets
// only a privileged container open.
func TestChartKernelLogDevice(t *testing.T) {
	spec := renderedDaemonSet(t, "kernelLogSource=device").Spec.Template.Spec
	c := spec.Containers[0]
	sc := c.SecurityContext
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || sc.Privileged == nil || !*sc.Privileged ||
		sc.AllowPrivilegeEscalation != nil || sc.Capabilities != nil {
		t.Errorf("security context %+v: want privileged (for /dev/kmsg) with a read-only root filesystem, nothing that contradicts it", sc)
	}
	if !strings.Contains(strings.Join(c.Args, " "), "--kmsg=/dev/kmsg") {
		t.Errorf("args %v", c.Args)
	}
	mounted := false
	for _, m := range c.VolumeMounts {
		mounted = mounted || m.Name == "kmsg" && m.MountPath == "/dev/kmsg" && m.ReadOnly
	}
	hostPaths := map[string]corev1.HostPathType{}
	for _, v := range spec.Volumes {
		hostPaths[v.HostPath.Path] = *v.HostPath.Type
	}
	if !mounted || len(hostPaths) != 2 || hostPaths["/dev/kmsg"] != corev1.HostPathCharDev {
		t.Errorf("/dev/kmsg mounted %v, host paths %v", mounted, hostPaths)
	}
}

// Without the kernel log the agent needs no capability and no device.
func TestChartWithoutKernelLog(t *testing.T) {
	spec := renderedDaemonSet(t, "kernelLog=false").Spec.Template.Spec
	c := spec.Containers[0]
	unprivileged(t, c.SecurityContext)
	if !strings.Contains(" "+strings.Join(c.Args, " ")+" ", " --kmsg= ") {
		t.Errorf("args %v: want --kmsg= (no kernel log)", c.Args)
	}
	for _, v := range spec.Volumes {
		if v.HostPath != nil && v.HostPath.Path == "/dev/kmsg" {
			t.Error("/dev/kmsg is still mounted")
		}
	}
	for _, m := range c.VolumeMounts {
		if m.Name == "kmsg" {
			t.Error("/dev/kmsg is still mounted")
		}
	}
}

// TestChartRefusesBadValues: a value the chart does not take fails the
// rendering with what to do, rather than rendering something else.
func TestChartRefusesBadValues(t *testing.T) {
	bin, err := cluster.Helm()
	if err != nil {
		t.Fatal(err)
	}
	for set, want := range map[string]string{
		"cgroup.recursiveReadOnly=Always":  "recursiveReadOnly",
		"cgroup.writableForV1Eventfd=true": "cgroup.writableForV1Eventfd is gone: drop it",
		"kernelLog=maybe":                  "kernelLog",
		"kernelLogSource=kmsg":             "kernelLogSource",
	} {
		out, err := exec.Command(bin, "template", "x", chart, "--set", set).CombinedOutput()
		if err == nil || !strings.Contains(string(out), want) {
			t.Errorf("helm template --set %s: %v, want an error naming %q:\n%s", set, err, want, out)
		}
	}
}

func TestChartOptions(t *testing.T) {
	objs := docs(t, helm(t, "template", "x", chart, "--set", "cgroup.recursiveReadOnly=IfPossible,podMonitor.enabled=true,kubeletCgroupRoot=/custom"))
	var ds appsv1.DaemonSet
	if err := yaml.UnmarshalStrict(objs["DaemonSet"], &ds); err != nil {
		t.Fatal(err)
	}
	c := ds.Spec.Template.Spec.Containers[0]
	for _, m := range c.VolumeMounts {
		if m.Name == "cgroup" && (!m.ReadOnly || m.RecursiveReadOnly == nil || *m.RecursiveReadOnly != corev1.RecursiveReadOnlyIfPossible) {
			t.Errorf("cgroup mount %+v: want read-only, recursively if possible", m)
		}
	}
	if !strings.Contains(strings.Join(c.Args, " "), "--kubelet-cgroup-root=/custom") {
		t.Errorf("args %v", c.Args)
	}
	if _, ok := objs["PodMonitor"]; !ok {
		t.Error("no PodMonitor")
	}
}

// deploy/agent holds the chart rendered with its defaults (make manifests).
func TestPlainManifestsMatchTheChart(t *testing.T) {
	want := helm(t, "template", "oomdoctor-agent", chart, "--namespace", "oomdoctor")
	got, err := os.ReadFile("agent/oomdoctor-agent.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(string(got), want) || !strings.Contains(string(got), "kind: Namespace") {
		t.Error("deploy/agent/oomdoctor-agent.yaml is not the chart's rendering: run make manifests")
	}
	// A namespace under Pod Security Admission's baseline or restricted
	// level would refuse the privileged pods.
	var ns corev1.Namespace
	if err := yaml.Unmarshal([]byte(strings.SplitN(string(got), "\n---", 2)[0]), &ns); err != nil {
		t.Fatal(err)
	}
	if ns.Name != "oomdoctor" || ns.Labels["pod-security.kubernetes.io/enforce"] != "privileged" {
		t.Errorf("namespace %s labels %v: want pod-security.kubernetes.io/enforce=privileged", ns.Name, ns.Labels)
	}
}
