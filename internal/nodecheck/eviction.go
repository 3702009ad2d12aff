package nodecheck

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
)

// defaultHardMemory is the kubelet's hard eviction threshold on
// memory.available when none is set.
const defaultHardMemory = "100Mi"

// threshold is an eviction threshold on memory.available as the kubelet
// reads it: a share of the node's memory or a quantity.
type threshold struct {
	text string
	// share is the fraction of memory (0 to 1) for a percentage; bytes
	// the size otherwise.
	share    float64
	percent  bool
	bytes    int64
	disabled bool // 0% or 100%, which the kubelet ignores
}

// parseThreshold reads a threshold the way the kubelet does: a
// percentage from 0% to 100% (0% and 100% turn it off), or a positive
// quantity. An error is a config the kubelet refuses to start with.
func parseThreshold(s string) (threshold, error) {
	t := threshold{text: s}
	if strings.HasSuffix(s, "%") {
		if s == "0%" || s == "100%" {
			t.disabled = true
			return t, nil
		}
		v, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 32)
		switch {
		case err != nil:
			return t, fmt.Errorf("%q is not a percentage", s)
		case v < 0 || v > 100:
			return t, fmt.Errorf("%q is not between 0%% and 100%%", s)
		}
		t.percent, t.share = true, v/100
		return t, nil
	}
	q, err := resource.ParseQuantity(s)
	switch {
	case err != nil:
		return t, fmt.Errorf("%q is neither a quantity (like 500Mi) nor a percentage (like 5%%)", s)
	case q.Sign() <= 0:
		return t, fmt.Errorf("%q is not positive (to turn eviction off, 0%% does)", s)
	}
	t.bytes = q.Value()
	return t, nil
}

// of is the threshold in bytes on a node with total bytes of memory
// (0 when unknown: a percentage is then unknown too, -1).
func (t threshold) of(total int64) int64 {
	if !t.percent {
		return t.bytes
	}
	if total <= 0 {
		return -1
	}
	return int64(t.share * float64(total))
}

// memTotal reads MemTotal from the host's /proc/meminfo, in bytes (0
// when it cannot be read).
func memTotal(h Host) int64 {
	s, err := h.read("/proc/meminfo")
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "MemTotal:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			if err == nil {
				return kb << 10
			}
		}
	}
	return 0
}

// evictionChecks are the hard and the soft eviction thresholds on
// memory: the kubelet's defense before the kernel's OOM killer.
func evictionChecks(l *local, add func(id string, s Status, summary, advice string, ev ...string)) {
	k := l.kubelet
	merge := k.MergeDefaultEvictionSettings != nil && *k.MergeDefaultEvictionSettings
	hardText, hardSet := k.EvictionHard["memory.available"]
	var hard *threshold // the hard threshold in force, when valid and on
	switch {
	case k.EvictionHard == nil || !hardSet && merge:
		how := "evictionHard: not set"
		if k.EvictionHard != nil {
			how = "evictionHard without memory.available, and mergeDefaultEvictionSettings: true"
		}
		t, _ := parseThreshold(defaultHardMemory)
		hard = &t
		add("kubelet-eviction", Pass, "hard eviction at memory.available<"+defaultHardMemory+" (the default)", "", how)
	case !hardSet:
		add("kubelet-eviction", Warn, "no hard eviction threshold on memory.available",
			"evictionHard is set without memory.available, which turns that one off: the kubelet may not evict before the kernel's OOM killer acts on the whole node. Set memory.available (for example 500Mi or 5%), or mergeDefaultEvictionSettings: true (Kubernetes 1.33+) to keep the default 100Mi for the signals not set.",
			fmt.Sprintf("evictionHard: %v", k.EvictionHard))
	default:
		t, err := parseThreshold(hardText)
		switch {
		case err != nil:
			add("kubelet-eviction", Fail, "the kubelet will not start: its hard eviction threshold on memory is invalid",
				"The kubelet refuses the whole config: "+err.Error()+". Give a quantity (500Mi) or a percentage of the node's memory (5%).",
				"evictionHard.memory.available: "+hardText)
		case t.disabled:
			add("kubelet-eviction", Warn, "hard eviction on memory is disabled ("+hardText+")",
				"With no eviction the node runs until the kernel OOM-kills, picking by oom_score_adj. Set memory.available (for example 500Mi or 5%).",
				"evictionHard.memory.available: "+hardText)
		default:
			hard = &t
			add("kubelet-eviction", Pass, "hard eviction at memory.available<"+hardText, "", "evictionHard.memory.available: "+hardText)
		}
	}

	softText, ok := k.EvictionSoft["memory.available"]
	if !ok {
		return
	}
	soft, err := parseThreshold(softText)
	ev := "evictionSoft.memory.available: " + softText
	grace, hasGrace := k.EvictionSoftGracePeriod["memory.available"]
	var graceErr error
	if hasGrace {
		if d, err := time.ParseDuration(grace); err != nil {
			graceErr = fmt.Errorf("%q is not a duration (like 1m30s)", grace)
		} else if d < 0 {
			graceErr = fmt.Errorf("%q is negative", grace)
		}
	}
	switch {
	case err != nil:
		add("kubelet-eviction-soft", Fail, "the kubelet will not start: its soft eviction threshold on memory is invalid",
			"The kubelet refuses the whole config: "+err.Error()+". Give a quantity (1Gi) or a percentage of the node's memory (10%).", ev)
	case soft.disabled:
		add("kubelet-eviction-soft", Info, "soft eviction on memory is off ("+softText+")",
			"Soft eviction stops pods gracefully (evictionMaxPodGracePeriod) before the hard threshold kills them at once; set memory.available above the hard threshold to use it.", ev)
	case !hasGrace:
		add("kubelet-eviction-soft", Fail, "the kubelet will not start: its soft eviction threshold on memory has no grace period",
			"Every soft threshold needs its grace period: set evictionSoftGracePeriod.memory.available (for example 1m30s).", ev, "evictionSoftGracePeriod.memory.available: not set")
	case graceErr != nil:
		add("kubelet-eviction-soft", Fail, "the kubelet will not start: its soft eviction grace period on memory is invalid",
			"The kubelet refuses the whole config: "+graceErr.Error()+". Give a duration like 1m30s.", ev, "evictionSoftGracePeriod.memory.available: "+grace)
	default:
		total := memTotal(l.Host)
		s, h := soft.of(total), int64(-1)
		if hard != nil {
			h = hard.of(total)
		}
		if s >= 0 && h >= 0 && s <= h {
			evs := []string{ev, "evictionHard.memory.available: " + hard.text}
			if total > 0 && (soft.percent || hard.percent) {
				evs = append(evs, fmt.Sprintf("/proc/meminfo: MemTotal %s: soft at %s, hard at %s", human(total), human(s), human(h)))
			}
			add("kubelet-eviction-soft", Warn, "soft eviction never acts: its threshold is not above the hard one",
				"Memory runs out past the hard threshold first, and the kubelet then evicts at once, with no grace; the soft threshold, "+softText+", is for stopping pods gracefully before that. Set it above the hard one (percentages for both, as on nodes of many sizes, keep them in order).", evs...)
			return
		}
		add("kubelet-eviction-soft", Pass, "soft eviction at memory.available<"+softText+" after "+grace, "", ev, "evictionSoftGracePeriod.memory.available: "+grace)
	}
}

// human writes a size in bytes in binary units, one decimal.
func human(b int64) string {
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%.1fGi", float64(b)/(1<<30))
	default:
		return fmt.Sprintf("%.0fMi", float64(b)/(1<<20))
	}
}
