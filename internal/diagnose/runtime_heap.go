package diagnose

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/oomdoctor/oomdoctor/internal/manifest"
	"github.com/oomdoctor/oomdoctor/internal/model"
	"github.com/oomdoctor/oomdoctor/internal/runtimes"
)

// runtimeHeap fires when the container's JVM, Go, Node.js or .NET runtime
// has a heap setting that does not fit the limit, by the rule lint and fix
// use (package runtimes), or a JVM too old to read the limit at all; or
// when its Redis or Memcached data size does not (Runtime redis,
// memcached). Flags are read from command, args and the environment,
// including values from ConfigMaps.
type runtimeHeap struct{}

func init() { register(runtimeHeap{}) }

func (runtimeHeap) ID() model.CauseID { return model.CauseRuntimeHeap }

// runtime inspects the finding's container (Runtime Unknown when the spec
// is not known).
func (in *Input) runtime() runtimes.Info {
	c := in.container()
	if c == nil {
		return runtimes.Info{}
	}
	return RuntimeOf(c, in.ConfigMaps)
}

// RuntimeOf inspects a container spec: its runtime and heap settings, with
// the env it takes from the ConfigMaps given (by name; those missing are
// left out).
func RuntimeOf(c *corev1.Container, cms map[string]*corev1.ConfigMap) runtimes.Info {
	return runtimes.Inspect(inspected(c, cms))
}

// server inspects the finding's container for Redis or Memcached
// (NoServer when the spec is not known).
func (in *Input) server() runtimes.ServerInfo {
	c := in.container()
	if c == nil {
		return runtimes.ServerInfo{}
	}
	rc := inspected(c, in.ConfigMaps)
	if in.Pod != nil {
		rc.Files = mountedFiles(c, in.Pod.Spec.Volumes, in.ConfigMaps)
	}
	return runtimes.InspectServer(rc)
}

// mountedFiles are the files the container sees from the ConfigMaps given
// mounted in it, by path: a server's config file.
func mountedFiles(c *corev1.Container, vols []corev1.Volume, cms map[string]*corev1.ConfigMap) map[string]runtimes.File {
	var out map[string]runtimes.File
	for _, m := range c.VolumeMounts {
		for _, v := range vols {
			if v.Name != m.Name {
				continue
			}
			for _, cm := range manifest.VolumeConfigMaps(v) {
				if cms[cm.Name] != nil {
					out = runtimes.Mounted(out, cm.Name, cms[cm.Name].Data, cm.Items, m.MountPath, m.SubPath)
				}
			}
		}
	}
	return out
}

// inspected is a container spec as package runtimes reads it, with the env
// it takes from the ConfigMaps given.
func inspected(c *corev1.Container, cms map[string]*corev1.ConfigMap) runtimes.Container {
	rc := runtimes.Container{Image: c.Image, Command: c.Command, Args: c.Args}
	for _, ef := range c.EnvFrom {
		if ef.ConfigMapRef == nil {
			continue
		}
		if cm := cms[ef.ConfigMapRef.Name]; cm != nil {
			for k, v := range cm.Data {
				rc.Env = append(rc.Env, runtimes.Env{Name: ef.Prefix + k, Value: v, Path: "configmap " + cm.Name})
			}
		}
	}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			rc.Env = append(rc.Env, runtimes.Env{Name: e.Name, Value: e.Value})
		case e.ValueFrom.ResourceFieldRef != nil:
			ref := e.ValueFrom.ResourceFieldRef
			d := ""
			if !ref.Divisor.IsZero() {
				d = ref.Divisor.String()
			}
			rc.Env = append(rc.Env, runtimes.Env{Name: e.Name, ResourceField: ref.Resource, Divisor: d})
		case e.ValueFrom.ConfigMapKeyRef != nil:
			ref := e.ValueFrom.ConfigMapKeyRef
			if cm := cms[ref.Name]; cm != nil {
				if v, ok := cm.Data[ref.Key]; ok {
					rc.Env = append(rc.Env, runtimes.Env{Name: e.Name, Value: v, Path: "configmap " + ref.Name + " key " + ref.Key})
				}
			}
		}
	}
	return rc
}

// unresolvedEnv names env entries from ConfigMaps that were not read.
func (in *Input) unresolvedEnv() []string {
	c := in.container()
	if c == nil {
		return nil
	}
	var out []string
	for _, ef := range c.EnvFrom {
		if ef.ConfigMapRef != nil && in.ConfigMaps[ef.ConfigMapRef.Name] == nil {
			out = append(out, "envFrom configmap "+ef.ConfigMapRef.Name)
		}
	}
	for _, e := range c.Env {
		if e.ValueFrom != nil && e.ValueFrom.ConfigMapKeyRef != nil && in.ConfigMaps[e.ValueFrom.ConfigMapKeyRef.Name] == nil {
			out = append(out, e.Name+" from configmap "+e.ValueFrom.ConfigMapKeyRef.Name)
		}
	}
	return out
}

func (d runtimeHeap) Detect(in *Input) (*model.Cause, string) {
	if in.Finding.Type == model.NotOOM || in.Finding.Type == model.Eviction {
		return nil, ""
	}
	if in.container() == nil {
		return nil, "the pod's spec (the pod is gone: a snapshot taken while it ran, or its workload's manifest through oomdoctor lint)"
	}
	limit := int64(in.limit())
	if srv := in.server(); srv.Server != runtimes.NoServer && limit > 0 {
		c := d.server(srv, limit, in)
		if c != nil {
			c.Runtime = string(srv.Server)
			c.Evidence = append([]model.Evidence{{What: "server", Value: fmt.Sprintf("%s (%s)", srv.Server, srv.Why), Source: "pod spec"}}, c.Evidence...)
		}
		return c, ""
	}
	info := in.runtime()
	if info.Runtime == runtimes.Unknown || limit <= 0 {
		return nil, ""
	}
	missing := in.unresolvedEnv()
	c := d.judge(in, info, limit)
	if c == nil && len(missing) > 0 {
		return nil, fmt.Sprintf("the ConfigMaps its environment comes from (%s): grant list on configmaps, or take a snapshot that holds them", strings.Join(missing, ", "))
	}
	if c != nil {
		c.Runtime = string(info.Runtime)
		c.Evidence = append([]model.Evidence{{What: "runtime", Value: fmt.Sprintf("%s (%s)", info.Runtime, info.Why), Source: "pod spec"}}, c.Evidence...)
	}
	return c, ""
}

func (d runtimeHeap) judge(in *Input, info runtimes.Info, limit int64) *model.Cause {
	lim := float64(limit)
	where := func(s *runtimes.Setting) string {
		if s.Path != "" && strings.HasPrefix(s.Path, "configmap ") {
			return "in " + s.Source + ", from " + s.Path
		}
		return "in " + s.Source
	}
	fit := runtimes.FitHeap(info.Runtime, limit)
	switch info.Runtime {
	case runtimes.JVM:
		if info.ContainerSupportOff != nil {
			c := &model.Cause{Confidence: model.High, ConfidenceWhy: "the flag is in the spec",
				Summary:  fmt.Sprintf("The JVM runs with %s: it sizes its heap from the node's memory, not the %s limit.", info.ContainerSupportOff.Flag, size(lim)),
				Evidence: []model.Evidence{{What: "JVM flag", Value: info.ContainerSupportOff.Flag + " " + where(info.ContainerSupportOff), Source: "pod spec"}},
				Fix:      model.Fix{Text: fmt.Sprintf("Remove %s and set the heap: %s.", info.ContainerSupportOff.Flag, runtimes.JVMSizeFlag(fit)), Flag: runtimes.JVMSizeFlag(fit)}}
			d.noHeapFix(in, info, &c.Fix)
			return c
		}
		// Without -Xmx, -Xms raises the maximum heap to itself.
		heap := runtimes.EffectiveJVMHeap(info, limit)
		set, fitFlag, fromXms := runtimes.JVMHeapSetting(info, limit)
		if set == nil {
			switch info.JDK.Cgroups() {
			case runtimes.SupportNone:
				c := &model.Cause{Confidence: model.Medium, ConfidenceWhy: "the JDK version comes from the image tag",
					Summary:  fmt.Sprintf("The image's JDK (%s) does not read container memory limits: with no -Xmx it sizes the heap from the node's memory, far above the %s limit.", info.JDK, size(lim)),
					Evidence: []model.Evidence{{What: "JDK", Value: info.JDK.String() + " (" + info.Why + ")", Source: "pod spec"}},
					Fix:      model.Fix{Text: fmt.Sprintf("Set the heap explicitly (%s in JAVA_TOOL_OPTIONS) or move to a JDK that reads cgroups (8u372+, 11.0.16+, 17+).", runtimes.JVMSizeFlag(fit)), Flag: runtimes.JVMSizeFlag(fit)}}
				d.noHeapFix(in, info, &c.Fix)
				return c
			case runtimes.SupportV1:
				c := &model.Cause{Confidence: model.Low, ConfidenceWhy: "it matters only on cgroup v2 nodes (oomdoctor node tells a node's version)",
					Summary:  fmt.Sprintf("The image's JDK (%s) reads only cgroup v1 limits: on a cgroup v2 node it sizes the heap from the node's memory, above the %s limit.", info.JDK, size(lim)),
					Evidence: []model.Evidence{{What: "JDK", Value: info.JDK.String() + " (" + info.Why + ")", Source: "pod spec"}},
					Fix:      model.Fix{Text: fmt.Sprintf("Set the heap explicitly (%s) or move to 8u372+, 11.0.16+ or 17+.", runtimes.JVMSizeFlag(fit)), Flag: runtimes.JVMSizeFlag(fit)}}
				d.noHeapFix(in, info, &c.Fix)
				return c
			}
			return d.stacks(info, runtimes.EffectiveJVMHeap(info, limit), limit, where)
		}
		v := runtimes.JudgeHeap(runtimes.JVM, heap, limit)
		if v == runtimes.HeapFits {
			return d.stacks(info, heap, limit, where)
		}
		how := ""
		if fromXms {
			how = ", with no -Xmx: the JVM raises its maximum heap to the initial one"
		}
		c := &model.Cause{
			Summary:  fmt.Sprintf("The JVM heap %s (%s%s) is %s of the %s limit: metaspace, code cache, thread stacks, GC and direct buffers do not fit beside it, so the kernel kills the JVM before it can throw OutOfMemoryError.", size(float64(heap)), set.Flag, how, pct(float64(heap), lim), size(lim)),
			Evidence: []model.Evidence{{What: "JVM heap setting", Value: fmt.Sprintf("%s %s = %s (%s of the limit)", set.Flag, where(set), size(float64(heap)), pct(float64(heap), lim)), Source: "pod spec"}},
			Fix:      model.Fix{Text: fmt.Sprintf("Lower the heap to %s (75%% of the limit, at least 128Mi below it), or raise the limit so the heap is at most 75%% of it.", runtimes.JVMSizeFlag(fit)), Flag: fitFlag},
		}
		switch {
		case fromXms:
			c.Fix.Text = fmt.Sprintf("Lower the initial heap to %s (or set -Xmx to %s), or raise the limit.", c.Fix.Flag, runtimes.JVMSizeFlag(fit))
		case info.HeapPercent > 0 && info.HeapBytes == 0:
			c.Fix.Text = fmt.Sprintf("Lower the heap to %s, or raise the limit.", c.Fix.Flag)
		}
		lintFix(in, &c.Fix, fromConfigMap(set))
		if v == runtimes.HeapTooBig {
			c.Confidence, c.ConfidenceWhy = model.High, "a heap at 90% of the limit or closer than 64Mi to it leaves the rest of the JVM no room: a kill is close to certain"
		} else {
			c.Confidence, c.ConfidenceWhy = model.Medium, "a heap above 75% of the limit leaves the JVM little room: under load the rest of it pushes the container over"
		}
		if info.Stack != nil {
			c.Evidence = append(c.Evidence, model.Evidence{What: "JVM thread stacks", Value: fmt.Sprintf("%s %s: %s a thread, %s for %d threads", info.Stack.Flag, where(info.Stack), size(float64(info.StackBytes)), size(float64(assumedThreads*info.StackBytes)), assumedThreads), Source: "pod spec"})
		}
		return c
	case runtimes.Go:
		if info.GoMemLimitSet != nil && info.GoMemLimit > 0 && float64(info.GoMemLimit) > runtimes.GoMemLimitShare*lim {
			c := &model.Cause{Confidence: model.High, ConfidenceWhy: "GOMEMLIMIT is in the spec",
				Summary:  fmt.Sprintf("GOMEMLIMIT %s is %s of the %s limit: the Go runtime lets the heap grow past what the container may use before it collects hard.", size(float64(info.GoMemLimit)), pct(float64(info.GoMemLimit), lim), size(lim)),
				Evidence: []model.Evidence{{What: "GOMEMLIMIT", Value: fmt.Sprintf("%s %s (%s of the limit)", info.GoMemLimitSet.Value, where(info.GoMemLimitSet), pct(float64(info.GoMemLimit), lim)), Source: "pod spec"}},
				Fix:      model.Fix{Text: "Set GOMEMLIMIT to 90% of the limit.", Flag: runtimes.HeapFlag(info, limit)}}
			if float64(info.GoMemLimit) > goMemLimitLinted*lim { // lint's go-memlimit-above-limit
				lintFix(in, &c.Fix, fromConfigMap(info.GoMemLimitSet))
			}
			return c
		}
		if f := info.GoMemLimitFrom; f != nil {
			// The downward API: the limit itself (divisor 1) leaves the
			// GC no room; with a divisor Go reads a bare number of bytes
			// and collects all the time, which keeps memory low.
			if info.GoMemLimitFor(limit) != limit {
				return nil
			}
			return &model.Cause{Confidence: model.High, ConfidenceWhy: "GOMEMLIMIT is in the spec",
				Summary:  fmt.Sprintf("GOMEMLIMIT comes from the limit itself (the downward API's %s): 100%% of the %s limit, so the Go runtime lets the heap grow to all the container may use before it collects hard.", f.Resource, size(lim)),
				Evidence: []model.Evidence{{What: "GOMEMLIMIT", Value: "valueFrom.resourceFieldRef " + f.Resource + " (100% of the limit)", Source: "pod spec"}},
				Fix:      model.Fix{Text: "Set GOMEMLIMIT to 90% of the limit, as a value in place of the resourceFieldRef.", Flag: runtimes.HeapFlag(info, limit)}}
		}
		if info.GoMemLimitSet == nil {
			c := &model.Cause{Confidence: model.Low, ConfidenceWhy: "a missing GOMEMLIMIT only kills when the live heap is over about half the limit; usage history shows whether it is",
				Summary:  fmt.Sprintf("The Go program runs without GOMEMLIMIT: the runtime never reads the %s limit and lets the heap reach twice the live heap (GOGC=%s) before collecting.", size(lim), orDefault(info.GOGC, "100")),
				Evidence: []model.Evidence{{What: "GOMEMLIMIT", Value: "not set (" + info.Why + ")", Source: "pod spec"}},
				Fix:      model.Fix{Text: "Set GOMEMLIMIT to 90% of the limit so the GC works harder before the container is killed.", Flag: runtimes.HeapFlag(info, limit)}}
			if limit >= goMemLimitMissingLinted && len(in.unresolvedEnv()) == 0 { // lint's go-memlimit-missing
				lintFix(in, &c.Fix, false)
			}
			return c
		}
	case runtimes.Node, runtimes.DotNet:
		if info.Heap == nil {
			return nil
		}
		heap := info.HeapBytes
		if heap == 0 && info.HeapPercent > 0 {
			heap = int64(info.HeapPercent / 100 * lim)
		}
		v := runtimes.JudgeHeap(info.Runtime, heap, limit)
		if v == runtimes.HeapFits {
			return nil
		}
		flag := runtimes.HeapFlag(info, limit)
		name := "Node.js old space"
		if info.Runtime == runtimes.DotNet {
			name = ".NET GC heap limit"
		}
		c := &model.Cause{
			Summary:  fmt.Sprintf("The %s %s (%s) is %s of the %s limit: the runtime's own memory does not fit beside it.", name, size(float64(heap)), info.Heap.Flag, pct(float64(heap), lim), size(lim)),
			Evidence: []model.Evidence{{What: name, Value: fmt.Sprintf("%s %s", info.Heap.Flag, where(info.Heap)), Source: "pod spec"}},
			Fix:      model.Fix{Text: fmt.Sprintf("Lower it to %s, or raise the limit.", size(float64(fit))), Flag: flag},
		}
		lintFix(in, &c.Fix, fromConfigMap(info.Heap))
		c.Confidence, c.ConfidenceWhy = model.Medium, "a heap above 75% of the limit leaves the runtime little room"
		if v == runtimes.HeapTooBig {
			c.Confidence, c.ConfidenceWhy = model.High, "the heap setting is at 90% of the limit or more"
		}
		return c
	}
	return nil
}

// server judges a Redis maxmemory or Memcached -m against the limit by
// the rule lint and fix use (runtimes.ServerSizeFit), and a Redis without
// maxmemory, whose data grows until the kernel kills it.
func (runtimeHeap) server(s runtimes.ServerInfo, limit int64, in *Input) *model.Cause {
	lim := float64(limit)
	fit := runtimes.ServerSizeFit(s, limit)
	if s.Size == nil {
		if s.Server != runtimes.Redis || s.ConfigFile {
			return nil // Memcached's default is 64 MiB; a config file may set maxmemory
		}
		c := &model.Cause{Confidence: model.Low, ConfidenceWhy: "nothing bounds its data below the limit; RSS before the kills (container_memory_rss) would show whether it grew to them",
			Summary:  fmt.Sprintf("Redis runs without maxmemory: it never evicts or refuses a write, so its data grows until the kernel kills it at the %s limit.", size(lim)),
			Evidence: []model.Evidence{{What: "Redis maxmemory", Value: "not set (no --maxmemory, no config file)", Source: "pod spec"}},
			Fix: model.Fix{Text: fmt.Sprintf("Set --maxmemory %s with an eviction policy for a cache (--maxmemory-policy allkeys-lru), or noeviction for a store, whose writes then fail instead of the process dying.", runtimes.RedisBytes(max(fit, 16<<20))),
				Flag: "--maxmemory " + runtimes.RedisBytes(max(fit, 16<<20))}}
		// The history tells whether its own memory filled the limit.
		if h := in.History; h != nil && len(h.RSS) > 0 {
			grew := false
			for _, k := range in.kills() {
				rss := peak(window(h.RSS, k.T-in.preKill(), k.T))
				if rss == 0 {
					continue
				}
				if rss < 0.7*lim {
					return nil // something else filled it (page cache, a sidecar): not its data
				}
				if !grew {
					grew = true
					c.Evidence = append(c.Evidence, model.Evidence{What: "before the kill", Value: fmt.Sprintf("RSS %s (%s of the limit)", size(rss), pct(rss, lim)), At: ts(k.T), Source: h.Source})
				}
			}
			if grew {
				c.Confidence, c.ConfidenceWhy = model.Medium, "its RSS was near the limit before the kills, and nothing bounds its data"
			}
		}
		return c
	}
	if s.Bytes <= fit {
		return nil
	}
	name, room := "Redis maxmemory", "fragmentation and client and replication buffers"
	if s.Server == runtimes.Memcached {
		name, room = "Memcached item memory (-m)", "its hash table, connection buffers and threads"
	} else if s.Persistence {
		room += ", and the copied pages of the child it forks to save to disk,"
	}
	flag := s.SizeFlag(s.Size.Flag)
	c := &model.Cause{
		Summary:  fmt.Sprintf("The %s %s (%s) is %s of the %s limit: %s do not fit beside it, so the kernel kills the server before it evicts.", name, size(float64(s.Bytes)), flag, pct(float64(s.Bytes), lim), size(lim), room),
		Evidence: []model.Evidence{{What: name, Value: fmt.Sprintf("%s in %s = %s (%s of the limit)", flag, s.Size.Source, size(float64(s.Bytes)), pct(float64(s.Bytes), lim)), Source: "pod spec"}},
		Fix:      model.Fix{Text: fmt.Sprintf("Lower it to %s, or raise the limit.", s.SizeFlag(s.SizeValue(fit))), Flag: s.SizeFlag(s.SizeValue(fit))},
	}
	if fit >= 16<<20 { // lint's cache-size-exceeds-limit fixes it; a config file is a ConfigMap's
		lintFix(in, &c.Fix, s.Size.Line > 0 || fromConfigMap(s.Size))
	}
	c.Confidence, c.ConfidenceWhy = model.Medium, "the size leaves the server too little room: under load what lives beside the data pushes it over"
	if s.Bytes >= limit {
		c.Confidence, c.ConfidenceWhy = model.High, "the data may fill the whole limit before the server evicts: a kill is close to certain"
	}
	return c
}

// assumedThreads is the thread count thread stacks are sized for: a
// typical server's pool (Tomcat's default maximum).
const assumedThreads = 200

// stacks fires when the heap fits but an explicit thread stack size, for a
// server's usual thread count, fills what the heap leaves: stacks are
// committed as deep as each thread has ever gone, so it is a risk rather
// than a certainty.
func (runtimeHeap) stacks(info runtimes.Info, heap, limit int64, where func(*runtimes.Setting) string) *model.Cause {
	if info.Stack == nil || info.StackBytes <= 1<<20 {
		return nil
	}
	stacks := assumedThreads * info.StackBytes
	if heap+stacks+runtimes.MinOverhead(runtimes.JVM) <= limit {
		return nil
	}
	lim := float64(limit)
	return &model.Cause{Confidence: model.Low, ConfidenceWhy: fmt.Sprintf("stacks are committed as deep as threads go; with %d threads at full depth they would not fit", assumedThreads),
		Summary: fmt.Sprintf("The JVM's thread stacks (%s each) for %d threads could take %s beside a %s heap, more than the %s limit leaves.", size(float64(info.StackBytes)), assumedThreads, size(float64(stacks)), size(float64(heap)), size(lim)),
		Evidence: []model.Evidence{
			{What: "JVM thread stacks", Value: fmt.Sprintf("%s %s: %s a thread", info.Stack.Flag, where(info.Stack), size(float64(info.StackBytes))), Source: "pod spec"},
			{What: "heap, stacks and the rest", Value: fmt.Sprintf("%s + %d x %s + %s > %s", size(float64(heap)), assumedThreads, size(float64(info.StackBytes)), size(float64(runtimes.MinOverhead(runtimes.JVM))), size(lim)), Source: "pod spec"},
		},
		Fix: model.Fix{Text: "Drop -Xss back to the default (1m) unless deep recursion needs it, bound the thread pools, or raise the limit.", Flag: "-Xss1m"}}
}

// The thresholds of lint's GOMEMLIMIT rules (their defaults): the command
// of the fix runs lint's fixes, so it is given where lint has one.
const (
	goMemLimitLinted        = 0.95
	goMemLimitMissingLinted = 512 << 20
)

// fromConfigMap says whether a setting is held in a ConfigMap (an env
// value taken from one).
func fromConfigMap(s *runtimes.Setting) bool {
	return s != nil && strings.HasPrefix(s.Path, "configmap ")
}

// noHeapFix gives a JVM with no heap set the command of lint's
// jvm-old-jdk-no-heap fix, which adds -Xmx to JAVA_TOOL_OPTIONS where
// they are set, when nothing the spec does not show may set them.
func (runtimeHeap) noHeapFix(in *Input, info runtimes.Info, fx *model.Fix) {
	if info.HeapBytes > 0 || info.MaxRAMBytes > 0 || len(in.unresolvedEnv()) > 0 {
		return
	}
	fromCM := false
	if c := in.container(); c != nil {
		for _, e := range inspected(c, in.ConfigMaps).Env {
			if e.Name == "JAVA_TOOL_OPTIONS" {
				fromCM = strings.HasPrefix(e.Path, "configmap ") // the last: env comes after envFrom
			}
		}
	}
	lintFix(in, fx, fromCM)
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
