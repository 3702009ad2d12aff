package runtimes

import (
	"path"
	"regexp"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
)

// ---- Go

func isGo(env map[string]Env, repo string) bool {
	for _, n := range []string{"GOMEMLIMIT", "GOGC"} {
		if _, ok := env[n]; ok {
			return true
		}
	}
	return knownImage(repo) == Go
}

var goMemLimitRe = regexp.MustCompile(`^(\d+)(B|KiB|MiB|GiB|TiB)?$`)

func inspectGo(env map[string]Env, info *Info) {
	if e, ok := env["GOMEMLIMIT"]; ok && e.ResourceField != "" {
		d := int64(1)
		if q, err := resource.ParseQuantity(e.Divisor); err == nil && q.Value() > 0 {
			d = q.Value()
		}
		info.GoMemLimitFrom = &FieldRef{Resource: e.ResourceField, Divisor: e.Divisor, DivisorBytes: d, Path: e.Path}
	} else if ok {
		info.GoMemLimitSet = &Setting{Flag: "GOMEMLIMIT=" + e.Value, Source: "GOMEMLIMIT", Path: e.Path, Value: e.Value}
		info.GoMemLimit = ParseGoMemLimit(e.Value)
	}
	if e, ok := env["GOGC"]; ok {
		info.GOGC = e.Value
	}
}

// GoMemLimitFor is the GOMEMLIMIT the Go runtime reads from the
// downward API under a memory limit: the limit over the divisor, a bare
// number Go takes as bytes (0 when it is not the limit's).
func (i Info) GoMemLimitFor(limit int64) int64 {
	if i.GoMemLimitFrom == nil || i.GoMemLimitFrom.Resource != "limits.memory" {
		return 0
	}
	return (limit + i.GoMemLimitFrom.DivisorBytes - 1) / i.GoMemLimitFrom.DivisorBytes
}

// ParseGoMemLimit reads GOMEMLIMIT's format (bytes with an optional B,
// KiB, MiB, GiB or TiB suffix); 0 for "off" or text that does not parse.
func ParseGoMemLimit(s string) int64 {
	m := goMemLimitRe.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	switch m[2] {
	case "KiB":
		n <<= 10
	case "MiB":
		n <<= 20
	case "GiB":
		n <<= 30
	case "TiB":
		n <<= 40
	}
	return n
}

// GoMemLimitValue writes bytes as GOMEMLIMIT expects, in MiB: "921MiB".
func GoMemLimitValue(bytes int64) string { return strconv.FormatInt(bytes>>20, 10) + "MiB" }

// ---- Node.js

var maxOldSpaceRe = regexp.MustCompile(`^--max[-_]old[-_]space[-_]size=(\d+)$`)

func isNode(words []word, env map[string]Env, repo string) bool {
	for _, w := range words {
		switch path.Base(w.text) {
		case "node", "nodejs", "npm", "npx", "yarn", "pnpm":
			return true
		}
	}
	if _, ok := env["NODE_OPTIONS"]; ok {
		return true
	}
	return knownImage(repo) == Node
}

// inspectNode finds --max-old-space-size (MiB) in NODE_OPTIONS or the
// command line; the command line wins.
func inspectNode(cmd []word, env map[string]Env, info *Info) {
	var words []word
	if e, ok := env["NODE_OPTIONS"]; ok {
		for _, f := range splitFlags(e.Value) {
			words = append(words, word{text: f, source: "NODE_OPTIONS", path: e.Path, value: e.Value})
		}
	}
	words = append(words, cmd...)
	for _, w := range words {
		if m := maxOldSpaceRe.FindStringSubmatch(w.text); m != nil {
			mib, _ := strconv.ParseInt(m[1], 10, 64)
			info.HeapBytes = mib << 20
			info.Heap = &Setting{Flag: w.text, Source: w.source, Path: w.path, Value: w.value}
		} else if _, v, ok := nodeSizeFlag(w.text); ok && !nodeMiB.MatchString(v) {
			info.BadFlags = append(info.BadFlags, &Setting{Flag: w.text, Source: w.source, Path: w.path, Value: w.value})
		}
	}
}

// V8's heap size flags take a whole number of MiB, nothing else: "illegal
// value for flag --max-old-space-size=1Gi of type size_t", and node
// exits.
var (
	nodeSizeFlagRe = regexp.MustCompile(`^(--max[-_]old[-_]space[-_]size|--max[-_]semi[-_]space[-_]size)(?:=(.*))?$`)
	nodeMiB        = regexp.MustCompile(`^\d+$`)
)

// nodeSizeFlag splits a V8 size flag into its name and value; a flag with
// no "=" has none (V8 does not take the next word as its value).
func nodeSizeFlag(w string) (flag, value string, ok bool) {
	m := nodeSizeFlagRe.FindStringSubmatch(w)
	if m == nil {
		return "", "", false
	}
	return m[1], m[2], true
}

// MeantNodeFlag rewrites a V8 size flag V8 refuses as the MiB it means,
// when a unit says what that is (1Gi, 2g, 1536MB: 1024, 2048, 1536); ok
// is false otherwise (1.5 could be GiB or MiB).
func MeantNodeFlag(w string) (string, bool) {
	flag, v, ok := nodeSizeFlag(w)
	if !ok {
		return "", false
	}
	v, mult := meantUnit(v)
	x, err := strconv.ParseFloat(v, 64)
	mib := x * float64(mult) / (1 << 20)
	if mult < 1<<20 || err != nil || x <= 0 || mib != float64(int64(mib)) {
		return "", false // no unit (or k) says how much is meant; or not whole MiB
	}
	return flag + "=" + strconv.FormatInt(int64(mib), 10), true
}

// NodeHeapFlag writes --max-old-space-size for bytes (in MiB).
func NodeHeapFlag(bytes int64) string {
	return "--max-old-space-size=" + strconv.FormatInt(bytes>>20, 10)
}

// ---- .NET

func isDotNet(words []word, env map[string]Env, repo string) bool {
	for _, w := range words {
		if path.Base(w.text) == "dotnet" {
			return true
		}
	}
	for name := range env {
		if strings.HasPrefix(name, "DOTNET_GC") || strings.HasPrefix(name, "COMPlus_GC") {
			return true
		}
	}
	return knownImage(repo) == DotNet
}

// inspectDotNet reads GCHeapHardLimit (bytes) and GCHeapHardLimitPercent,
// which .NET parses as hexadecimal ("0xC800000", "4B").
func inspectDotNet(env map[string]Env, info *Info) {
	for _, prefix := range []string{"COMPlus_", "DOTNET_"} { // DOTNET_ wins
		if e, ok := env[prefix+"GCHeapHardLimit"]; ok {
			if n, ok := parseHex(e.Value); ok {
				info.HeapBytes, info.HeapPercent = n, 0
				info.Heap = &Setting{Flag: e.Name + "=" + e.Value, Source: e.Name, Path: e.Path, Value: e.Value}
			}
		}
		if e, ok := env[prefix+"GCHeapHardLimitPercent"]; ok && info.HeapBytes == 0 {
			if n, ok := parseHex(e.Value); ok {
				info.HeapPercent = float64(n)
				info.Heap = &Setting{Flag: e.Name + "=" + e.Value, Source: e.Name, Path: e.Path, Value: e.Value}
			}
		}
	}
}

func parseHex(s string) (int64, bool) {
	s = strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(s), "0x"), "0X")
	n, err := strconv.ParseInt(s, 16, 64)
	return n, err == nil
}

// DotNetPercentValue writes a percentage as .NET reads it: hexadecimal.
func DotNetPercentValue(pct int) string {
	return "0x" + strings.ToUpper(strconv.FormatInt(int64(pct), 16))
}

// DotNetDefaultPercent is the share of the container limit .NET's GC uses
// by default in a container.
const DotNetDefaultPercent = 75
