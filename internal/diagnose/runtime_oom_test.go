package diagnose

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/oomdoctor/oomdoctor/internal/model"
	"github.com/oomdoctor/oomdoctor/internal/runtimes"
)

// ranOut is a runtime-oom finding of the cart container under a limit.
func ranOut(lim int64, o runtimes.OutOfMemory) *model.Finding {
	f := finding(model.RuntimeOOM, 128*mi, lim)
	o.From = "termination message"
	f.OutOfMemory = &o
	code := int32(1)
	f.ExitCode = &code
	return f
}

func TestRuntimeOOM(t *testing.T) {
	javaHeap := runtimes.OutOfMemory{Runtime: runtimes.JVM, Kind: runtimes.OOMHeap, Message: "java.lang.OutOfMemoryError: Java heap space"}
	jvm := func(args ...string) *corev1.Pod {
		return pod(corev1.Container{Image: "eclipse-temurin:17", Args: append(append([]string{"java"}, args...), "-jar", "app.jar"), Resources: limits("1Gi")})
	}
	node := pod(corev1.Container{Image: "node:20", Args: []string{"node", "server.js"}, Resources: limits("1Gi")})
	used := steady() // 235-250Mi, 255Mi at its kills
	used.Source = "Prometheus test"
	for name, tc := range map[string]struct {
		in *Input
		w  want
	}{
		// 1Gi: the default heap is 256Mi, the fit 768Mi: MaxRAMPercentage 75.
		"JVM default heap under 1Gi": {&Input{Finding: ranOut(1<<30, javaHeap), Pod: jvm()}, want{conf: model.High, text: "the JVM's default, 256Mi (25% of the limit)"}},
		"its fix is the percentage":  {&Input{Finding: ranOut(1<<30, javaHeap), Pod: jvm()}, want{conf: model.High, text: "Raise the heap to 768Mi (-XX:MaxRAMPercentage=75.0"}},
		"-Xmx is raised as -Xmx":     {&Input{Finding: ranOut(1<<30, javaHeap), Pod: jvm("-Xmx300m")}, want{conf: model.High, text: "-Xmx768m"}},
		"the working set shows the room": {&Input{Finding: ranOut(1<<30, javaHeap), Pod: jvm(), History: used},
			want{conf: model.High, text: "working set before the exit: 255Mi (25% of the 1.0Gi limit)"}},
		// -Xmx700m under 1Gi is over 90% of the 768Mi fit: the limit must
		// grow, to hold 1050Mi of heap: 1400Mi, rounded to 1408Mi.
		"a heap at the fit needs a larger limit": {&Input{Finding: ranOut(1<<30, javaHeap), Pod: jvm("-Xmx700m")}, want{conf: model.High, text: "Raise the limit to 1408Mi, with the heap 1.0Gi (-Xmx1056m)"}},
		"an explicit heap does not follow":       {&Input{Finding: ranOut(1<<30, javaHeap), Pod: jvm("-Xmx700m")}, want{conf: model.High, text: "The heap does not follow the limit as set: change both."}},
		"V8 without a flag": {&Input{Finding: ranOut(1<<30, runtimes.OutOfMemory{Runtime: runtimes.Node, Kind: runtimes.OOMHeap, Message: "Reached heap limit Allocation failed - JavaScript heap out of memory"}), Pod: node},
			want{conf: model.High, text: "--max-old-space-size=768"}},
		"metaspace is not the heap": {&Input{Finding: ranOut(1<<30, runtimes.OutOfMemory{Runtime: runtimes.JVM, Kind: runtimes.OOMMetaspace, Message: "java.lang.OutOfMemoryError: Metaspace"}), Pod: jvm()},
			want{conf: model.High, text: "MaxMetaspaceSize"}},
		"Go refused memory": {&Input{Finding: ranOut(1<<30, runtimes.OutOfMemory{Runtime: runtimes.Go, Kind: runtimes.OOMRefused, Message: "runtime: out of memory"}), Pod: pod(corev1.Container{Image: "example/api", Resources: limits("1Gi")})},
			want{conf: model.High, text: "vm.overcommit_memory"}},
		"the pod is gone":               {&Input{Finding: ranOut(1<<30, javaHeap)}, want{conf: model.High, text: "Raise the JVM's heap (-Xmx"}},
		"an OOM kill is not this cause": {&Input{Finding: finding(model.OOMKilled, 128*mi, 1<<30), Pod: jvm()}, want{}},
	} {
		check(t, runtimeOOM{}, name, tc.in, tc.w)
	}
}

// Only runtime-oom speaks of a runtime-oom finding: nothing was killed,
// so the causes of kills (a limit too low, the node's pressure) are
// neither found nor undecided.
func TestRuntimeOOMAlone(t *testing.T) {
	in := &Input{Finding: ranOut(256*mi, runtimes.OutOfMemory{Runtime: runtimes.JVM, Kind: runtimes.OOMHeap, Message: "java.lang.OutOfMemoryError: Java heap space"}), History: steady(),
		Pod: pod(corev1.Container{Image: "eclipse-temurin:17", Args: []string{"java", "-Xmx240m", "-jar", "app.jar"}, Resources: limits("256Mi")}), Now: t0.Add(72 * time.Hour)}
	causes, undecided := Diagnose(in)
	if len(causes) != 1 || causes[0].ID != model.CauseRuntimeOOM || len(undecided) != 0 {
		t.Fatalf("causes %+v, undecided %+v", causes, undecided)
	}
	// -Xmx240m under 256Mi is past the fit (128Mi): the limit grows to
	// hold 360Mi of heap and the JVM's 128Mi beside it.
	if fx := causes[0].Fix; !strings.Contains(fx.Text, "Raise the limit to 512Mi") || fx.YAML == "" || fx.Flag != "-Xmx384m" {
		t.Errorf("fix %+v", fx)
	}
}
