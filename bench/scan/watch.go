package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/oomdoctor/oomdoctor/internal/model"
	"github.com/oomdoctor/oomdoctor/test/cluster"
	"github.com/oomdoctor/oomdoctor/test/procstat"
)

// watchResult is what the watch phase measured.
type watchResult struct {
	firstReport time.Duration // start to the first report (the watch live)
	latencies   []time.Duration
	requests    []int // API requests per kill, the kill's own two left out
	churnCPU    time.Duration
	churned     int
	hwmKB       int64
	rssKB       int64 // after the kills and 30 s idle
}

// watchBench runs `oomdoctor scan -A -w -o json`; once its first report is
// out (the watch is live by then), it updates `churn` pods' status without
// a kill (a readiness flip, which the watch must read and let pass), then
// kills `kills` pods one after another as a kubelet reports it (the app
// container's lastState OOMKilled, its restart count up), each once the
// last was told, and measures kill to report, the API requests each cost,
// the CPU the churn cost, and the watcher's peak RSS.
func watchBench(ctx context.Context, cp *cluster.ControlPlane, bin string, kills, churn int) (watchResult, error) {
	var res watchResult
	cmd := exec.Command(bin, "--kubeconfig", cp.Kubeconfig, "scan", "-A", "-w", "-o", "json")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return res, err
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return res, err
	}
	defer func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	}()
	type told struct {
		at  time.Time
		rep model.ScanReport
	}
	reports := make(chan told, 16)
	go func() {
		dec := json.NewDecoder(bufio.NewReader(stdout))
		for {
			var r model.ScanReport
			if dec.Decode(&r) != nil {
				close(reports)
				return
			}
			reports <- told{time.Now(), r}
		}
	}()
	wait := func(what string) (told, error) {
		select {
		case t, ok := <-reports:
			if !ok {
				return told{}, fmt.Errorf("the watch ended before %s: %s", what, stderr.String())
			}
			return t, nil
		case <-time.After(2 * time.Minute):
			return told{}, fmt.Errorf("no %s after 2 minutes: %s", what, stderr.String())
		}
	}
	first, err := wait("the first report")
	if err != nil {
		return res, err
	}
	res.firstReport = first.at.Sub(start)

	// Pods whose app container was never killed.
	var victims []*corev1.Pod
	list, err := cp.Client.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return res, err
	}
	for i := range list.Items {
		p := &list.Items[i]
		if len(p.Status.ContainerStatuses) > 0 && p.Status.ContainerStatuses[0].RestartCount == 0 {
			victims = append(victims, p)
		}
	}
	if len(victims) < kills+churn {
		return res, fmt.Errorf("%d pods never killed, want %d", len(victims), kills+churn)
	}

	cpu0 := procstat.CPU(cmd.Process.Pid)
	for _, p := range victims[kills : kills+churn] {
		p.Status.ContainerStatuses[0].Ready = false
		if _, err := cp.Client.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
			return res, err
		}
	}
	// Let the watch read them all before measuring (nothing to tell).
	time.Sleep(3 * time.Second)
	cpu1 := procstat.CPU(cmd.Process.Pid)
	res.churnCPU, res.churned = cpu1-cpu0, churn
	select {
	case t := <-reports:
		return res, fmt.Errorf("the watch told %d findings of status updates without a kill", t.rep.Summary.Findings)
	default:
	}

	for _, p := range victims[:kills] {
		before, _, err := requestCount(cp)
		if err != nil {
			return res, err
		}
		cur, err := cp.Client.CoreV1().Pods(p.Namespace).Get(ctx, p.Name, metav1.GetOptions{})
		if err != nil {
			return res, err
		}
		cs := &cur.Status.ContainerStatuses[0]
		at := time.Now()
		cs.LastTerminationState = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
			Reason: "OOMKilled", ExitCode: 137, StartedAt: cs.State.Running.StartedAt, FinishedAt: metav1.NewTime(at.Truncate(time.Second)),
		}}
		cs.State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(at.Truncate(time.Second).Add(time.Second))}}
		cs.RestartCount++
		sent := time.Now()
		if _, err := cp.Client.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, cur, metav1.UpdateOptions{}); err != nil {
			return res, err
		}
		t, err := wait("the report of " + p.Name + "'s kill")
		if err != nil {
			return res, err
		}
		if t.rep.Summary.Findings != 1 || t.rep.Workloads[0].Findings[0].Pod != p.Name {
			return res, fmt.Errorf("the report of %s's kill: %+v", p.Name, t.rep.Summary)
		}
		res.latencies = append(res.latencies, t.at.Sub(sent))
		after, _, err := requestCount(cp)
		if err != nil {
			return res, err
		}
		// The kill's GET and PUT, and this count's own scrape.
		res.requests = append(res.requests, after-before-2)
	}
	st, err := procstat.Status(cmd.Process.Pid)
	if err != nil {
		return res, err
	}
	res.hwmKB = st["VmHWM:"] >> 10
	// A watch runs for hours: what it holds once the lists are behind it.
	time.Sleep(30 * time.Second)
	if st, err = procstat.Status(cmd.Process.Pid); err != nil {
		return res, err
	}
	res.rssKB = st["VmRSS:"] >> 10
	return res, nil
}

func durations(d []time.Duration) (p50, max time.Duration) {
	c := append([]time.Duration(nil), d...)
	sort.Slice(c, func(i, j int) bool { return c[i] < c[j] })
	return c[len(c)/2], c[len(c)-1]
}
