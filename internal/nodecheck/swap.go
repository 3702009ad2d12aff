package nodecheck

import (
	"fmt"
	"strings"
)

// swaps reads /proc/swaps: one line per device after the header.
func swaps(l *local) ([]string, error) {
	s, err := l.read("/proc/swaps")
	if err != nil {
		return nil, err
	}
	var out []string
	for i, line := range strings.Split(s, "\n") {
		if i == 0 || strings.TrimSpace(line) == "" {
			continue
		}
		f := strings.Fields(line)
		if len(f) >= 3 {
			out = append(out, fmt.Sprintf("%s (%s, %s KiB)", f[0], f[1], f[2]))
		}
	}
	return out, nil
}

func init() {
	registerLocal("swap", func(l *local) []Result {
		devs, err := swaps(l)
		if err != nil {
			return []Result{{Status: Info, Summary: "swap unknown", Evidence: []string{err.Error()}}}
		}
		if len(devs) == 0 {
			return []Result{{Status: Pass, Summary: "no swap", Evidence: []string{"/proc/swaps: no devices"}}}
		}
		ev := []string{"/proc/swaps: " + strings.Join(devs, ", ")}
		k := l.kubelet
		if k == nil {
			return []Result{{Status: Warn, Summary: "swap is on", Evidence: ev,
				Advice: "The kubelet refuses to start with swap on unless failSwapOn is false; with it false and the NodeSwap swapBehavior LimitedSwap, Burstable pods may swap. Swap hides memory trouble as latency (thrashing) instead of kills. Pass --kubelet-config to check the kubelet's settings."}}
		}
		failSwapOn := k.FailSwapOn == nil || *k.FailSwapOn
		behavior := k.MemorySwap.SwapBehavior
		if behavior == "" {
			behavior = "NoSwap"
		}
		ev = append(ev, fmt.Sprintf("kubelet failSwapOn: %v, memorySwap.swapBehavior: %s", failSwapOn, behavior))
		switch {
		case failSwapOn:
			return []Result{{Status: Fail, Summary: "swap is on and the kubelet is set to refuse it", Evidence: ev,
				Advice: "The kubelet will not start: turn swap off (swapoff -a and remove it from /etc/fstab), or set failSwapOn: false."}}
		case behavior == "LimitedSwap":
			return []Result{{Status: Warn, Summary: "swap is on and Burstable pods may swap (LimitedSwap)", Evidence: ev,
				Advice: "A container near its limit swaps (its swap share follows its memory request) before it is killed: memory trouble shows as latency first. Watch container swap usage; Guaranteed and BestEffort pods do not swap."}}
		}
		return []Result{{Status: Info, Summary: "swap is on; pods do not use it (NoSwap)", Evidence: ev,
			Advice: "Processes outside the pods may swap; containers are OOM-killed at their limits as without swap."}}
	})
}
