package diagnose

import (
	"math"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/oomdoctor/oomdoctor/internal/model"
)

const mi = 1 << 20

var t0 = time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)

// series samples fn every step for n steps from t0; fn gets the seconds
// since t0.
func series(n int, step time.Duration, fn func(s int64) float64) []model.Point {
	out := make([]model.Point, n)
	for i := range out {
		s := int64(i) * int64(step.Seconds())
		out[i] = model.Point{T: t0.Unix() + s, V: fn(s)}
	}
	return out
}

func wobble(s int64) float64 { return math.Sin(float64(s)/977) * mi }

// sawtooth is a leak: from 100Mi up to the 256Mi limit in 6 hours, killed
// there, again and again.
func sawtooth() (*History, []Kill) {
	const period = 6 * 3600
	ws := series(4*period/60, time.Minute, func(s int64) float64 { return 100*mi + 156*mi*float64(s%period)/period + wobble(s) })
	var kills []Kill
	for i := 1; i <= 3; i++ {
		kills = append(kills, Kill{T: t0.Unix() + int64(i)*period - 60, Count: 1, Limit: 256 * mi})
	}
	return &History{Source: "test", Step: time.Minute, WorkingSet: ws, Kills: kills}, kills
}

// steady sits at 250Mi under a 256Mi limit and is killed by bursts.
func steady() *History {
	ws := series(3*24*60, time.Minute, func(s int64) float64 { return 235*mi + 6*mi*math.Sin(float64(s)/7200) + wobble(s) })
	h := &History{Source: "test", Step: time.Minute, WorkingSet: ws}
	for i := 1; i <= 3; i++ {
		t := t0.Unix() + int64(i)*20*3600
		h.Kills = append(h.Kills, Kill{T: t, Count: 1, Limit: 256 * mi})
		idx := int((t - t0.Unix()) / 60)
		h.WorkingSet[idx].V = 255 * mi
	}
	return h
}

func finding(typ model.FindingType, req, lim int64) *model.Finding {
	last := t0.Add(20 * time.Hour)
	return &model.Finding{Type: typ, Namespace: "shop", Pod: "cart-1", Container: "cart", LastKill: &last,
		MemoryRequestBytes: ptr.To(req), MemoryLimitBytes: ptr.To(lim)}
}

func pod(c corev1.Container, vols ...corev1.Volume) *corev1.Pod {
	c.Name = "cart"
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "cart-1", Namespace: "shop"}, Spec: corev1.PodSpec{Containers: []corev1.Container{c}, Volumes: vols, NodeName: "node-1"}}
}

func limits(lim string) corev1.ResourceRequirements {
	return corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(lim)}}
}

type want struct {
	conf  model.Confidence // "" : must not fire
	needs string           // when it must not fire: a part of what it needs ("" : says nothing)
	text  string           // a part of the summary or evidence
}

func check(t *testing.T, d Detector, name string, in *Input, w want) {
	t.Helper()
	in.Now = t0.Add(72 * time.Hour)
	c, needs := d.Detect(in)
	switch {
	case w.conf == "" && c != nil:
		t.Errorf("%s/%s: fired (%s: %s), must not", d.ID(), name, c.Confidence, c.Summary)
	case w.conf == "" && (w.needs == "") != (needs == ""):
		t.Errorf("%s/%s: needs %q, want %q", d.ID(), name, needs, w.needs)
	case w.conf == "" && !strings.Contains(needs, w.needs):
		t.Errorf("%s/%s: needs %q, want it to say %q", d.ID(), name, needs, w.needs)
	case w.conf != "" && c == nil:
		t.Errorf("%s/%s: did not fire (needs %q)", d.ID(), name, needs)
	case w.conf != "" && c.Confidence != w.conf:
		t.Errorf("%s/%s: confidence %s (%s), want %s", d.ID(), name, c.Confidence, c.ConfidenceWhy, w.conf)
	case c != nil:
		text := c.Summary + " " + c.Fix.Text + " " + c.Fix.Flag + " " + c.Fix.YAML + " " + c.Fix.Command
		for _, e := range c.Evidence {
			text += " " + e.What + ": " + e.Value
		}
		if !strings.Contains(text, w.text) {
			t.Errorf("%s/%s: want %q in\n%s", d.ID(), name, w.text, text)
		}
		if len(c.Evidence) == 0 || c.ConfidenceWhy == "" || c.Fix.Text == "" {
			t.Errorf("%s/%s: a cause needs evidence, a reason for its confidence and a fix: %+v", d.ID(), name, c)
		}
	}
}

func TestLimitTooLow(t *testing.T) {
	saw, _ := sawtooth()
	low := steady()
	for i := range low.WorkingSet {
		low.WorkingSet[i].V = 100 * mi
	}
	one := steady()
	one.Kills = one.Kills[:1]
	for name, tc := range map[string]struct {
		in *Input
		w  want
	}{
		"steady at the limit": {&Input{Finding: finding(model.OOMKilled, 128*mi, 256*mi), History: steady()}, want{conf: model.High, text: "Raise the memory limit to"}},
		"a Deployment's": {&Input{Finding: finding(model.OOMKilled, 128*mi, 256*mi), History: steady(), Workload: model.WorkloadRef{Namespace: "shop", Kind: "Deployment", Name: "cart"}},
			want{conf: model.High, text: "oomdoctor fix --apply deployment/cart -n shop -c cart --memory-request 256Mi --memory-limit 480Mi"}},
		"one kill":            {&Input{Finding: finding(model.OOMKilled, 128*mi, 256*mi), History: one}, want{conf: model.Medium, text: "255Mi (100% of the 256Mi limit)"}},
		"far below the limit": {&Input{Finding: finding(model.OOMKilled, 128*mi, 256*mi), History: low}, want{}},
		"a leak is not this":  {&Input{Finding: finding(model.OOMKilled, 128*mi, 256*mi), History: saw}, want{}},
		"no history":          {&Input{Finding: finding(model.OOMKilled, 128*mi, 256*mi)}, want{needs: "--prometheus-url"}},
		"not an OOM":          {&Input{Finding: finding(model.NotOOM, 128*mi, 256*mi), History: steady()}, want{}},
		"page cache, not the process": {&Input{Finding: finding(model.OOMKilled, 128*mi, 256*mi), History: func() *History {
			h := steady()
			h.RSS = series(3*24*60, time.Minute, func(int64) float64 { return 70 * mi })
			h.Cache = series(3*24*60, time.Minute, func(int64) float64 { return 180 * mi })
			return h
		}()}, want{}},
		"no limit, no question": {&Input{Finding: &model.Finding{Type: model.OOMKilled, Container: "cart"}, History: steady()}, want{}},
	} {
		check(t, limitTooLow{}, name, tc.in, tc.w)
	}
}

func TestMemoryLeak(t *testing.T) {
	saw, _ := sawtooth()
	warm := &History{Source: "test", Step: time.Minute, WorkingSet: series(8*60, time.Minute, func(s int64) float64 { return 50*mi + 100*mi*float64(s)/(8*3600) + wobble(s) })}
	daily := &History{Source: "test", Step: 5 * time.Minute, WorkingSet: series(3*288, 5*time.Minute, func(s int64) float64 {
		return 150*mi + 60*mi*math.Sin(2*math.Pi*float64(s)/86400)
	})}
	for name, tc := range map[string]struct {
		in *Input
		w  want
	}{
		"sawtooth":          {&Input{Finding: finding(model.OOMKilled, 128*mi, 256*mi), History: saw}, want{conf: model.High, text: "26.0Mi/h"}},
		"one warm-up":       {&Input{Finding: finding(model.OOMKilled, 128*mi, 256*mi), History: warm}, want{conf: model.Low, text: "projected time to the limit"}},
		"daily cycle":       {&Input{Finding: finding(model.OOMKilled, 128*mi, 256*mi), History: daily}, want{}},
		"flat at the limit": {&Input{Finding: finding(model.OOMKilled, 128*mi, 256*mi), History: steady()}, want{}},
		"no history":        {&Input{Finding: finding(model.OOMKilled, 128*mi, 256*mi)}, want{needs: "grows within each container lifetime"}},
	} {
		check(t, memoryLeak{}, name, tc.in, tc.w)
	}
}

// LeakOf, what recommend reads, sees what the detector sees: the
// sawtooth's 26Mi/h from 100Mi (the 256Mi limit in 6h, by hand), with
// high confidence; no leak in a flat or daily-cycling history.
func TestLeakOf(t *testing.T) {
	saw, _ := sawtooth()
	k := LeakOf(saw, 256*mi)
	if k == nil {
		t.Fatal("no leak in the sawtooth")
	}
	if math.Abs(k.MiPerHour()-26) > 0.5 || math.Abs(k.From/mi-100) > 2 || k.Confidence != model.High || k.Growing < 3 || k.Killed < 3 {
		t.Errorf("sawtooth: %+v (%.1fMi/h), want 26Mi/h from 100Mi, high confidence, 3 or more growing lifetimes ending in a kill", k, k.MiPerHour())
	}
	if got := k.TimeToFill(256 * mi); got != "6.0h" && got != "5.9h" && got != "6.1h" {
		t.Errorf("time to fill 256Mi: %s, want about 6h", got)
	}
	// A mild sawtooth, from 160Mi to the 256Mi limit in 6 hours: no drop
	// sharp enough to show the restarts; only the restart times do. Each
	// point is the peak of the 5 minutes before it: the one after a
	// restart holds the peak before it.
	const period = 6 * 3600
	mild := &History{Step: 5 * time.Minute, WorkingSet: series(4*period/300, 5*time.Minute, func(s int64) float64 {
		return 160*mi + 96*mi*float64((s+period-1)%period+1)/period
	})}
	for i := int64(1); i < 4; i++ {
		mild.Restarts = append(mild.Restarts, t0.Unix()+i*period-100)
	}
	if k := LeakOf(mild, 256*mi); k == nil || math.Abs(k.MiPerHour()-16) > 0.5 || k.Confidence != model.High {
		t.Errorf("mild sawtooth with its restarts: %+v, want 16Mi/h, high confidence", k)
	}
	mild.Restarts = nil
	daily := &History{Step: 5 * time.Minute, WorkingSet: series(3*288, 5*time.Minute, func(s int64) float64 { return 150*mi + 60*mi*math.Sin(2*math.Pi*float64(s)/86400) })}
	for name, h := range map[string]*History{"flat": steady(), "daily": daily, "none": nil, "mild sawtooth, restarts unknown": mild} {
		if k := LeakOf(h, 256*mi); k != nil {
			t.Errorf("%s: a leak %+v", name, k)
		}
	}
}

func TestRequestLimitGap(t *testing.T) {
	over := &Node{Name: "node-1", AllocatableBytes: 4 << 30, RequestsBytes: 3 << 30, LimitsBytes: 6 << 30, Pods: 20, Complete: true}
	fine := &Node{Name: "node-1", AllocatableBytes: 16 << 30, RequestsBytes: 3 << 30, LimitsBytes: 6 << 30, Pods: 20, Complete: true}
	part := *over
	part.Complete = false
	used := &History{Source: "test", Step: time.Minute, WorkingSet: series(60*24, time.Minute, func(s int64) float64 { return 600 * mi })}
	nodeKill := []model.KernelKill{{Scope: "node", At: t0}}
	ownKill := []model.KernelKill{{Scope: "container", At: t0}}
	for name, tc := range map[string]struct {
		in *Input
		w  want
	}{
		"evicted above request":   {&Input{Finding: finding(model.Eviction, 128*mi, 1<<30), Node: over, History: used}, want{conf: model.High, text: "limits 6.0Gi of 4.0Gi allocatable (150%)"}},
		"node kill, no history":   {&Input{Finding: finding(model.OOMKilled, 128*mi, 1<<30), Node: over, KernelKills: nodeKill}, want{conf: model.Medium, text: "request 128Mi, limit 1.0Gi (8.0x the request)"}},
		"static only":             {&Input{Finding: finding(model.OOMKilled, 128*mi, 1<<30), Node: over}, want{needs: "kill scope"}},
		"node not overcommitted":  {&Input{Finding: finding(model.OOMKilled, 128*mi, 1<<30), Node: fine, History: used}, want{}},
		"killed at its own limit": {&Input{Finding: finding(model.OOMKilled, 128*mi, 1<<30), Node: over, KernelKills: ownKill}, want{}},
		"request near the limit":  {&Input{Finding: finding(model.OOMKilled, 900*mi, 1<<30), Node: over}, want{}},
		"no node":                 {&Input{Finding: finding(model.OOMKilled, 128*mi, 1<<30)}, want{needs: "overcommitted"}},
		"one namespace's sums":    {&Input{Finding: finding(model.OOMKilled, 128*mi, 1<<30), Node: &part}, want{needs: "-A"}},
	} {
		check(t, requestLimitGap{}, name, tc.in, tc.w)
	}
}

func TestNodePressure(t *testing.T) {
	kill := t0.Add(20 * time.Hour)
	ev := corev1.Event{Reason: "SystemOOM", Message: "System OOM encountered, victim process: java", InvolvedObject: corev1.ObjectReference{Kind: "Node", Name: "node-1"}, LastTimestamp: metav1.NewTime(kill.Add(-2 * time.Minute))}
	old := ev
	old.LastTimestamp = metav1.NewTime(kill.Add(-3 * time.Hour))
	for name, tc := range map[string]struct {
		in *Input
		w  want
	}{
		"evicted":                {&Input{Finding: &model.Finding{Type: model.Eviction, Reason: "Evicted", Message: "The node was low on resource: memory.", LastKill: &kill}}, want{conf: model.High, text: "low on resource: memory"}},
		"system oom":             {&Input{Finding: &model.Finding{Type: model.SystemOOM, Message: "System OOM encountered", LastKill: &kill}}, want{conf: model.High, text: "SystemOOM"}},
		"kernel scope node":      {&Input{Finding: finding(model.OOMKilled, 128*mi, 256*mi), KernelKills: []model.KernelKill{{Scope: "node", At: kill, UsageBytes: 4 << 30, LimitBytes: 4 << 30}}}, want{conf: model.High, text: "allocatable"}},
		"node event near":        {&Input{Finding: finding(model.OOMKilled, 128*mi, 256*mi), Events: []corev1.Event{ev}, Node: &Node{Name: "node-1"}}, want{conf: model.Medium, text: "victim process: java"}},
		"node event long before": {&Input{Finding: finding(model.OOMKilled, 128*mi, 256*mi), Events: []corev1.Event{old}, Node: &Node{Name: "node-1"}}, want{}},
		"pressure now":           {&Input{Finding: finding(model.OOMKilled, 128*mi, 256*mi), Node: &Node{Name: "node-1", MemoryPressure: true}}, want{conf: model.Low, text: "MemoryPressure=True"}},
		"nothing known":          {&Input{Finding: finding(model.OOMKilled, 128*mi, 256*mi)}, want{needs: "node agent"}},
		"own limit, node known":  {&Input{Finding: finding(model.OOMKilled, 128*mi, 256*mi), Node: &Node{Name: "node-1"}}, want{}},
		"not an OOM":             {&Input{Finding: finding(model.NotOOM, 128*mi, 256*mi)}, want{}},
	} {
		check(t, nodePressure{}, name, tc.in, tc.w)
	}
}

func TestExtraProcesses(t *testing.T) {
	kill := t0.Add(20 * time.Hour)
	py := pod(corev1.Container{Command: []string{"python", "/app/server.py"}, Resources: limits("256Mi")})
	f := finding(model.OOMKilled, 128*mi, 256*mi)
	victim := *f
	victim.Process, victim.PID = "ffmpeg", 4242
	sib := steady()
	for i := range sib.WorkingSet {
		sib.WorkingSet[i].V = 120 * mi
	}
	sib.Siblings = map[string][]model.Point{"log-shipper": series(3*24*60, time.Minute, func(int64) float64 { return 200 * mi })}
	for name, tc := range map[string]struct {
		in *Input
		w  want
	}{
		"child killed":            {&Input{Finding: f, Pod: py, KernelKills: []model.KernelKill{{Container: "cart", MainProcess: "false", VictimName: "worker", VictimPID: 31, AnonRSSBytes: 200 * mi, At: kill, Scope: "container"}}}, want{conf: model.High, text: "worker (pid 31"}},
		"pod scope":               {&Input{Finding: f, Pod: py, KernelKills: []model.KernelKill{{Container: "cart", MainProcess: "true", Scope: "pod", LimitBytes: 512 * mi, UsageBytes: 512 * mi, At: kill}}}, want{conf: model.Medium, text: "pod's limit 512Mi"}},
		"another victim":          {&Input{Finding: &victim, Pod: py}, want{conf: model.Medium, text: "ffmpeg (pid 4242), while the container runs python"}},
		"sidecar holds memory":    {&Input{Finding: f, Pod: py, History: sib}, want{conf: model.Low, text: "log-shipper 200Mi"}},
		"unexplained kernel kill": {&Input{Finding: &model.Finding{Type: model.KernelOOMKill, Node: "node-b", Process: "convert", PID: 77}}, want{conf: model.Medium, text: "convert (pid 77)"}},
		"main process at limit":   {&Input{Finding: f, Pod: py, KernelKills: []model.KernelKill{{Container: "cart", MainProcess: "true", Scope: "container", VictimName: "python", At: kill}}}, want{}},
		"no kernel records":       {&Input{Finding: f, Pod: py}, want{needs: "node agent"}},
	} {
		check(t, extraProcesses{}, name, tc.in, tc.w)
	}
}

func TestRuntimeHeap(t *testing.T) {
	rssAt := func(rss float64) *History {
		h := steady()
		h.RSS = series(3*24*60, time.Minute, func(int64) float64 { return rss })
		return h
	}
	env := func(kv ...string) []corev1.EnvVar {
		var out []corev1.EnvVar
		for i := 0; i < len(kv); i += 2 {
			out = append(out, corev1.EnvVar{Name: kv[i], Value: kv[i+1]})
		}
		return out
	}
	fromCM := corev1.Container{Image: "eclipse-temurin:17-jre", Resources: limits("256Mi"), Env: []corev1.EnvVar{{Name: "JAVA_TOOL_OPTIONS", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "jvm"}, Key: "opts"}}}}}
	cms := map[string]*corev1.ConfigMap{"jvm": {ObjectMeta: metav1.ObjectMeta{Name: "jvm"}, Data: map[string]string{"opts": "-Xmx240m -XX:+UseG1GC"}}}
	f := finding(model.OOMKilled, 128*mi, 256*mi)
	f512 := finding(model.OOMKilled, 128*mi, 512*mi)
	f1g := finding(model.OOMKilled, 128*mi, 1<<30)
	for name, tc := range map[string]struct {
		in *Input
		w  want
	}{
		"jvm Xmx from a ConfigMap":         {&Input{Finding: f, Pod: pod(fromCM), ConfigMaps: cms}, want{conf: model.High, text: "-Xmx240m in JAVA_TOOL_OPTIONS, from configmap jvm key opts"}},
		"ConfigMap not read":               {&Input{Finding: f, Pod: pod(fromCM)}, want{needs: "JAVA_TOOL_OPTIONS from configmap jvm"}},
		"jvm heap fits":                    {&Input{Finding: f512, Pod: pod(corev1.Container{Image: "eclipse-temurin:17", Args: []string{"java", "-Xmx256m", "-jar", "app.jar"}})}, want{}},
		"jvm tight":                        {&Input{Finding: f512, Pod: pod(corev1.Container{Image: "eclipse-temurin:17", Args: []string{"java", "-Xmx400m", "-jar", "app.jar"}})}, want{conf: model.Medium, text: "-Xmx384m"}},
		"jvm Xms without Xmx":              {&Input{Finding: f1g, Pod: pod(corev1.Container{Image: "eclipse-temurin:17", Args: []string{"java", "-Xms1g", "-jar", "app.jar"}})}, want{conf: model.High, text: "-Xms768m"}},
		"old jdk":                          {&Input{Finding: f512, Pod: pod(corev1.Container{Image: "openjdk:8u151-jre", Command: []string{"java", "-jar", "app.jar"}})}, want{conf: model.Medium, text: "8u151"}},
		"go memlimit above":                {&Input{Finding: f512, Pod: pod(corev1.Container{Image: "example/api", Env: env("GOMEMLIMIT", "600MiB")})}, want{conf: model.High, text: "GOMEMLIMIT=460MiB"}},
		"go memlimit from the limit":       {&Input{Finding: f512, Pod: pod(corev1.Container{Image: "example/api", Env: []corev1.EnvVar{{Name: "GOMEMLIMIT", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.memory"}}}}})}, want{conf: model.High, text: "GOMEMLIMIT=460MiB"}},
		"go memlimit in Mi from the limit": {&Input{Finding: f512, Pod: pod(corev1.Container{Image: "example/api", Env: []corev1.EnvVar{{Name: "GOMEMLIMIT", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.memory", Divisor: resource.MustParse("1Mi")}}}}})}, want{}},
		"go without memlimit":              {&Input{Finding: f512, Pod: pod(corev1.Container{Image: "example/api", Env: env("GOGC", "200")})}, want{conf: model.Low, text: "GOGC=200"}},
		"node old space":                   {&Input{Finding: f1g, Pod: pod(corev1.Container{Image: "node:20", Command: []string{"node", "--max-old-space-size=1000", "server.js"}})}, want{conf: model.High, text: "--max-old-space-size"}},
		"dotnet percent":                   {&Input{Finding: f1g, Pod: pod(corev1.Container{Image: "mcr.microsoft.com/dotnet/aspnet:8.0", Env: env("DOTNET_GCHeapHardLimitPercent", "0x5F")})}, want{conf: model.High, text: ".NET GC heap limit"}},
		"jvm thread stacks":                {&Input{Finding: f512, Pod: pod(corev1.Container{Image: "eclipse-temurin:17", Args: []string{"java", "-Xmx256m", "-Xss4m", "-jar", "app.jar"}})}, want{conf: model.Low, text: "-Xss4m in args"}},
		"jvm default stacks":               {&Input{Finding: f512, Pod: pod(corev1.Container{Image: "eclipse-temurin:17", Args: []string{"java", "-Xmx256m", "-Xss1m", "-jar", "app.jar"}})}, want{}},
		"python has no heap":               {&Input{Finding: f, Pod: pod(corev1.Container{Image: "python:3.12", Command: []string{"python", "app.py"}})}, want{}},
		"pod gone":                         {&Input{Finding: f}, want{needs: "the pod's spec"}},
		"not an OOM":                       {&Input{Finding: finding(model.NotOOM, 128*mi, 256*mi), Pod: pod(fromCM), ConfigMaps: cms}, want{}},
		"redis maxmemory at limit":         {&Input{Finding: f1g, Pod: pod(corev1.Container{Image: "redis:7.4", Args: []string{"--maxmemory", "1gb"}})}, want{conf: model.High, text: "--maxmemory 512mb"}},
		"redis tight, no saves":            {&Input{Finding: f1g, Pod: pod(corev1.Container{Image: "redis:7.4", Args: []string{"--save", "", "--maxmemory", "900mb"}})}, want{conf: model.Medium, text: "--maxmemory 768mb"}},
		"redis fits":                       {&Input{Finding: f1g, Pod: pod(corev1.Container{Image: "redis:7.4", Args: []string{"--maxmemory", "400mb"}})}, want{}},
		"redis unbounded":                  {&Input{Finding: f1g, Pod: pod(corev1.Container{Image: "redis:7.4"})}, want{conf: model.Low, text: "without maxmemory"}},
		"redis unbounded, grew":            {&Input{Finding: f1g, Pod: pod(corev1.Container{Image: "redis:7.4"}), History: rssAt(900 * mi)}, want{conf: model.Medium, text: "RSS 900Mi (88% of the limit)"}},
		"redis unbounded, small":           {&Input{Finding: f1g, Pod: pod(corev1.Container{Image: "redis:7.4"}), History: rssAt(300 * mi)}, want{}},
		"redis config file":                {&Input{Finding: f1g, Pod: pod(corev1.Container{Image: "redis:7.4", Command: []string{"redis-server", "/etc/redis.conf"}})}, want{}},
		"redis.conf from a ConfigMap": {&Input{Finding: f1g, ConfigMaps: map[string]*corev1.ConfigMap{"conf": {ObjectMeta: metav1.ObjectMeta{Name: "conf"}, Data: map[string]string{"redis.conf": "maxmemory 1gb\n"}}},
			Pod: pod(corev1.Container{Image: "redis:7.4", Args: []string{"/conf/redis.conf"}, VolumeMounts: []corev1.VolumeMount{{Name: "c", MountPath: "/conf"}}},
				corev1.Volume{Name: "c", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "conf"}}}})},
			want{conf: model.High, text: "maxmemory 1gb in configmap conf key redis.conf"}},
		"redis.conf from a projected volume": {&Input{Finding: f1g, ConfigMaps: map[string]*corev1.ConfigMap{"conf": {ObjectMeta: metav1.ObjectMeta{Name: "conf"}, Data: map[string]string{"redis.conf": "maxmemory 1gb\n"}}},
			Pod: pod(corev1.Container{Image: "redis:7.4", Args: []string{"/conf/redis/main.conf"}, VolumeMounts: []corev1.VolumeMount{{Name: "c", MountPath: "/conf"}}},
				corev1.Volume{Name: "c", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
					{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "tls"}}},
					{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "conf"}, Items: []corev1.KeyToPath{{Key: "redis.conf", Path: "redis/main.conf"}}}},
				}}}})},
			want{conf: model.High, text: "maxmemory 1gb in configmap conf key redis.conf"}},
		"memcached -m": {&Input{Finding: f512, Pod: pod(corev1.Container{Image: "memcached:1.6", Args: []string{"-m", "512"}})}, want{conf: model.High, text: "-m 460"}},
	} {
		check(t, runtimeHeap{}, name, tc.in, tc.w)
	}
}

func TestPageCache(t *testing.T) {
	kill := t0.Add(20 * time.Hour)
	h := steady()
	h.Cache = series(3*24*60, time.Minute, func(int64) float64 { return 180 * mi })
	h.RSS = series(3*24*60, time.Minute, func(int64) float64 { return 60 * mi })
	anon := steady()
	anon.Cache = series(3*24*60, time.Minute, func(int64) float64 { return 10 * mi })
	anon.RSS = series(3*24*60, time.Minute, func(int64) float64 { return 240 * mi })
	for name, tc := range map[string]struct {
		in *Input
		w  want
	}{
		"cache dominates":    {&Input{Finding: finding(model.OOMKilled, 128*mi, 256*mi), History: h}, want{conf: model.Medium, text: "page cache 180Mi (75% of cache+RSS), RSS 60Mi (23% of the 256Mi limit)"}},
		"kernel breakdown":   {&Input{Finding: finding(model.OOMKilled, 128*mi, 256*mi), KernelKills: []model.KernelKill{{UsageBytes: 256 * mi, FileBytes: 90 * mi, ShmemStat: 100 * mi, AnonBytes: 60 * mi, At: kill}}}, want{conf: model.High, text: "shmem 100Mi"}},
		"anonymous memory":   {&Input{Finding: finding(model.OOMKilled, 128*mi, 256*mi), History: anon}, want{}},
		"working set only":   {&Input{Finding: finding(model.OOMKilled, 128*mi, 256*mi), History: steady()}, want{needs: "container_memory_cache"}},
		"eviction is not it": {&Input{Finding: finding(model.Eviction, 128*mi, 256*mi), History: h}, want{}},
	} {
		check(t, pageCache{}, name, tc.in, tc.w)
	}
}

func TestTmpfsVolume(t *testing.T) {
	mount := corev1.Container{Resources: limits("256Mi"), VolumeMounts: []corev1.VolumeMount{{Name: "scratch", MountPath: "/scratch"}}}
	tmpfs := corev1.Volume{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory}}}
	capped := tmpfs
	capped.EmptyDir = &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory, SizeLimit: ptr.To(resource.MustParse("64Mi"))}
	big := tmpfs
	big.EmptyDir = &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory, SizeLimit: ptr.To(resource.MustParse("1Gi"))}
	disk := corev1.Volume{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}
	startErr := finding(model.OOMKilled, 128*mi, 256*mi)
	startErr.Message = "failed to create containerd task: container init was OOM-killed (memory limit too low?)"
	notMounted := mount
	notMounted.VolumeMounts = nil
	for name, tc := range map[string]struct {
		in *Input
		w  want
	}{
		"no sizeLimit":          {&Input{Finding: finding(model.OOMKilled, 128*mi, 256*mi), Pod: pod(mount, tmpfs)}, want{conf: model.Medium, text: "mounted at /scratch, no sizeLimit"}},
		"sizeLimit above limit": {&Input{Finding: finding(model.OOMKilled, 128*mi, 256*mi), Pod: pod(mount, big)}, want{conf: model.Medium, text: "sizeLimit 1Gi"}},
		"full at restart":       {&Input{Finding: startErr, Pod: pod(mount, tmpfs)}, want{conf: model.High, text: "container init was OOM-killed"}},
		"capped":                {&Input{Finding: finding(model.OOMKilled, 128*mi, 256*mi), Pod: pod(mount, capped)}, want{}},
		"on disk":               {&Input{Finding: finding(model.OOMKilled, 128*mi, 256*mi), Pod: pod(mount, disk)}, want{}},
		"not mounted here":      {&Input{Finding: finding(model.OOMKilled, 128*mi, 256*mi), Pod: pod(notMounted, tmpfs)}, want{}},
		"pod gone":              {&Input{Finding: finding(model.OOMKilled, 128*mi, 256*mi)}, want{needs: "volumes"}},
	} {
		check(t, tmpfsVolume{}, name, tc.in, tc.w)
	}
}

func TestNotOOM(t *testing.T) {
	probe := finding(model.NotOOM, 128*mi, 256*mi)
	probe.Evidence = []string{"lastState.terminated: exitCode=137 reason=Error", "Liveness probe failed: HTTP probe failed with statuscode: 503 (x3)"}
	race := finding(model.NotOOM, 128*mi, 256*mi)
	race.Reason = "Error"
	race.Evidence = []string{"lastState.terminated: exitCode=137 reason=Error"}
	other := finding(model.NotOOM, 128*mi, 256*mi)
	other.Reason = "Completed"
	other.Evidence = []string{"lastState.terminated: exitCode=137"}
	for name, tc := range map[string]struct {
		in *Input
		w  want
	}{
		"liveness":            {&Input{Finding: probe}, want{conf: model.High, text: "liveness probe failed"}},
		"containerd race":     {&Input{Finding: race}, want{conf: model.Low, text: "misreported"}},
		"other sigkill":       {&Input{Finding: other}, want{conf: model.Medium, text: "grace period"}},
		"the kernel did kill": {&Input{Finding: race, KernelKills: []model.KernelKill{{At: *race.LastKill}}}, want{}},
		"an OOM kill":         {&Input{Finding: finding(model.OOMKilled, 128*mi, 256*mi)}, want{}},
	} {
		check(t, notOOM{}, name, tc.in, tc.w)
	}
}

// Diagnose puts the surest cause first and lists what it could not
// decide.
func TestDiagnoseOrdersAndListsUndecided(t *testing.T) {
	saw, _ := sawtooth()
	in := &Input{Finding: finding(model.OOMKilled, 128*mi, 256*mi), History: saw,
		Pod: pod(corev1.Container{Image: "example/api", Resources: limits("256Mi")})}
	causes, undecided := Diagnose(in)
	if len(causes) == 0 || causes[0].ID != model.CauseMemoryLeak || causes[0].Confidence != model.High {
		t.Fatalf("want memory-leak first with high confidence, got %+v", causes)
	}
	for i := 1; i < len(causes); i++ {
		if causes[i].Confidence.Rank() > causes[i-1].Confidence.Rank() {
			t.Errorf("causes not surest first: %+v", causes)
		}
	}
	ids := map[model.CauseID]bool{}
	for _, u := range undecided {
		ids[u.ID] = true
		if u.Needs == "" {
			t.Errorf("undecided %s says nothing of what would decide it", u.ID)
		}
	}
	if !ids[model.CauseNodePressure] || !ids[model.CauseExtraProcesses] || !ids[model.CausePageCache] {
		t.Errorf("want node-pressure, extra-processes and page-cache undecided without node data, kernel records and cache series: %+v", undecided)
	}
	if len(Detectors()) != len(model.CauseIDs) {
		t.Errorf("%d detectors for %d cause IDs", len(Detectors()), len(model.CauseIDs))
	}
}

// The command that sets the memory names the workload, for the kinds
// fix --apply changes; a Job's template cannot change, a bare pod's
// memory is not changed in place.
func TestResourcesFixCommand(t *testing.T) {
	f := finding(model.OOMKilled, 128*mi, 256*mi)
	for kind, want := range map[string]string{
		"Deployment":  "oomdoctor fix --apply deployment/x -n shop -c cart --memory-request 200Mi --memory-limit 300Mi",
		"StatefulSet": "oomdoctor fix --apply statefulset/x -n shop -c cart --memory-request 200Mi --memory-limit 300Mi",
		"CronJob":     "oomdoctor fix --apply cronjob/x -n shop -c cart --memory-request 200Mi --memory-limit 300Mi",
		"Job":         "",
		"Pod":         "",
		"":            "",
	} {
		in := &Input{Finding: f, Workload: model.WorkloadRef{Namespace: "shop", Kind: kind, Name: "x"}}
		fx := resourcesFix(in, "raise it", 200*mi, 300*mi)
		if fx.Command != want || fx.Text != "raise it" || !strings.Contains(fx.YAML, "memory: 300Mi") {
			t.Errorf("%q: %+v, want the command %q", kind, fx, want)
		}
	}
	in := &Input{Finding: f, Workload: model.WorkloadRef{Namespace: "shop", Kind: "DaemonSet", Name: "x"}}
	if fx := resourcesFix(in, "", 200*mi, 0); fx.Command != "oomdoctor fix --apply daemonset/x -n shop -c cart --memory-request 200Mi" {
		t.Errorf("request alone: %q", fx.Command)
	}
}

// A pod a Helm chart made (its standard labels) gets the command that
// writes the change into the chart's values too, for every kind a chart
// renders: the next helm upgrade would undo a change made on the cluster.
func TestChartFixCommand(t *testing.T) {
	f := finding(model.OOMKilled, 128*mi, 256*mi)
	helm := map[string]string{"app.kubernetes.io/managed-by": "Helm", "app.kubernetes.io/instance": "shop", "helm.sh/chart": "shop-0.3.0"}
	for _, tc := range []struct {
		kind   string
		labels map[string]string
		want   string
	}{
		{"Deployment", helm, "oomdoctor fix --chart CHART --values VALUES --release shop -n shop deployment/x -c cart --memory-request 200Mi --memory-limit 300Mi"},
		{"Job", helm, "oomdoctor fix --chart CHART --values VALUES --release shop -n shop job/x -c cart --memory-request 200Mi --memory-limit 300Mi"},
		{"Deployment", map[string]string{"app.kubernetes.io/instance": "shop"}, ""},
		{"Deployment", map[string]string{"app.kubernetes.io/managed-by": "Helm"}, ""},
		{"", helm, ""},
	} {
		p := pod(corev1.Container{Name: "cart"})
		p.Labels = tc.labels
		in := &Input{Finding: f, Pod: p, Workload: model.WorkloadRef{Namespace: "shop", Kind: tc.kind, Name: "x"}, KubeFlags: " --context prod"}
		fx := resourcesFix(in, "raise it", 200*mi, 300*mi)
		if fx.ChartCommand != tc.want {
			t.Errorf("%s %v: %q, want %q", tc.kind, tc.labels, fx.ChartCommand, tc.want)
		}
	}
	p := pod(corev1.Container{Name: "cart"})
	p.Labels = helm
	in := &Input{Finding: f, Pod: p, Workload: model.WorkloadRef{Namespace: "shop", Kind: "Deployment", Name: "x"}}
	var fx model.Fix
	lintFix(in, &fx, true)
	if fx.ChartCommand != "oomdoctor fix --chart CHART --values VALUES --release shop -n shop deployment/x --lint" || fx.Command != "oomdoctor fix --apply deployment/x -n shop --lint --configmaps" {
		t.Errorf("lint fix: %+v", fx)
	}
}
