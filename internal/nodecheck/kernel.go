package nodecheck

import (
	"fmt"
	"regexp"
	"strconv"
)

var kernelRe = regexp.MustCompile(`^(\d+)\.(\d+)`)

// kernelVersion parses "6.18.44-fc" into 6, 18.
func kernelVersion(s string) (int, int, bool) {
	m := kernelRe.FindStringSubmatch(s)
	if m == nil {
		return 0, 0, false
	}
	a, _ := strconv.Atoi(m[1])
	b, _ := strconv.Atoi(m[2])
	return a, b, true
}

func atLeast(ma, mi, wantMa, wantMi int) bool { return ma > wantMa || ma == wantMa && mi >= wantMi }

func init() {
	registerLocal("kernel", func(l *local) []Result {
		rel, err := l.read("/proc/sys/kernel/osrelease")
		if err != nil {
			return []Result{{Status: Info, Summary: "kernel version unknown", Evidence: []string{err.Error()}}}
		}
		ma, mi, ok := kernelVersion(rel)
		if !ok {
			return []Result{{Status: Info, Summary: "kernel version " + rel + " not understood", Evidence: []string{"/proc/sys/kernel/osrelease: " + rel}}}
		}
		ev := []string{"/proc/sys/kernel/osrelease: " + rel}
		var res []Result
		main := Result{Status: Pass, Summary: "kernel " + rel, Evidence: ev}
		switch {
		case l.cgroupVersion == 2 && !atLeast(ma, mi, 5, 8):
			main.Status = Warn
			main.Advice = "Kubernetes' cgroup v2 support needs kernel 5.8 or later."
		case l.cgroupVersion == 1 && !atLeast(ma, mi, 4, 13):
			main.Status = Warn
			main.Advice = "Before kernel 4.13 memory.oom_control has no oom_kill counter: kills can only be seen in the kernel log."
		}
		if l.cgroupVersion == 2 {
			feats := []struct {
				name   string
				ma, mi int
			}{{"memory.oom.group (group kill)", 4, 19}, {"memory.events.local", 5, 2}, {"memory.peak", 5, 19}}
			for _, f := range feats {
				have := "yes"
				if !atLeast(ma, mi, f.ma, f.mi) {
					have = fmt.Sprintf("no (needs %d.%d)", f.ma, f.mi)
				}
				main.Evidence = append(main.Evidence, f.name+": "+have)
			}
		}
		res = append(res, main)
		psi := Result{ID: "psi", Status: Pass, Summary: "pressure stall information (PSI) available", Evidence: []string{"/proc/pressure/memory exists"}}
		if !l.exists("/proc/pressure/memory") {
			psi = Result{ID: "psi", Status: Info, Summary: "pressure stall information (PSI) is off", Evidence: []string{"/proc/pressure/memory missing"},
				Advice: "PSI measures memory stalls before they become OOM kills; the kubelet's PSI metrics and user-space OOM killers (systemd-oomd) need it. Kernel 4.20+ with CONFIG_PSI; some distributions need psi=1 on the kernel command line."}
		} else if s, err := l.read("/proc/pressure/memory"); err == nil {
			psi.Evidence = append(psi.Evidence, firstLine(s))
		}
		return append(res, psi)
	})
}

func firstLine(s string) string {
	for i, c := range s {
		if c == '\n' {
			return s[:i]
		}
	}
	return s
}
