// Command localcluster runs the end-to-end tests' one-node Kubernetes
// (kube-apiserver, controllers, kubelet, containerd, runc; all real, on
// loopback) in the background, for trying oomdoctor by hand:
//
//	localcluster up     start it, wait until the node is Ready, print the kubeconfig
//	localcluster down   stop it and remove everything it made
//
// `make cluster-up` and `make cluster-down` build and run it. It needs root.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/oomdoctor/oomdoctor/test/cluster"
)

func main() {
	cache, _ := os.UserCacheDir()
	state := flag.String("state", filepath.Join(cache, "oomdoctor", "cluster"), "folder for the kubeconfig, pid and log")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: localcluster [-state DIR] up|down")
		flag.PrintDefaults()
	}
	flag.Parse()
	var err error
	switch flag.Arg(0) {
	case "up":
		err = up(*state)
	case "down":
		err = down(*state)
	case "serve":
		err = serve(*state)
	default:
		flag.Usage()
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "localcluster:", err)
		os.Exit(1)
	}
}

func files(state string) (pid, kubeconfig, log, ready string) {
	return filepath.Join(state, "pid"), filepath.Join(state, "kubeconfig"), filepath.Join(state, "cluster.log"), filepath.Join(state, "ready")
}

// running returns the PID of a running cluster, or 0.
func running(state string) int {
	pidFile, _, _, _ := files(state)
	data, err := os.ReadFile(pidFile)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || syscall.Kill(pid, 0) != nil {
		return 0
	}
	return pid
}

func up(state string) error {
	pidFile, kubeconfig, logFile, ready := files(state)
	if pid := running(state); pid != 0 {
		fmt.Printf("already running (pid %d)\nkubeconfig: %s\n", pid, kubeconfig)
		return nil
	}
	if err := os.MkdirAll(state, 0o700); err != nil {
		return err
	}
	os.Remove(ready)
	self, err := os.Executable()
	if err != nil {
		return err
	}
	log, err := os.Create(logFile)
	if err != nil {
		return err
	}
	defer log.Close()
	cmd := exec.Command(self, "-state", state, "serve")
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	if err := os.WriteFile(pidFile, []byte(strconv.Itoa(cmd.Process.Pid)), 0o600); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.After(3 * time.Minute)
	for {
		if _, err := os.Stat(ready); err == nil {
			break
		}
		select {
		case err := <-exited:
			tail, _ := os.ReadFile(logFile)
			return fmt.Errorf("the cluster did not start (%v):\n%s", err, tail)
		case <-deadline:
			return fmt.Errorf("the cluster is not ready after 3 minutes; see %s", logFile)
		case <-time.After(200 * time.Millisecond):
		}
	}
	fmt.Printf(`cluster up (pid %d), node %s Ready; log: %s
kubeconfig: %s
  export KUBECONFIG=%s
  oomdoctor scan
Pods must use hostNetwork: true and the image %s with imagePullPolicy: Never.
Stop it with: make cluster-down
`, cmd.Process.Pid, cluster.NodeName, logFile, kubeconfig, kubeconfig, cluster.TestImage)
	return nil
}

func serve(state string) error {
	pidFile, kubeconfig, _, ready := files(state)
	cleanup := func() {
		os.Remove(ready)
		os.Remove(kubeconfig)
		os.Remove(pidFile)
	}
	n, err := cluster.StartNode(context.Background(), cluster.NodeOptions{OnSignal: func() {
		cleanup()
		fmt.Println("stopped")
		os.Exit(0)
	}})
	if err != nil {
		cleanup()
		return err
	}
	data, err := os.ReadFile(n.Kubeconfig)
	if err != nil {
		return err
	}
	if err := os.WriteFile(kubeconfig, data, 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(ready, nil, 0o600); err != nil {
		return err
	}
	fmt.Printf("ready: API server %s, node %s\n", n.URL, cluster.NodeName)
	select {} // until SIGTERM, which the node's handler turns into a clean stop
}

func down(state string) error {
	pid := running(state)
	if pid == 0 {
		fmt.Println("no cluster running")
		return nil
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		return err
	}
	deadline := time.Now().Add(time.Minute)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			return errors.New("the cluster did not stop within a minute; its log is in " + state)
		}
		time.Sleep(200 * time.Millisecond)
	}
	fmt.Println("cluster down")
	return nil
}
