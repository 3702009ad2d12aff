//go:build linux

// Package agent is the node agent: it watches every container's memory
// cgroup for OOM kills (v1: an eventfd on memory.oom_control per cgroup;
// v2: inotify on memory.events), reads the kernel's OOM reports from
// /dev/kmsg, puts the two together so that every kill is counted once and
// told with its victim, scope and memory breakdown, ties the cgroup to its
// pod and container, and hands each kill to sinks: Prometheus metrics,
// Kubernetes Events, a log line.
package agent

import (
	"github.com/oomdoctor/oomdoctor/internal/model"
)

// Kill is one kernel OOM kill as the agent saw it (the record is in
// package model, so that analysis can read it from the agent's Events).
type Kill = model.KernelKill

// Sink receives every kill once.
type Sink interface {
	Kill(k *Kill)
}

// SinkFunc adapts a function.
type SinkFunc func(k *Kill)

// Kill implements Sink.
func (f SinkFunc) Kill(k *Kill) { f(k) }
