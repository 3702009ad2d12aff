//go:build linux

package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/oomdoctor/oomdoctor/internal/profile"
)

// tail(1) keeps a line that never ends in memory: 200 MiB of zeros is a
// 200 MiB allocation, killed under a 32Mi limit.
const hog = "head -c 200M /dev/zero | tail -n 1 >/dev/null"

func TestProfileJSONAndFailOnKill(t *testing.T) {
	r := run("profile", "--limit", "32Mi", "--interval", "20ms", "-o", "json", "--fail-on-kill", "--", "/bin/sh", "-c", hog)
	if r.code != ExitFailure {
		t.Fatalf("exit %d, want %d (--fail-on-kill); stderr %s", r.code, ExitFailure, r.stderr)
	}
	var rep profile.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("stdout is not the JSON report: %v\n%s", err, r.stdout)
	}
	if rep.Kind != "ProfileReport" || !rep.KilledByKernel || rep.LimitBytes != 32<<20 {
		t.Errorf("report %+v", rep)
	}
	if !rep.PeakIsLowerBound || rep.NextLimitBytes != 64<<20 || rep.RecommendedLimitBytes != 0 || rep.KernelLog == "" {
		t.Errorf("lower bound %v, next limit %d, recommended %d, kernel log %q: want the next run at 64Mi and nothing sized", rep.PeakIsLowerBound, rep.NextLimitBytes, rep.RecommendedLimitBytes, rep.KernelLog)
	}
	// tail holds the memory; on a busy machine the kernel may take head,
	// or even the shell, before tail's memory is freed (which it picks
	// then is the kernel's business). What is checked is the report's
	// word on each: the shell is the main process, its children are not.
	tail := false
	for _, v := range rep.Victims {
		tail = tail || v.Name == "tail"
		if v.MainProcess != (v.Name == "sh") {
			t.Errorf("victim %+v: main process %v, want it only for the shell", v, v.MainProcess)
		}
	}
	if !tail || int64(len(rep.Victims)) != rep.OOMKills {
		t.Errorf("victims %+v, want tail, a child of the shell, one per kill (%d; kernel log records lost: %d)", rep.Victims, rep.OOMKills, rep.KernelLogLost)
	}
}

func TestProfileText(t *testing.T) {
	r := run("profile", "--interval", "20ms", "--", "/bin/sh", "-c", "head -c 20M /dev/zero | tail -n 1 >/dev/null; sleep 0.2")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{"oomdoctor profile: [/bin/sh -c", "memory charged to the cgroup", "peak ", "recommended: requests.memory "} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("text report lacks %q:\n%s", want, r.stderr)
		}
	}
	if strings.Contains(r.stderr, "OOM-KILLED") {
		t.Errorf("no limit, yet a kill:\n%s", r.stderr)
	}
}

// Killed at its limit, the run sizes nothing and says where to run next.
func TestProfileTextKilled(t *testing.T) {
	r := run("profile", "--limit", "32Mi", "--interval", "20ms", "--kmsg", "syslog", "--", "/bin/sh", "-c", hog)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{"OOM-KILLED by the kernel", "recommended: none from this run (its peak is a lower bound); next: --limit 64Mi", "Victim: "} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("text report lacks %q:\n%s", want, r.stderr)
		}
	}
	if strings.Contains(r.stderr, "limits.memory") {
		t.Errorf("a limit sized from a killed run:\n%s", r.stderr)
	}
}

func TestProfileUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"profile"}, "give the command after --"},
		{[]string{"profile", "sleep", "1"}, "give the command after --"},
		{[]string{"profile", "--limit", "lots", "--", "true"}, `--limit "lots"`},
		{[]string{"profile", "--limit", "1Ki", "--", "true"}, "at least 4Mi"},
		{[]string{"profile", "-o", "yaml", "--", "true"}, `unknown output format "yaml"`},
	} {
		r := run(tc.args...)
		if r.code != ExitUsage || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, r.code, r.stderr, ExitUsage, tc.want)
		}
	}
	r := run("profile", "--kmsg", "/nonexistent/kmsg", "--", "true")
	if r.code != ExitFailure || !strings.Contains(r.stderr, "--kmsg /nonexistent/kmsg: opening the kernel log") || !strings.Contains(r.stderr, "--kmsg auto") {
		t.Errorf("unreadable --kmsg: exit %d, stderr %q", r.code, r.stderr)
	}
	r = run("profile", "--", "/nonexistent/cmd")
	if r.code == 0 || !strings.Contains(r.stderr, "/nonexistent/cmd") {
		t.Errorf("missing command: exit %d, stderr %q", r.code, r.stderr)
	}
}

// --duration stops a command that runs on, and its run is sized; a
// command that fails by itself is not.
func TestProfileDurationAndFailure(t *testing.T) {
	r := run("profile", "--duration", "300ms", "--interval", "20ms", "--", "sleep", "60")
	if r.code != 0 || !strings.Contains(r.stderr, "stopped after --duration, exit code 143 (terminated)") || !strings.Contains(r.stderr, "recommended: requests.memory 4Mi, limits.memory 4Mi") {
		t.Errorf("--duration: exit %d:\n%s", r.code, r.stderr)
	}
	r = run("profile", "--interval", "20ms", "--", "/bin/sh", "-c", "echo no such file >&2; exit 3")
	if r.code != 0 || !strings.Contains(r.stderr, "The command failed (exit code 3, after ") || !strings.Contains(r.stderr, "recommended: none from this run (the command failed)") {
		t.Errorf("failed command: exit %d:\n%s", r.code, r.stderr)
	}
	r = run("profile", "--duration", "-1s", "--", "true")
	if r.code != ExitUsage || !strings.Contains(r.stderr, "--duration -1s: give a positive duration") {
		t.Errorf("--duration -1s: exit %d, stderr %q", r.code, r.stderr)
	}
}
