package nodecheck

import (
	"errors"
	"fmt"
	"os"
	"strings"

	kubeletv1beta1 "k8s.io/kubelet/config/v1beta1"
	"sigs.k8s.io/yaml"
)

type kubeletConfig = kubeletv1beta1.KubeletConfiguration

// kubeletConfigPaths are where kubeadm and the usual installers put it.
var kubeletConfigPaths = []string{"/var/lib/kubelet/config.yaml", "/etc/kubernetes/kubelet-config.yaml", "/etc/kubernetes/kubelet.conf.yaml"}

// readKubeletConfig reads the kubelet's config file; (nil, nil) when there
// is none in the usual places.
func readKubeletConfig(h Host) (*kubeletConfig, error) {
	paths := kubeletConfigPaths
	if h.KubeletConfig != "" {
		paths = []string{h.KubeletConfig}
	}
	for _, p := range paths {
		full := p
		if h.KubeletConfig == "" {
			full = h.path(p)
		}
		data, err := os.ReadFile(full)
		if errors.Is(err, os.ErrNotExist) && h.KubeletConfig == "" {
			continue
		}
		if err != nil {
			return nil, err
		}
		var c kubeletConfig
		if err := yaml.Unmarshal(data, &c); err != nil {
			return nil, fmt.Errorf("%s: %v", full, err)
		}
		if c.Kind != "" && c.Kind != "KubeletConfiguration" {
			return nil, fmt.Errorf("%s is a %s, not a KubeletConfiguration", full, c.Kind)
		}
		c.TypeMeta.APIVersion = full // remembered for evidence
		return &c, nil
	}
	return nil, nil
}

func init() {
	registerLocal("kubelet-config", func(l *local) []Result {
		if l.kubeletErr != nil {
			return []Result{{Status: Warn, Summary: "the kubelet config could not be read", Evidence: []string{l.kubeletErr.Error()},
				Advice: "Pass the file with --kubelet-config (the kubelet's --config flag names it)."}}
		}
		k := l.kubelet
		if k == nil {
			return []Result{{Status: Info, Summary: "no kubelet config found",
				Evidence: []string{"looked at " + strings.Join(kubeletConfigPaths, ", ") + " under " + l.Root},
				Advice:   "Pass the file with --kubelet-config to check eviction thresholds, reserved memory and OOM settings."}}
		}
		file := k.TypeMeta.APIVersion
		var out []Result
		add := func(id string, s Status, summary, advice string, ev ...string) {
			out = append(out, Result{ID: id, Status: s, Summary: summary, Advice: advice, Evidence: append([]string{"from " + file}, ev...)})
		}

		// Eviction: the kubelet's defense before the kernel's.
		evictionChecks(l, add)

		// Reserved memory: without it the pods may take what the system needs.
		sys, kube := k.SystemReserved["memory"], k.KubeReserved["memory"]
		if sys == "" && kube == "" {
			add("kubelet-reserved", Warn, "no memory reserved for the system or the kubelet",
				"Allocatable is capacity minus the eviction threshold only: the scheduler may fill the node while the kernel, systemd, the runtime and the kubelet need memory too, and a node-level OOM kill follows. Set systemReserved and kubeReserved memory (for example 500Mi and 1Gi, more on large nodes).",
				"systemReserved.memory and kubeReserved.memory: not set")
		} else {
			add("kubelet-reserved", Pass, fmt.Sprintf("memory reserved: system %s, kube %s", orNone(sys), orNone(kube)), "")
		}
		if k.EnforceNodeAllocatable != nil && len(k.EnforceNodeAllocatable) == 0 {
			add("kubelet-node-allocatable", Warn, "node allocatable is not enforced",
				"enforceNodeAllocatable is empty: the kubepods cgroup has no memory limit, so pods together can use the whole machine and the OOM kill that ends it is system-wide. Keep the default [\"pods\"].",
				"enforceNodeAllocatable: []")
		}

		// How the kernel's kill reaches a container.
		if k.SingleProcessOOMKill != nil && *k.SingleProcessOOMKill && l.cgroupVersion == 2 {
			add("kubelet-single-process-oom-kill", Warn, "singleProcessOOMKill is true: an OOM kill takes one process, not the container",
				"A child process can be killed while PID 1 runs on; the pod status then shows nothing. Run the oomdoctor agent to see those kills, or leave singleProcessOOMKill unset (false on cgroup v2).",
				"singleProcessOOMKill: true")
		}

		// cgroup v1 hosts and the kubelet's refusal.
		if l.cgroupVersion == 1 {
			if k.FailCgroupV1 == nil || *k.FailCgroupV1 {
				add("kubelet-cgroup-v1", Fail, "the kubelet is set to refuse cgroup v1 and this host is on v1",
					"failCgroupV1 defaults to true since Kubernetes 1.35: the kubelet will not start here. Move the node to cgroup v2, or set failCgroupV1: false for now.",
					fmt.Sprintf("failCgroupV1: %s", boolOr(k.FailCgroupV1, "not set (true)")))
			} else {
				add("kubelet-cgroup-v1", Info, "the kubelet runs on cgroup v1 with failCgroupV1: false",
					"cgroup v1 support is in maintenance mode in Kubernetes; plan the move to v2.", "failCgroupV1: false")
			}
		}
		return out
	})
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func boolOr(b *bool, none string) string {
	if b == nil {
		return none
	}
	return fmt.Sprint(*b)
}
