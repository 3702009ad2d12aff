package nodecheck

func init() {
	// The node agent reads the kernel log through syslog(2) by default
	// (CAP_SYSLOG, not privileged): its records carry no sequence number
	// there, and the agent needs their times.
	registerLocal("kernel-log", func(l *local) []Result {
		const path = "/sys/module/printk/parameters/time"
		v, err := l.read(path)
		if err != nil {
			return nil // a kernel without the parameter: nothing to say
		}
		ev := []string{path + ": " + v}
		switch v {
		case "Y", "1":
			return []Result{{ID: "kernel-log", Status: Pass, Summary: "kernel log records carry their times (printk.time), as the node agent's syslog(2) reader needs", Evidence: ev}}
		default:
			return []Result{{ID: "kernel-log", Status: Warn, Summary: "kernel log records carry no times (printk.time off)", Evidence: ev,
				Advice: "The node agent reads the kernel log through syslog(2) by default and needs them to tell new records from old: it refuses to start. Turn them on (printk.time=1 on the kernel command line, or echo Y > " + path + "), or install the agent with kernelLogSource=device (/dev/kmsg, privileged)."}}
		}
	})
}
