package nodecheck

func init() {
	registerLocal("vm-overcommit", func(l *local) []Result {
		var out []Result
		if v, err := l.read("/proc/sys/vm/overcommit_memory"); err == nil {
			ev := []string{"/proc/sys/vm/overcommit_memory: " + v}
			switch v {
			case "1":
				out = append(out, Result{ID: "vm-overcommit", Status: Pass, Summary: "vm.overcommit_memory is 1 (always overcommit), as the kubelet sets it", Evidence: ev})
			case "2":
				out = append(out, Result{ID: "vm-overcommit", Status: Warn, Summary: "vm.overcommit_memory is 2 (strict accounting)", Evidence: ev,
					Advice: "Allocations fail (malloc returns NULL, a JVM cannot reserve its heap, fork fails) once the commit limit is reached, before any limit is: errors that look nothing like an OOM kill. The kubelet expects 1 (it sets it unless protectKernelDefaults is true)."})
			default:
				out = append(out, Result{ID: "vm-overcommit", Status: Info, Summary: "vm.overcommit_memory is " + v + " (heuristic)", Evidence: ev,
					Advice: "The kubelet sets 1 when it starts unless protectKernelDefaults is true; with 0 very large allocations can be refused."})
			}
		}
		if v, err := l.read("/proc/sys/vm/panic_on_oom"); err == nil {
			ev := []string{"/proc/sys/vm/panic_on_oom: " + v}
			switch v {
			case "0":
				out = append(out, Result{ID: "vm-panic-on-oom", Status: Pass, Summary: "vm.panic_on_oom is 0: an OOM kills a process, not the node", Evidence: ev})
			case "1":
				out = append(out, Result{ID: "vm-panic-on-oom", Status: Fail, Summary: "vm.panic_on_oom is 1: a system-wide OOM panics the node", Evidence: ev,
					Advice: "Every pod on the node dies with it. Set vm.panic_on_oom=0 (the kubelet expects it)."})
			default:
				out = append(out, Result{ID: "vm-panic-on-oom", Status: Fail, Summary: "vm.panic_on_oom is " + v + ": any OOM, even a container's own limit, panics the node", Evidence: ev,
					Advice: "One container reaching its limit takes the whole node down. Set vm.panic_on_oom=0."})
			}
		}
		return out
	})
}
