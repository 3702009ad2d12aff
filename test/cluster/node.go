package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// nodeDirPrefix names a test node's temporary folder; the PID of the test
// process follows, for cleanStaleNodes.
const nodeDirPrefix = "oomdoctor-node-"

// NodeName is the name the test node registers under.
const NodeName = "e2e-node"

// Node is a one-node Kubernetes cluster on loopback: the control plane plus
// kube-controller-manager, kube-scheduler, containerd (with runc and the CNI
// loopback plugin) and a kubelet, all real. Pods must use hostNetwork (a
// loopback-only CNI gives no pod IP) and the image TestImage, which is
// imported, never pulled.
//
// The kubelet resyncs pods every 5 s instead of every minute, so a crash
// loop shows as CrashLoopBackOff within seconds rather than after the next
// minutely resync.
//
// This machine's root may not lower oom_score_adj, so containerd runs with
// restrict_oom_score_adj: the scores the kernel shows are then not the ones
// the kubelet asked for (-997 for Guaranteed, -998 for sandboxes become 0).
type Node struct {
	*ControlPlane
	// CgroupRoot is the kubelet's --cgroup-root; pods live in
	// /sys/fs/cgroup/<controller>/<CgroupRoot>/kubepods/...
	CgroupRoot string
	// Dir holds containerd's and the kubelet's state and logs.
	Dir string
	// KubeletPort is the kubelet's HTTPS port on 127.0.0.1 (anonymous
	// access allowed: /metrics/cadvisor can be scraped as is).
	KubeletPort int

	// ctr and containerdSock import images (ImportImage).
	ctr, containerdSock string

	procs    []*process
	stopOnce sync.Once
	stopErr  error
	signals  chan os.Signal
}

// preflight names the first missing piece a node needs.
func preflight() (map[string]string, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("the node harness needs root (containerd, runc, cgroups, mounts): run the tests as root")
	}
	if err := checkMemoryCgroup(); err != nil {
		return nil, err
	}
	bins := map[string]string{}
	for _, b := range []struct{ name, pkg string }{{"containerd", "containerd"}, {"ctr", "containerd"}, {"runc", "runc"}} {
		p, err := SystemBinary(b.name, b.pkg)
		if err != nil {
			return nil, err
		}
		bins[b.name] = p
	}
	if _, err := os.Stat("/usr/lib/cni/loopback"); err != nil {
		return nil, errors.New("the CNI loopback plugin is missing (/usr/lib/cni/loopback): install it with `apt-get install -y containernetworking-plugins` (make test does)")
	}
	for _, b := range []string{"kubelet", "kube-controller-manager", "kube-scheduler"} {
		p, err := Binary(b)
		if err != nil {
			return nil, err
		}
		bins[b] = p
	}
	return bins, nil
}

// NodeOptions configure a node.
type NodeOptions struct {
	// OnSignal runs after a SIGINT or SIGTERM has stopped the node; the
	// default exits the process with code 1.
	OnSignal func()
}

// StartNode starts a one-node cluster and waits until the node is Ready
// (well under a minute once the binaries are built). Stop removes every
// process, mount, cgroup and folder it made, also when a test fails; a
// SIGINT or SIGTERM stops it before the process exits. Leftovers of a run
// that was killed outright are removed at the next start.
func StartNode(ctx context.Context, opts NodeOptions) (n *Node, err error) {
	bins, err := preflight()
	if err != nil {
		return nil, err
	}
	if err := cleanStaleNodes(); err != nil {
		return nil, fmt.Errorf("removing what an earlier test run left behind: %w", err)
	}
	dir, err := os.MkdirTemp("", nodeDirPrefix+strconv.Itoa(os.Getpid())+"-")
	if err != nil {
		return nil, err
	}
	n = &Node{Dir: dir, CgroupRoot: cgroupRootPrefix + strconv.Itoa(os.Getpid())}
	n.signals = make(chan os.Signal, 1)
	signal.Notify(n.signals, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		if _, ok := <-n.signals; ok {
			fmt.Fprintln(os.Stderr, "interrupted: stopping the test node")
			if err := n.Stop(); err != nil {
				fmt.Fprintln(os.Stderr, err)
			}
			if opts.OnSignal != nil {
				opts.OnSignal()
			}
			os.Exit(1)
		}
	}()
	defer func() {
		if err != nil {
			n.Stop()
		}
	}()

	if n.ControlPlane, err = StartControlPlane(ctx, Options{ServiceAccountAdmission: true}); err != nil {
		return n, err
	}
	if err := n.startControllers(bins); err != nil {
		return n, err
	}
	if err := makeCgroupRoot(n.CgroupRoot); err != nil {
		return n, err
	}
	runtimeCgroup := filepath.Join(cgroupFS, "memory", n.CgroupRoot, "runtime")
	if err := os.MkdirAll(runtimeCgroup, 0o755); err != nil {
		return n, err
	}
	sock, err := n.startContainerd(bins, runtimeCgroup)
	if err != nil {
		return n, err
	}
	if err := n.startKubelet(bins, sock, runtimeCgroup); err != nil {
		return n, err
	}
	if err := n.waitNodeReady(ctx); err != nil {
		return n, err
	}
	return n, nil
}

func (n *Node) startControllers(bins map[string]string) error {
	cp := n.ControlPlane
	// Both talk to the API server as admin, serve nothing, and run alone.
	common := []string{
		"--kubeconfig=" + cp.Kubeconfig,
		"--authentication-kubeconfig=" + cp.Kubeconfig,
		"--authorization-kubeconfig=" + cp.Kubeconfig,
		"--bind-address=127.0.0.1",
		"--secure-port=0",
		"--leader-elect=false",
	}
	kcm, err := start(n.Dir, "kube-controller-manager", bins["kube-controller-manager"], append(common,
		"--use-service-account-credentials=false",
		"--service-account-private-key-file="+filepath.Join(cp.Dir, "sa.key"),
		"--root-ca-file="+filepath.Join(cp.Dir, "certs", "apiserver.crt"),
		"--controllers=*,-nodeipam,-service-lb-controller,-cloud-node-lifecycle-controller",
		"--node-monitor-grace-period=40s",
	)...)
	if err != nil {
		return err
	}
	n.procs = append(n.procs, kcm)
	sched, err := start(n.Dir, "kube-scheduler", bins["kube-scheduler"], common...)
	if err != nil {
		return err
	}
	n.procs = append(n.procs, sched)
	return nil
}

// startIn starts a server inside a memory cgroup (written before exec, so
// nothing it forks escapes), for the kill of the whole tree at Stop.
func (n *Node) startIn(cgroup, name, bin string, args ...string) (*process, error) {
	script := `echo $$ > "$1/cgroup.procs" && shift && exec "$@"`
	return start(n.Dir, name, "/bin/sh", append([]string{"-c", script, "sh", cgroup, bin}, args...)...)
}

func (n *Node) startContainerd(bins map[string]string, cgroup string) (string, error) {
	d := filepath.Join(n.Dir, "containerd")
	sock := filepath.Join(d, "containerd.sock")
	cniConf := filepath.Join(n.Dir, "cni")
	if err := os.MkdirAll(cniConf, 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(cniConf, "10-loopback.conflist"),
		[]byte(`{"cniVersion": "1.0.0", "name": "loopback", "plugins": [{"type": "loopback"}]}`+"\n"), 0o644); err != nil {
		return "", err
	}
	config := fmt.Sprintf(`version = 2
root = %q
state = %q
[grpc]
  address = %q
[ttrpc]
  address = %q
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %q
  restrict_oom_score_adj = true
  disable_apparmor = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = %q
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = %q
        SystemdCgroup = false
[plugins."io.containerd.internal.v1.opt"]
  path = %q
`, filepath.Join(d, "root"), filepath.Join(d, "state"), sock, sock+".ttrpc", TestImage, cniConf, bins["runc"], filepath.Join(d, "opt"))
	cfgPath := filepath.Join(n.Dir, "containerd.toml")
	if err := os.MkdirAll(d, 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(cfgPath, []byte(config), 0o644); err != nil {
		return "", err
	}
	p, err := n.startIn(cgroup, "containerd", bins["containerd"], "--config", cfgPath)
	if err != nil {
		return "", err
	}
	n.procs = append(n.procs, p)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if p.exited() {
			return "", fmt.Errorf("containerd exited during startup (%v); last log lines:\n%s", p.err, p.logTail(30))
		}
		if _, err := os.Stat(sock); err == nil {
			break
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("containerd did not open %s in 30s; last log lines:\n%s", sock, p.logTail(30))
		}
		time.Sleep(100 * time.Millisecond)
	}
	n.ctr, n.containerdSock = bins["ctr"], sock
	image, err := buildTestImage(n.Dir)
	if err != nil {
		return "", err
	}
	if err := n.ImportImage(image); err != nil {
		return "", err
	}
	return sock, nil
}

func (n *Node) startKubelet(bins map[string]string, sock, cgroup string) error {
	ports, err := freePorts(2)
	if err != nil {
		return err
	}
	config := fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false
failSwapOn: false
cgroupDriver: cgroupfs
cgroupRoot: /%s
containerRuntimeEndpoint: unix://%s
authentication:
  anonymous:
    enabled: true
  webhook:
    enabled: false
authorization:
  mode: AlwaysAllow
address: 127.0.0.1
port: %d
healthzBindAddress: 127.0.0.1
healthzPort: %d
readOnlyPort: 0
enforceNodeAllocatable: []
evictionHard: {}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
resolvConf: /etc/resolv.conf
syncFrequency: 5s
`, n.CgroupRoot, sock, ports[0], ports[1])
	n.KubeletPort = ports[0]
	cfgPath := filepath.Join(n.Dir, "kubelet.yaml")
	if err := os.WriteFile(cfgPath, []byte(config), 0o644); err != nil {
		return err
	}
	p, err := n.startIn(cgroup, "kubelet", bins["kubelet"],
		"--config="+cfgPath,
		"--kubeconfig="+n.ControlPlane.Kubeconfig,
		"--root-dir="+filepath.Join(n.Dir, "kubelet"),
		"--hostname-override="+NodeName,
		"--node-ip=127.0.0.1",
		// cAdvisor, inside the kubelet, finds the containers' own cgroups
		// through containerd, at its default socket unless told: without
		// this, /metrics/cadvisor has only the pods' cgroups, unlike a
		// real node.
		"--containerd="+sock,
		"--v=2",
	)
	if err != nil {
		return err
	}
	n.procs = append(n.procs, p)
	return nil
}

func (n *Node) waitNodeReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	var last string
	for {
		for _, p := range n.procs {
			if p.exited() {
				return fmt.Errorf("%s exited while the node was starting (%v); last log lines:\n%s", p.name, p.err, p.logTail(40))
			}
		}
		node, err := n.Client.CoreV1().Nodes().Get(ctx, NodeName, metav1.GetOptions{})
		if err == nil {
			for _, c := range node.Status.Conditions {
				if c.Type == corev1.NodeReady {
					last = fmt.Sprintf("Ready=%s (%s: %s)", c.Status, c.Reason, c.Message)
					if c.Status == corev1.ConditionTrue {
						if err := n.setAddress(ctx, node); err != nil {
							return err
						}
						return n.waitServiceAccount(ctx, metav1.NamespaceDefault)
					}
				}
			}
		} else if !apierrors.IsNotFound(err) {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("node %s not Ready after 90s (%s); kubelet's last log lines:\n%s", NodeName, last, n.Logs("kubelet", 40))
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// setAddress gives the node the address its kubelet serves at,
// 127.0.0.1, when it has none: the kubelet refuses a loopback --node-ip
// and reports no address, so the API server could not reach it for
// logs. The kubelet's status updates keep an address it cannot work out.
func (n *Node) setAddress(ctx context.Context, node *corev1.Node) error {
	if len(node.Status.Addresses) > 0 {
		return nil
	}
	node.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}, {Type: corev1.NodeHostName, Address: NodeName}}
	if _, err := n.Client.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("giving node %s its address: %w", NodeName, err)
	}
	return nil
}

// Namespace creates a namespace and waits until its default ServiceAccount
// exists, without which pods are refused.
func (n *Node) Namespace(ctx context.Context, name string) error {
	_, err := n.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	return n.waitServiceAccount(ctx, name)
}

func (n *Node) waitServiceAccount(ctx context.Context, ns string) error {
	for {
		_, err := n.Client.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no default ServiceAccount in %s (is kube-controller-manager running?): %w; its log:\n%s", ns, err, n.Logs("kube-controller-manager", 20))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Logs returns the last lines of a component's log: "kubelet",
// "containerd", "kube-controller-manager", "kube-scheduler", or one of the
// control plane's.
func (n *Node) Logs(name string, lines int) string {
	for _, p := range n.procs {
		if p.name == name {
			return p.logTail(lines)
		}
	}
	if n.ControlPlane != nil {
		return n.ControlPlane.Logs(name, lines)
	}
	return ""
}

// ContainerCgroup returns the memory cgroup folder of a running container,
// from the pod's QoS class and UID and the container's ID, as the kubelet's
// cgroupfs driver lays it out.
func (n *Node) ContainerCgroup(pod *corev1.Pod, containerID string) string {
	qos := ""
	switch pod.Status.QOSClass {
	case corev1.PodQOSBurstable:
		qos = "burstable"
	case corev1.PodQOSBestEffort:
		qos = "besteffort"
	}
	id := containerID[strings.Index(containerID, "://")+3:]
	return filepath.Join(cgroupFS, "memory", n.CgroupRoot, "kubepods", qos, "pod"+string(pod.UID), id)
}

// Stop tears the node down in order: the kubelet, then every process in
// the node's cgroups (containers, shims, containerd), the controllers, the
// control plane; then it unmounts what is left under its folder and removes
// the cgroups and the folder. Safe to call more than once.
func (n *Node) Stop() error {
	n.stopOnce.Do(func() {
		signal.Stop(n.signals)
		close(n.signals)
		var errs []error
		for _, p := range n.procs {
			if p.name == "kubelet" {
				p.stop(5 * time.Second)
			}
		}
		if n.CgroupRoot != "" {
			errs = append(errs, killCgroupTree(n.CgroupRoot))
		}
		for i := len(n.procs) - 1; i >= 0; i-- {
			n.procs[i].stop(5 * time.Second)
		}
		if n.ControlPlane != nil {
			n.ControlPlane.Stop()
		}
		if n.Dir != "" {
			errs = append(errs, unmountUnder(n.Dir))
		}
		if n.CgroupRoot != "" {
			errs = append(errs, removeCgroupRoot(n.CgroupRoot))
		}
		if n.Dir != "" {
			errs = append(errs, os.RemoveAll(n.Dir))
		}
		n.stopErr = errors.Join(errs...)
	})
	return n.stopErr
}
