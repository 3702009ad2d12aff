// Package procstat reads a process's memory and CPU figures from /proc,
// for the benchmarks and the tests that measure a process they started.
package procstat

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

func dir(pid int) string {
	if pid <= 0 {
		return "/proc/self"
	}
	return fmt.Sprintf("/proc/%d", pid)
}

// Status reads the sizes of /proc/PID/status (VmRSS:, VmHWM:, RssAnon:,
// RssFile: ...), in bytes; pid 0 is this process.
func Status(pid int) (map[string]int64, error) {
	f, err := os.Open(filepath.Join(dir(pid), "status"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]int64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "\t")
		if !ok || !strings.HasSuffix(v, " kB") {
			continue
		}
		kib, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(v, " kB")), 10, 64)
		if err == nil {
			out[k] = kib << 10
		}
	}
	return out, sc.Err()
}

// CPU sums the on-CPU time of every thread of a process (schedstat, in
// nanoseconds); pid 0 is this process.
func CPU(pid int) time.Duration {
	tasks, _ := filepath.Glob(filepath.Join(dir(pid), "task", "*", "schedstat"))
	var sum time.Duration
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		if f := strings.Fields(string(b)); len(f) > 0 {
			v, _ := strconv.ParseInt(f[0], 10, 64)
			sum += time.Duration(v)
		}
	}
	return sum
}
