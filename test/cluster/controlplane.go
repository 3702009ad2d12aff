package cluster

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Options configure a control plane.
type Options struct {
	// ServiceAccountAdmission enables the ServiceAccount admission plugin.
	// Off by default: without kube-controller-manager no "default"
	// ServiceAccount exists and every pod would be refused.
	ServiceAccountAdmission bool
	// ExtraAPIServerArgs are appended to kube-apiserver's flags.
	ExtraAPIServerArgs []string
}

// ControlPlane is a running etcd and kube-apiserver on loopback, with an
// admin identity and a kubeconfig for it.
type ControlPlane struct {
	// Dir holds data, certificates, kubeconfigs and logs; removed by Stop.
	Dir string
	// URL is the API server's https URL.
	URL string
	// Kubeconfig is the path of an admin kubeconfig (context "oomdoctor-test").
	Kubeconfig string
	// Config is the admin REST config.
	Config *rest.Config
	// Client is an admin clientset.
	Client kubernetes.Interface

	caData  []byte
	token   string
	procs   []*process
	apiBin  string
	apiArgs []string
}

// ContextName is the kubeconfig context the harness writes.
const ContextName = "oomdoctor-test"

// StartControlPlane starts etcd and kube-apiserver and waits until the API
// server is ready (about 15 s). Data lives on tmpfs when /dev/shm exists.
// Stop it with Stop, also on failure paths.
func StartControlPlane(ctx context.Context, opts Options) (cp *ControlPlane, err error) {
	etcdBin, err := SystemBinary("etcd", "etcd-server")
	if err != nil {
		return nil, err
	}
	apiBin, err := Binary("kube-apiserver")
	if err != nil {
		return nil, err
	}
	base := os.TempDir()
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		base = "/dev/shm"
	}
	dir, err := os.MkdirTemp(base, "oomdoctor-cp-")
	if err != nil {
		return nil, err
	}
	cp = &ControlPlane{Dir: dir}
	defer func() {
		if err != nil {
			cp.Stop()
		}
	}()
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	etcdURL := "http://127.0.0.1:" + strconv.Itoa(ports[0])
	peerURL := "http://127.0.0.1:" + strconv.Itoa(ports[1])
	etcd, err := start(dir, "etcd", etcdBin,
		"--name", "default",
		"--data-dir", filepath.Join(dir, "etcd"),
		"--listen-client-urls", etcdURL, "--advertise-client-urls", etcdURL,
		"--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
		"--initial-cluster", "default="+peerURL,
		"--quota-backend-bytes", strconv.Itoa(4<<30),
	)
	if err != nil {
		return nil, err
	}
	cp.procs = append(cp.procs, etcd)

	if err := cp.writeCredentials(); err != nil {
		return nil, err
	}
	admission := "--disable-admission-plugins=ServiceAccount"
	if opts.ServiceAccountAdmission {
		admission = "--enable-admission-plugins=ServiceAccount"
	}
	cp.URL = "https://127.0.0.1:" + strconv.Itoa(ports[2])
	args := []string{
		"--etcd-servers=" + etcdURL,
		"--cert-dir=" + filepath.Join(dir, "certs"),
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(ports[2]),
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-account-key-file=" + filepath.Join(dir, "sa.pub"),
		"--service-account-signing-key-file=" + filepath.Join(dir, "sa.key"),
		"--token-auth-file=" + filepath.Join(dir, "tokens.csv"),
		"--authorization-mode=RBAC",
		"--service-cluster-ip-range=10.0.0.0/24",
		"--allow-privileged=true",
		// The test node's name (e2e-node) resolves nowhere: reach its
		// kubelet (logs, exec) at its address, 127.0.0.1.
		"--kubelet-preferred-address-types=InternalIP",
		admission,
	}
	args = append(args, opts.ExtraAPIServerArgs...)
	cp.apiBin, cp.apiArgs = apiBin, args
	api, err := start(dir, "kube-apiserver", apiBin, args...)
	if err != nil {
		return nil, err
	}
	cp.procs = append(cp.procs, api)
	if err := cp.waitReady(ctx, api, etcd); err != nil {
		return nil, err
	}
	if err := cp.writeKubeconfig(); err != nil {
		return nil, err
	}
	return cp, nil
}

// writeCredentials makes the service account signing key and the static
// admin token.
func (cp *ControlPlane) writeCredentials() error {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(cp.Dir, "sa.key"), pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(cp.Dir, "sa.pub"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o600); err != nil {
		return err
	}
	tok := make([]byte, 16)
	if _, err := rand.Read(tok); err != nil {
		return err
	}
	cp.token = hex.EncodeToString(tok)
	return os.WriteFile(filepath.Join(cp.Dir, "tokens.csv"), []byte(cp.token+",admin,admin-uid,system:masters\n"), 0o600)
}

func (cp *ControlPlane) waitReady(ctx context.Context, api, etcd *process) error {
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	certFile := filepath.Join(cp.Dir, "certs", "apiserver.crt")
	insecure := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: insecureTLS()}}
	for {
		for _, p := range []*process{etcd, api} {
			if p.exited() {
				return fmt.Errorf("%s exited during startup (%v); last log lines:\n%s", p.name, p.err, p.logTail(30))
			}
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, cp.URL+"/readyz", nil)
		req.Header.Set("Authorization", "Bearer "+cp.token)
		if resp, err := insecure.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				ca, err := os.ReadFile(certFile)
				if err != nil {
					return fmt.Errorf("reading the API server's certificate: %w", err)
				}
				cp.caData = ca
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("kube-apiserver not ready after 90s; last log lines:\n%s", api.logTail(30))
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func (cp *ControlPlane) writeKubeconfig() error {
	cp.Kubeconfig = filepath.Join(cp.Dir, "admin.kubeconfig")
	if err := writeKubeconfig(cp.Kubeconfig, cp.URL, cp.caData, "admin", cp.token); err != nil {
		return err
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", cp.Kubeconfig)
	if err != nil {
		return err
	}
	cfg.QPS, cfg.Burst = 200, 400
	cp.Config = cfg
	cp.Client, err = kubernetes.NewForConfig(cfg)
	return err
}

// writeKubeconfig writes a kubeconfig with one context, ContextName.
func writeKubeconfig(path, server string, ca []byte, user, token string) error {
	kc := clientcmdapi.NewConfig()
	kc.Clusters["test"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: ca}
	kc.AuthInfos[user] = &clientcmdapi.AuthInfo{Token: token}
	kc.Contexts[ContextName] = &clientcmdapi.Context{Cluster: "test", AuthInfo: user}
	kc.CurrentContext = ContextName
	return clientcmd.WriteToFile(*kc, path)
}

// RestartAPIServer stops kube-apiserver (SIGTERM, as an upgrade does;
// SIGKILL after 10 s, so start it with a short
// --shutdown-watch-termination-grace-period or open watches hold it up),
// keeps it down for down, and starts it again on the same port, with the
// same certificates and etcd, so clients resume where they were. It
// returns once the server is ready.
func (cp *ControlPlane) RestartAPIServer(ctx context.Context, down time.Duration) error {
	var etcd *process
	for i, p := range cp.procs {
		switch p.name {
		case "etcd":
			etcd = p
		case "kube-apiserver":
			p.stop(10 * time.Second)
			cp.procs = append(cp.procs[:i:i], cp.procs[i+1:]...)
		}
	}
	if etcd == nil || cp.apiBin == "" {
		return errors.New("RestartAPIServer: no control plane running")
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(down):
	}
	// The log of the first run is kept beside the new one.
	_ = os.Rename(filepath.Join(cp.Dir, "kube-apiserver.log"), filepath.Join(cp.Dir, "kube-apiserver.1.log"))
	api, err := start(cp.Dir, "kube-apiserver", cp.apiBin, cp.apiArgs...)
	if err != nil {
		return err
	}
	cp.procs = append(cp.procs, api)
	return cp.waitReady(ctx, api, etcd)
}

// Stop stops the API server, then etcd, and removes the folder.
func (cp *ControlPlane) Stop() {
	for i := len(cp.procs) - 1; i >= 0; i-- {
		cp.procs[i].stop(10 * time.Second)
	}
	cp.procs = nil
	if cp.Dir != "" {
		_ = os.RemoveAll(cp.Dir)
	}
}

// Logs returns the last lines of a component's log ("etcd", "kube-apiserver").
func (cp *ControlPlane) Logs(name string, lines int) string {
	for _, p := range cp.procs {
		if p.name == name {
			return p.logTail(lines)
		}
	}
	return ""
}

// freePorts asks the kernel for n free loopback ports.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, errors.Join(fmt.Errorf("finding a free port"), err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
