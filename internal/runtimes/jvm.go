package runtimes

import (
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"
)

// JVM option sources, in the order the JVM applies them: a later one wins.
// JAVA_OPTS is no JVM variable: start scripts of many images pass it on.
var jvmEnvOrder = []string{"JAVA_TOOL_OPTIONS", "JAVA_OPTS", "CATALINA_OPTS", "JDK_JAVA_OPTIONS"}

func isJVM(words []word, env map[string]Env, repo string) bool {
	for _, w := range words {
		base := path.Base(w.text)
		if base == "java" || w.text == "-jar" {
			return true
		}
	}
	for _, name := range append(jvmEnvOrder, "_JAVA_OPTIONS") {
		if e, ok := env[name]; ok && strings.Contains(e.Value, "-X") {
			return true
		}
	}
	return knownImage(repo) == JVM
}

func jvmWhy(words []word, repo, tag string) string {
	for _, w := range words {
		if path.Base(w.text) == "java" {
			return "the java command"
		}
	}
	if knownImage(repo) == JVM {
		return "image " + repo + ":" + tag
	}
	return "JVM options in its environment"
}

var (
	xmxRe        = regexp.MustCompile(`^-Xmx(\d+[kKmMgGtT]?)$`)
	maxHeapRe    = regexp.MustCompile(`^-XX:MaxHeapSize=(\d+[kKmMgGtT]?)$`)
	maxRAMPctRe  = regexp.MustCompile(`^-XX:MaxRAMPercentage=(\d+(?:\.\d+)?)$`)
	maxRAMRe     = regexp.MustCompile(`^-XX:MaxRAM=(\d+[kKmMgGtT]?)$`)
	xmsRe        = regexp.MustCompile(`^(?:-Xms|-XX:InitialHeapSize=)(\d+[kKmMgGtT]?)$`)
	noContainers = "-XX:-UseContainerSupport"
)

// inspectJVM applies the JVM's options in its order; the last heap setting
// wins, and an explicit size beats a percentage.
func inspectJVM(words []word, env map[string]Env, info *Info) {
	type src struct {
		words []word
	}
	var ordered []src
	fromEnv := func(name string) {
		if e, ok := env[name]; ok {
			var ws []word
			for _, f := range splitFlags(e.Value) {
				ws = append(ws, word{text: f, source: name, path: e.Path, value: e.Value})
			}
			ordered = append(ordered, src{ws})
		}
	}
	for _, name := range jvmEnvOrder {
		fromEnv(name)
	}
	ordered = append(ordered, src{words})
	fromEnv("_JAVA_OPTIONS")

	var explicit, percent *Setting
	for _, s := range ordered {
		for _, w := range s.words {
			if !strings.HasPrefix(w.text, "-X") {
				continue
			}
			set := &Setting{Flag: w.text, Source: w.source, Path: w.path, Value: w.value}
			if newerJVMFlag(w.text) {
				info.NewerFlags = append(info.NewerFlags, set)
			}
			if w.text == "-XX:+IgnoreUnrecognizedVMOptions" {
				info.IgnoresUnknown = true
			}
			switch {
			case xssRe.MatchString(w.text):
				info.StackBytes, info.Stack = jvmSize(xssRe.FindStringSubmatch(w.text)[1]), set
			case threadStackRe.MatchString(w.text):
				// -XX:ThreadStackSize is in KiB.
				n, _ := strconv.ParseInt(threadStackRe.FindStringSubmatch(w.text)[1], 10, 64)
				info.StackBytes, info.Stack = n<<10, set
			case xmxRe.MatchString(w.text):
				info.HeapBytes = jvmSize(xmxRe.FindStringSubmatch(w.text)[1])
				explicit = set
			case maxHeapRe.MatchString(w.text):
				info.HeapBytes = jvmSize(maxHeapRe.FindStringSubmatch(w.text)[1])
				explicit = set
			case maxRAMPctRe.MatchString(w.text):
				info.HeapPercent, _ = strconv.ParseFloat(maxRAMPctRe.FindStringSubmatch(w.text)[1], 64)
				percent = set
			case xmsRe.MatchString(w.text):
				info.InitialHeapBytes, info.InitialHeap = jvmSize(xmsRe.FindStringSubmatch(w.text)[1]), set
			case maxRAMRe.MatchString(w.text):
				info.MaxRAMBytes = jvmSize(maxRAMRe.FindStringSubmatch(w.text)[1])
			case w.text == noContainers:
				info.ContainerSupportOff = set
			case malformedJVMFlag(w.text):
				info.BadFlags = append(info.BadFlags, set)
			}
		}
	}
	switch {
	case explicit != nil:
		info.Heap, info.HeapPercent = explicit, 0
	case percent != nil:
		info.Heap = percent
	}
}

// The JVM's memory flags and the values it takes: a whole number with
// an optional k, m, g or t; a percentage as a bare number.
var (
	jvmSizeFlags    = []string{"-Xmx", "-Xms", "-Xss", "-Xmn", "-XX:MaxHeapSize=", "-XX:InitialHeapSize=", "-XX:MinHeapSize=", "-XX:MaxRAM=", "-XX:MaxMetaspaceSize=", "-XX:MetaspaceSize=", "-XX:MaxDirectMemorySize=", "-XX:ReservedCodeCacheSize=", "-XX:MaxNewSize=", "-XX:NewSize="}
	jvmPercentFlags = []string{"-XX:MaxRAMPercentage=", "-XX:InitialRAMPercentage=", "-XX:MinRAMPercentage="}
	jvmSizeValue    = regexp.MustCompile(`^\d+[kKmMgGtT]?$`)
	jvmPercentValue = regexp.MustCompile(`^\d+(\.\d+)?$`)
)

// newerJVMFlag tells whether a flag came with JDK 10 (and 8u191): a JDK
// older than that stops at it ("Unrecognized VM option").
func newerJVMFlag(w string) bool {
	for _, f := range []string{"-XX:MaxRAMPercentage=", "-XX:InitialRAMPercentage=", "-XX:MinRAMPercentage=", "-XX:+UseContainerSupport", "-XX:-UseContainerSupport"} {
		if strings.HasPrefix(w, f) {
			return true
		}
	}
	return false
}

// malformedJVMFlag tells whether a word is one of the JVM's memory flags
// with a value it refuses at start ("Invalid maximum heap size:
// -Xmx1Gi", "Improperly specified VM option 'MaxRAMPercentage=75%'"),
// so the JVM does not start at all.
func malformedJVMFlag(w string) bool {
	for _, f := range jvmPercentFlags {
		if v, ok := strings.CutPrefix(w, f); ok {
			return !jvmPercentValue.MatchString(v)
		}
	}
	for _, f := range jvmSizeFlags {
		if v, ok := strings.CutPrefix(w, f); ok {
			return !jvmSizeValue.MatchString(v)
		}
	}
	return false
}

// MeantJVMFlag rewrites a malformed memory flag as the JVM takes it,
// when what it means is clear: Kubernetes' units (-Xmx1Gi: -Xmx1024m),
// a B (-Xmx1536MB: -Xmx1536m), a fraction (-Xmx1.5g: -Xmx1536m), a
// percent sign (MaxRAMPercentage=75%: 75.0). ok is false otherwise.
func MeantJVMFlag(w string) (string, bool) {
	for _, f := range jvmPercentFlags {
		if v, ok := strings.CutPrefix(w, f); ok {
			p, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), "%"), 64)
			if err != nil || p <= 0 || p > 100 {
				return "", false
			}
			return f + strconv.FormatFloat(p, 'f', 1, 64), true
		}
	}
	for _, f := range jvmSizeFlags {
		v, ok := strings.CutPrefix(w, f)
		if !ok {
			continue
		}
		// As the JVM means its units: powers of 1024, whatever the case
		// or the B.
		v, mult := meantUnit(v)
		x, err := strconv.ParseFloat(v, 64)
		if err != nil || x <= 0 {
			return "", false
		}
		b := int64(x * float64(mult))
		switch {
		case b >= 1<<20 && b%(1<<20) == 0:
			return fmt.Sprintf("%s%dm", f, b>>20), true
		case b >= 1<<10 && b%(1<<10) == 0:
			return fmt.Sprintf("%s%dk", f, b>>10), true
		}
		return fmt.Sprintf("%s%d", f, b), true
	}
	return "", false
}

var (
	xssRe         = regexp.MustCompile(`^-Xss(\d+[kKmMgG]?)$`)
	threadStackRe = regexp.MustCompile(`^-XX:ThreadStackSize=(\d+)$`)
)

// meantUnit splits the unit from a size written as people write them
// (1Gi, 1536MB, 2g): spaces, a B and an i dropped, then binaryUnit.
func meantUnit(v string) (string, int64) {
	return binaryUnit(strings.TrimSuffix(strings.TrimSuffix(strings.TrimSpace(v), "B"), "i"))
}

// binaryUnit splits a trailing k, m, g or t (either case, powers of
// 1024) from a size: the number's text and the multiplier (1 for none).
func binaryUnit(v string) (string, int64) {
	if n := len(v); n > 0 {
		switch v[n-1] {
		case 'k', 'K':
			return v[:n-1], 1 << 10
		case 'm', 'M':
			return v[:n-1], 1 << 20
		case 'g', 'G':
			return v[:n-1], 1 << 30
		case 't', 'T':
			return v[:n-1], 1 << 40
		}
	}
	return v, 1
}

// jvmSize reads a JVM size: bytes, or k/m/g/t (powers of 1024).
func jvmSize(s string) int64 {
	num, mult := binaryUnit(s)
	n, _ := strconv.ParseInt(num, 10, 64)
	return n * mult
}

// JVMSizeFlag writes a heap size as -Xmx in MiB: -Xmx768m.
func JVMSizeFlag(bytes int64) string { return fmt.Sprintf("-Xmx%dm", bytes>>20) }

// DefaultJVMHeap is the heap a container-aware JVM picks without heap
// flags under a memory limit: a quarter of it, but for small limits half of
// it up to about 126 MiB (measured with OpenJDK 17: 128Mi → 64Mi, 256Mi →
// 126Mi, 512Mi → 128Mi, 1Gi → 256Mi).
func DefaultJVMHeap(limit int64) int64 {
	if limit/4 >= 128<<20 {
		return limit / 4
	}
	return min(limit/2, 126<<20)
}

// EffectiveJVMHeap is the heap the JVM will use under the limit: the
// explicit size, the percentage of min(limit, MaxRAM), or the default.
func EffectiveJVMHeap(info Info, limit int64) int64 {
	mem := limit
	if info.MaxRAMBytes > 0 && (mem == 0 || info.MaxRAMBytes < mem) {
		mem = info.MaxRAMBytes
	}
	switch {
	case info.HeapBytes > 0:
		return info.HeapBytes
	case info.HeapPercent > 0:
		// The JVM raises the maximum heap to the initial one.
		return max(int64(float64(mem)*info.HeapPercent/100), info.InitialHeapBytes)
	}
	return max(DefaultJVMHeap(mem), info.InitialHeapBytes)
}

// JVMHeapSetting is the setting that decides a JVM's maximum heap under a
// limit (nil when none does) and the flag that makes the heap fit the
// limit: -Xmx or MaxRAMPercentage as HeapFlag writes it, or, with no
// -Xmx and an -Xms the JVM raises its maximum to (initial), an -Xms.
func JVMHeapSetting(info Info, limit int64) (set *Setting, fitFlag string, initial bool) {
	if info.HeapBytes == 0 && info.InitialHeap != nil && EffectiveJVMHeap(info, limit) == info.InitialHeapBytes {
		return info.InitialHeap, "-Xms" + strings.TrimPrefix(JVMSizeFlag(FitHeap(JVM, limit)), "-Xmx"), true
	}
	return info.Heap, HeapFlag(info, limit), false
}

// JDKVersion is a JDK's version as far as an image tag tells it.
type JDKVersion struct {
	Major, Update int
	// Known is false when the tag does not say (latest, a date, a digest).
	Known bool
	// Frozen is set for images that stopped receiving updates (the
	// deprecated "openjdk" images), so a floating tag is old too.
	Frozen bool
}

func (v JDKVersion) String() string {
	switch {
	case !v.Known:
		return "unknown"
	case v.Major == 8 && v.Update > 0:
		return fmt.Sprintf("8u%d", v.Update)
	case v.Update > 0:
		return fmt.Sprintf("%d.0.%d", v.Major, v.Update)
	}
	return strconv.Itoa(v.Major)
}

var (
	jdk8uRe     = regexp.MustCompile(`(?:^|[^0-9])8u(\d+)`)
	jdk180Re    = regexp.MustCompile(`1\.8\.0_(\d+)`)
	jdkPatchRe  = regexp.MustCompile(`(?:^|[^0-9.])(\d{1,2})\.0\.(\d+)`)
	jdkMarkerRe = regexp.MustCompile(`(?:jdk|jre|java|open)-?(\d{1,2})(?:[^0-9]|$)`)
	jdkMajorRe  = regexp.MustCompile(`^(\d{1,2})(?:[^0-9.]|$)`)
)

// parseJDK reads the JDK version from an image's repository and tag:
// eclipse-temurin:8u362-b09-jre, openjdk:11.0.14-jre, tomcat:9.0-jdk11,
// gcr.io/distroless/java17.
func parseJDK(repo, tag string) JDKVersion {
	v := JDKVersion{Frozen: imageBase(repo) == "openjdk"}
	switch {
	case jdk8uRe.MatchString(tag):
		v.Major, v.Known = 8, true
		v.Update, _ = strconv.Atoi(jdk8uRe.FindStringSubmatch(tag)[1])
	case jdk180Re.MatchString(tag):
		v.Major, v.Known = 8, true
		v.Update, _ = strconv.Atoi(jdk180Re.FindStringSubmatch(tag)[1])
	case jdkPatchRe.MatchString(tag) && imageBase(repo) != "tomcat" && imageBase(repo) != "jetty":
		m := jdkPatchRe.FindStringSubmatch(tag)
		v.Major, _ = strconv.Atoi(m[1])
		v.Update, _ = strconv.Atoi(m[2])
		v.Known = true
	case jdkMarkerRe.MatchString(tag):
		v.Major, _ = strconv.Atoi(jdkMarkerRe.FindStringSubmatch(tag)[1])
		v.Known = true
	case jdkMarkerRe.MatchString(imageBase(repo)):
		v.Major, _ = strconv.Atoi(jdkMarkerRe.FindStringSubmatch(imageBase(repo))[1])
		v.Known = true
	case jdkMajorRe.MatchString(tag) && imageBase(repo) != "tomcat" && imageBase(repo) != "jetty":
		v.Major, _ = strconv.Atoi(jdkMajorRe.FindStringSubmatch(tag)[1])
		v.Known = true
	}
	if v.Known && v.Update == 0 && v.Frozen {
		// The deprecated openjdk images' floating tags stopped at these.
		switch v.Major {
		case 8:
			v.Update = 342
		case 11:
			v.Update = 16
		}
	}
	return v
}

// CgroupSupport says what a JDK version knows about container limits.
type CgroupSupport int

const (
	// SupportUnknown: the version is not known.
	SupportUnknown CgroupSupport = iota
	// SupportNone: no container support; the heap is sized from the
	// node's memory (JDK 8 before 8u191, JDK 9).
	SupportNone
	// SupportV1: reads cgroup v1 limits only; on cgroup v2 nodes it sizes
	// the heap from the node's memory (8u191-8u371, 10, 11 before 11.0.16,
	// 12-14).
	SupportV1
	// SupportV2: reads cgroup v1 and v2 (8u372+, 11.0.16+, 15+).
	SupportV2
)

// Cgroups tells what the JDK reads. A floating tag of a maintained image
// ("eclipse-temurin:8") is current, so it reads both.
func (v JDKVersion) Cgroups() CgroupSupport {
	if !v.Known {
		return SupportUnknown
	}
	switch {
	case v.Major >= 15:
		return SupportV2
	case v.Major == 8:
		switch {
		case v.Update == 0:
			return SupportV2
		case v.Update < 191:
			return SupportNone
		case v.Update < 372:
			return SupportV1
		}
		return SupportV2
	case v.Major == 9:
		return SupportNone
	case v.Major == 11:
		if v.Update == 0 || v.Update >= 16 {
			return SupportV2
		}
		return SupportV1
	case v.Major == 10 || v.Major >= 12 && v.Major <= 14:
		return SupportV1
	}
	return SupportUnknown
}
