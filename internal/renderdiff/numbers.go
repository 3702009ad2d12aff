package renderdiff

import (
	"math"
	"strconv"
	"strings"
)

// binary are the units of the sizes fix writes, in bytes: Kubernetes'
// and GOMEMLIMIT's binary suffixes, and the JVM's (-Xmx512m, -Xmx2g),
// which are binary too.
var binary = map[string]float64{
	"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40,
	"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40,
}

var jvm = map[string]float64{"k": 1 << 10, "K": 1 << 10, "m": 1 << 20, "M": 1 << 20, "g": 1 << 30, "G": 1 << 30}

// numberIn splits a word around its first number: "-Xmx384m" is "-Xmx",
// "384", "m".
func numberIn(w string) (pre, num, suf string, ok bool) {
	i := strings.IndexFunc(w, func(r rune) bool { return r >= '0' && r <= '9' })
	if i < 0 {
		return "", "", "", false
	}
	j := i
	for j < len(w) && (w[j] >= '0' && w[j] <= '9' || w[j] == '.') {
		j++
	}
	return w[:i], w[i:j], w[j:], true
}

// NumberFor is the number a value that a template writes into the word
// old (with its unit around it, -Xmx{{ .Values.heapMb }}m) must take for
// the template to write new instead: the same unit, or another of the same
// family when fix wrote one (512Mi became 1Gi: 1024).
func NumberFor(old, new string) (oldNum, newNum string, ok bool) {
	pre, on, suf, ok := numberIn(old)
	if !ok {
		return "", "", false
	}
	npre, nn, nsuf, ok := numberIn(new)
	if !ok || npre != pre {
		return "", "", false
	}
	if nsuf == suf {
		return on, nn, true
	}
	units := binary
	if _, isBinary := binary[suf]; !isBinary {
		// The JVM's units go with a flag (-Xmx), not a quantity, where m
		// is a thousandth.
		if pre == "" {
			return "", "", false
		}
		units = jvm
	}
	from, ok1 := units[suf]
	to, ok2 := units[nsuf]
	nv, err := strconv.ParseFloat(nn, 64)
	if !ok1 || !ok2 || err != nil {
		return "", "", false
	}
	v := nv * to / from
	if v != math.Trunc(v) {
		return "", "", false
	}
	return on, strconv.FormatFloat(v, 'f', -1, 64), true
}
