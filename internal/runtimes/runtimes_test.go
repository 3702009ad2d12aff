package runtimes

import "testing"

func TestInspect(t *testing.T) {
	cases := []struct {
		name       string
		c          Container
		runtime    Runtime
		heap       int64
		pct        float64
		source     string
		goLimit    int64
		containers bool // -XX:-UseContainerSupport seen
	}{
		{"java command with -Xmx", Container{Image: "registry.example/app:1", Command: []string{"java", "-Xmx1536m", "-jar", "app.jar"}}, JVM, 1536 << 20, 0, "command", 0, false},
		{"JAVA_TOOL_OPTIONS on a temurin image", Container{Image: "eclipse-temurin:17-jre", Env: []Env{{Name: "JAVA_TOOL_OPTIONS", Value: "-XX:+UseG1GC -Xmx2g"}}}, JVM, 2 << 30, 0, "JAVA_TOOL_OPTIONS", 0, false},
		{"command line beats JAVA_TOOL_OPTIONS", Container{Command: []string{"java", "-Xmx512m", "-jar", "a.jar"}, Env: []Env{{Name: "JAVA_TOOL_OPTIONS", Value: "-Xmx2g"}}}, JVM, 512 << 20, 0, "command", 0, false},
		{"_JAVA_OPTIONS beats the command line", Container{Command: []string{"java", "-Xmx512m"}, Env: []Env{{Name: "_JAVA_OPTIONS", Value: "-Xmx3g"}}}, JVM, 3 << 30, 0, "_JAVA_OPTIONS", 0, false},
		{"MaxRAMPercentage", Container{Image: "amazoncorretto:21", Args: []string{"-XX:MaxRAMPercentage=90.0"}}, JVM, 0, 90, "args", 0, false},
		{"size beats percentage", Container{Image: "openjdk:17", Env: []Env{{Name: "JAVA_TOOL_OPTIONS", Value: "-Xmx1g -XX:MaxRAMPercentage=80"}}}, JVM, 1 << 30, 0, "JAVA_TOOL_OPTIONS", 0, false},
		{"$(VAR) expansion", Container{Command: []string{"java", "-Xmx$(HEAP)", "-jar", "x"}, Env: []Env{{Name: "HEAP", Value: "700m"}}}, JVM, 700 << 20, 0, "command", 0, false},
		{"a shell wrapping java", Container{Command: []string{"sh", "-c", "exec java -Xmx256m -jar /app.jar"}}, JVM, 256 << 20, 0, "command", 0, false},
		{"container support off", Container{Image: "eclipse-temurin:21", Args: []string{"-XX:-UseContainerSupport"}}, JVM, 0, 0, "", 0, true},
		{"Go with GOMEMLIMIT", Container{Image: "ghcr.io/x/api:1", Env: []Env{{Name: "GOMEMLIMIT", Value: "900MiB"}}}, Go, 0, 0, "", 900 << 20, false},
		{"Node with NODE_OPTIONS", Container{Image: "node:20-alpine", Env: []Env{{Name: "NODE_OPTIONS", Value: "--max-old-space-size=4096"}}}, Node, 4096 << 20, 0, "NODE_OPTIONS", 0, false},
		{"Node flag on the command line", Container{Command: []string{"node", "--max_old_space_size=512", "server.js"}}, Node, 512 << 20, 0, "command", 0, false},
		{".NET hard limit in hex", Container{Image: "mcr.microsoft.com/dotnet/aspnet:8.0", Env: []Env{{Name: "DOTNET_GCHeapHardLimit", Value: "0xC800000"}}}, DotNet, 200 << 20, 0, "DOTNET_GCHeapHardLimit", 0, false},
		{".NET percent in hex", Container{Image: "mcr.microsoft.com/dotnet/runtime:8.0", Env: []Env{{Name: "DOTNET_GCHeapHardLimitPercent", Value: "5A"}}}, DotNet, 0, 90, "DOTNET_GCHeapHardLimitPercent", 0, false},
		{"nothing known", Container{Image: "nginx:1.27", Command: []string{"nginx"}}, Unknown, 0, 0, "", 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			info := Inspect(tc.c)
			if info.Runtime != tc.runtime || info.HeapBytes != tc.heap || info.HeapPercent != tc.pct || info.GoMemLimit != tc.goLimit || (info.ContainerSupportOff != nil) != tc.containers {
				t.Errorf("got %+v", info)
			}
			if tc.source != "" && (info.Heap == nil || info.Heap.Source != tc.source) {
				t.Errorf("heap setting %+v, want source %s", info.Heap, tc.source)
			}
			if info.Runtime != Unknown && info.Why == "" {
				t.Error("no reason given for the runtime")
			}
		})
	}
}

func TestJDKVersions(t *testing.T) {
	cases := []struct {
		image string
		want  string
		cg    CgroupSupport
	}{
		{"eclipse-temurin:8u362-b09-jre", "8u362", SupportV1},
		{"eclipse-temurin:8u402-b06-jre", "8u402", SupportV2},
		{"eclipse-temurin:8-jre", "8", SupportV2},
		{"openjdk:8-jre", "8u342", SupportV1},
		{"openjdk:8u181-jdk", "8u181", SupportNone},
		{"openjdk:11.0.14-jre-slim", "11.0.14", SupportV1},
		{"openjdk:11", "11.0.16", SupportV2},
		{"amazoncorretto:11.0.20", "11.0.20", SupportV2},
		{"tomcat:9.0-jdk11-temurin", "11", SupportV2},
		{"gcr.io/distroless/java17-debian12", "17", SupportV2},
		{"ibm-semeru-runtimes:open-17-jre", "17", SupportV2},
		{"openjdk:13-alpine", "13", SupportV1},
		{"java:9", "9", SupportNone},
		{"eclipse-temurin:latest", "unknown", SupportUnknown},
	}
	for _, tc := range cases {
		repo, tag := splitImage(tc.image)
		v := parseJDK(repo, tag)
		if v.String() != tc.want || v.Cgroups() != tc.cg {
			t.Errorf("%s: got %s (%v), want %s (%v)", tc.image, v, v.Cgroups(), tc.want, tc.cg)
		}
	}
}

func TestFit(t *testing.T) {
	mi := int64(1 << 20)
	if got := FitHeap(JVM, 256*mi); got != 128*mi {
		t.Errorf("JVM in 256Mi: %d", got>>20)
	}
	if got := FitHeap(JVM, 1024*mi); got != 768*mi {
		t.Errorf("JVM in 1Gi: %d", got>>20)
	}
	// Measured: a JVM with -Xmx512m in 256Mi was killed, with -Xmx128m not.
	if JudgeHeap(JVM, 512*mi, 256*mi) != HeapTooBig || JudgeHeap(JVM, 128*mi, 256*mi) != HeapFits {
		t.Error("JudgeHeap disagrees with the measured JVM runs")
	}
	if JudgeHeap(JVM, 800*mi, 1024*mi) != HeapTight {
		t.Error("78% of the limit is tight")
	}
	for limit, heap := range map[int64]int64{128 * mi: 64 * mi, 256 * mi: 126 * mi, 400 * mi: 126 * mi, 512 * mi: 128 * mi, 1024 * mi: 256 * mi, 2048 * mi: 512 * mi} {
		if got := DefaultJVMHeap(limit); got != heap {
			t.Errorf("default heap in %dMi: %dMi, measured %dMi", limit>>20, got>>20, heap>>20)
		}
	}
	if ParseGoMemLimit("1GiB") != 1<<30 || ParseGoMemLimit("off") != 0 || ParseGoMemLimit("123") != 123 {
		t.Error("GOMEMLIMIT parsing")
	}
	if DotNetPercentValue(75) != "0x4B" {
		t.Error(DotNetPercentValue(75))
	}
}

func TestJVMThreadStacks(t *testing.T) {
	for _, tc := range []struct {
		c    Container
		want int64
		flag string
	}{
		{Container{Image: "eclipse-temurin:17", Args: []string{"java", "-Xss512k", "-jar", "a.jar"}}, 512 << 10, "-Xss512k"},
		{Container{Image: "eclipse-temurin:17", Env: []Env{{Name: "JAVA_TOOL_OPTIONS", Value: "-Xmx1g -XX:ThreadStackSize=2048"}}}, 2 << 20, "-XX:ThreadStackSize=2048"},
		{Container{Image: "eclipse-temurin:17", Env: []Env{{Name: "JAVA_TOOL_OPTIONS", Value: "-Xss4m"}}, Args: []string{"java", "-Xss1m", "-jar", "a.jar"}}, 1 << 20, "-Xss1m"},
		{Container{Image: "eclipse-temurin:17", Args: []string{"java", "-jar", "a.jar"}}, 0, ""},
	} {
		info := Inspect(tc.c)
		flag := ""
		if info.Stack != nil {
			flag = info.Stack.Flag
		}
		if info.StackBytes != tc.want || flag != tc.flag {
			t.Errorf("%+v: stack %d (%s), want %d (%s)", tc.c, info.StackBytes, flag, tc.want, tc.flag)
		}
	}
}

// Without -Xmx the JVM raises its maximum heap to -Xms (checked with
// OpenJDK 17: -XX:MaxRAM=1g -Xms1g gives MaxHeapSize 1g); with -Xmx,
// -Xmx decides.
func TestJVMInitialHeapRaisesTheMaximum(t *testing.T) {
	for _, tc := range []struct {
		opts string
		want int64
	}{
		{"-Xms1g", 1 << 30},
		{"-Xms128m", 256 << 20}, // a quarter of 1Gi, the default, is more
		{"-Xms512m -XX:MaxRAMPercentage=25", 512 << 20},
		{"-XX:InitialHeapSize=700m -XX:MaxRAMPercentage=75", 768 << 20},
		{"-Xms2g -Xmx1g", 1 << 30},
	} {
		info := Inspect(Container{Image: "eclipse-temurin:21", Env: []Env{{Name: "JAVA_TOOL_OPTIONS", Value: tc.opts}}})
		if got := EffectiveJVMHeap(info, 1<<30); got != tc.want {
			t.Errorf("%s under 1Gi: heap %d, want %d", tc.opts, got, tc.want)
		}
	}
}

// The JVM's and V8's refused memory flags, and what they mean.
func TestBadMemoryFlags(t *testing.T) {
	for w, want := range map[string]string{
		"-Xmx1Gi": "-Xmx1024m", "-Xms1.5g": "-Xms1536m", "-Xmx1536MB": "-Xmx1536m", "-Xss1Mi": "-Xss1m",
		"-XX:MaxRAMPercentage=75%": "-XX:MaxRAMPercentage=75.0", "-Xmx": "",
	} {
		if !malformedJVMFlag(w) {
			t.Errorf("%s: not seen as malformed", w)
		}
		if got, _ := MeantJVMFlag(w); got != want {
			t.Errorf("%s means %q, want %q", w, got, want)
		}
	}
	for _, w := range []string{"-Xmx1536m", "-Xms2G", "-Xss512k", "-XX:MaxRAMPercentage=75", "-XX:MaxRAMPercentage=75.5", "-XshowSettings:vm", "-Xmixed"} {
		if malformedJVMFlag(w) {
			t.Errorf("%s: seen as malformed", w)
		}
	}
	for w, want := range map[string]string{
		"--max-old-space-size=1Gi": "--max-old-space-size=1024", "--max-old-space-size=2g": "--max-old-space-size=2048",
		"--max_old_space_size=1536MB": "--max_old_space_size=1536", "--max-old-space-size=1.5": "", "--max-old-space-size=512k": "",
	} {
		if got, _ := MeantNodeFlag(w); got != want {
			t.Errorf("%s means %q, want %q", w, got, want)
		}
	}
}
