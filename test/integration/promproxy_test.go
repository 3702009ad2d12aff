package integration

//lint:file-ignore SA1019 the API server's service proxy reads Endpoints (core/v1), not EndpointSlices

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/oomdoctor/oomdoctor/internal/replay"
)

// proxyIP is where the test's Prometheus is reached from the API server:
// an address of the benchmarking range (RFC 2544) put on the loopback
// interface, since the API server proxies only to a pod's IP, and a pod's
// endpoint may not be in 127.0.0.0/8.
const proxyIP = "198.18.0.7"

// onLoopback puts proxyIP on lo for the test (root only).
func onLoopback(t *testing.T) {
	t.Helper()
	out, err := exec.Command("ip", "addr", "add", proxyIP+"/32", "dev", "lo").CombinedOutput()
	switch {
	case err == nil:
		t.Cleanup(func() { _ = exec.Command("ip", "addr", "del", proxyIP+"/32", "dev", "lo").Run() })
	case strings.Contains(string(out), "File exists"):
	default:
		t.Fatalf("putting %s on the loopback interface (ip addr add, needs root and iproute2): %v: %s", proxyIP, err, out)
	}
}

// relay forwards the connections to ip:PORT to target (host:port) and
// returns PORT: Prometheus listens on 127.0.0.1 only.
func relay(t *testing.T, ip, target string) int {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				p, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				defer p.Close()
				go func() { _, _ = io.Copy(p, c); p.(*net.TCPConn).CloseWrite() }()
				_, _ = io.Copy(c, p)
			}()
		}
	}()
	return l.Addr().(*net.TCPAddr).Port
}

// A Prometheus that runs in the cluster is read through the API server's
// service proxy, with the kubeconfig's credentials: named, or found by the
// labels kube-prometheus gives its service. The recommendations are the
// ones read from it directly.
func TestRecommendThroughServiceProxy(t *testing.T) {
	srv, _ := prometheusHistory(t)
	ctx := context.Background()
	onLoopback(t)
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	port := relay(t, proxyIP, u.Host)

	ns := "prom-proxy"
	// The API server proxies to Endpoints, which it warns are deprecated.
	quiet := rest.CopyConfig(cp.Config)
	quiet.WarningHandler = rest.NoWarnings{}
	c, err := kubernetes.NewForConfig(quiet)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	// The pod is never scheduled (no node): only its IP matters, which
	// the API server checks the endpoint against.
	pod, err := c.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "prometheus-k8s-0"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "prometheus", Image: "quay.io/prometheus/prometheus"}}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pod.Status.PodIP, pod.Status.PodIPs = proxyIP, []corev1.PodIP{{IP: proxyIP}}
	if _, err := c.CoreV1().Pods(ns).UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	// A gateway that wants a tenant, as Mimir's does, in front of the
	// same Prometheus; no label finds it: it is named.
	gw, err := url.Parse(gateway(t, proxyIP, srv.URL, tenant))
	if err != nil {
		t.Fatal(err)
	}
	gwPort, err := strconv.Atoi(gw.Port())
	if err != nil {
		t.Fatal(err)
	}
	// The endpoints controller's work, which no controller does here.
	endpoints := func(name, portName string, port int) {
		t.Helper()
		if _, err := c.CoreV1().Endpoints(ns).Create(ctx, &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: name},
			Subsets: []corev1.EndpointSubset{{
				Addresses: []corev1.EndpointAddress{{IP: proxyIP, TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: pod.Name}}},
				Ports:     []corev1.EndpointPort{{Name: portName, Port: int32(port)}},
			}}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.CoreV1().Services(ns).Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "mimir-gateway"},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(int32(gwPort))}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	endpoints("mimir-gateway", "http", gwPort)
	labels := map[string]string{"app.kubernetes.io/name": "prometheus", "app.kubernetes.io/component": "prometheus"}
	for _, name := range []string{"prometheus-k8s", "prometheus-down"} {
		if _, err := c.CoreV1().Services(ns).Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
			Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "web", Port: 9090, TargetPort: intstr.FromInt32(int32(port))}, {Name: "reloader-web", Port: 8080}}}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		labels = map[string]string{"app": "something-else"}
	}
	endpoints("prometheus-k8s", "web", port)
	t.Cleanup(func() {
		ctx := context.Background()
		for _, name := range []string{"prometheus-k8s", "mimir-gateway"} {
			_ = c.CoreV1().Endpoints(ns).Delete(ctx, name, metav1.DeleteOptions{})
		}
		for _, name := range []string{"prometheus-k8s", "prometheus-down", "mimir-gateway"} {
			_ = c.CoreV1().Services(ns).Delete(ctx, name, metav1.DeleteOptions{})
		}
		_ = c.CoreV1().Pods(ns).Delete(ctx, pod.Name, metav1.DeleteOptions{})
	})

	args := []string{"recommend", "--history", "3d", "-n", "shop", "-o", "json"}
	direct := recommendations(t, oomdoctor(t, append(args, "--prometheus-url", srv.URL)...))
	if len(direct.Items) == 0 {
		t.Fatalf("no recommendation for shop read directly: %+v", direct)
	}
	for _, svc := range []string{ns + "/prometheus-k8s", ns + "/prometheus-k8s:web", ns + "/prometheus-k8s:9090", "auto"} {
		r := oomdoctor(t, append(args, "--kubeconfig", cp.Kubeconfig, "--prometheus-service", svc)...)
		got := recommendations(t, r)
		if !reflect.DeepEqual(got.Items, direct.Items) || !reflect.DeepEqual(got.Notes, direct.Notes) {
			t.Errorf("--prometheus-service %s: %+v\nwant what Prometheus answers directly: %+v\n%s", svc, got, direct, r)
		}
		found := strings.Contains(r.stderr, "note: reading Prometheus prom-proxy/prometheus-k8s:web, found by the labels app.kubernetes.io/name=prometheus, through the API server")
		if found != (svc == "auto") {
			t.Errorf("--prometheus-service %s: the note of what was found, on stderr only when it was looked for: %s", svc, r)
		}
	}
	// The tenant header goes through the API server's proxy to the
	// gateway; without it, the gateway's refusal is said before any query.
	r := oomdoctor(t, append(args, "--kubeconfig", cp.Kubeconfig, "--prometheus-service", ns+"/mimir-gateway", "--prometheus-header", "X-Scope-OrgID: team-a")...)
	if got := recommendations(t, r); !reflect.DeepEqual(got.Items, direct.Items) || !reflect.DeepEqual(got.Notes, direct.Notes) {
		t.Errorf("through the proxy and a gateway, with the tenant: %+v\nwant what Prometheus answers directly: %+v\n%s", got, direct, r)
	}
	r = oomdoctor(t, append(args, "--kubeconfig", cp.Kubeconfig, "--prometheus-service", ns+"/mimir-gateway")...)
	if want := `the Prometheus behind service prom-proxy/mimir-gateway:http refused the query (401: no org id): it wants credentials of its own, which the API server's proxy does not pass on; give --prometheus-url with them instead, or, when it asks for a tenant (Mimir, Cortex), --prometheus-header "X-Scope-OrgID: TENANT"`; r.code != 1 || !strings.Contains(r.stderr, want) {
		t.Errorf("through the proxy and a gateway, without the tenant: want a failure saying %q, got %s", want, r)
	}

	// The leak warnings name the way to the history they came from.
	cart := oomdoctor(t, "recommend", "--history", "3d", "-n", "shop", "--kubeconfig", cp.Kubeconfig, "--prometheus-service", "auto")
	if cart.code != 0 || !strings.Contains(cart.stdout, "shop/Deployment/cart") {
		t.Errorf("table through the proxy: %s", cart)
	}

	// The rights deploy/rbac grants for it are enough.
	var rules []rbacv1.PolicyRule
	raw, err := os.ReadFile("../../deploy/rbac/oomdoctor-prometheus-proxy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range strings.Split(string(raw), "\n---\n") {
		var role rbacv1.ClusterRole
		if err := yaml.UnmarshalStrict([]byte(doc), &role); err != nil {
			t.Fatal(err)
		}
		rules = append(rules, role.Rules...)
	}
	granted, err := cp.User(ctx, "rbac-test", "prometheus-proxy", rules)
	if err != nil {
		t.Fatal(err)
	}
	r = oomdoctor(t, append(args, "--kubeconfig", granted, "--prometheus-service", "auto")...)
	if got := recommendations(t, r); !reflect.DeepEqual(got.Items, direct.Items) {
		t.Errorf("with the rights of deploy/rbac/oomdoctor-prometheus-proxy.yaml: %s", r)
	}

	// What stands in the way, said.
	noProxy, err := cp.User(ctx, "rbac-test", "no-proxy", []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"services"}, Verbs: []string{"get", "list"}},
		{APIGroups: []string{""}, Resources: []string{"services/proxy"}, Verbs: []string{"get"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	noList, err := cp.User(ctx, "rbac-test", "no-list", []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"services/proxy"}, Verbs: []string{"get", "create"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		kubeconfig, service, want string
	}{
		{noProxy, "auto", "the API server refused to proxy to Prometheus prom-proxy/prometheus-k8s:web"},
		{noProxy, "auto", "needs get and create on services/proxy in namespace prom-proxy"},
		{noList, "auto", "finding Prometheus needs to list the services of every namespace, which the API server refused"},
		{cp.Kubeconfig, ns + "/prometheus-down", "the API server found no ready endpoint of service prom-proxy/prometheus-down:web"},
		{cp.Kubeconfig, ns + "/prometheus-k8s:grpc", "service prom-proxy/prometheus-k8s has no port grpc (its ports: web (9090), reloader-web (8080))"},
		{cp.Kubeconfig, "monitoring/prometheus", "no service prometheus in namespace monitoring"},
		{cp.Kubeconfig, "prometheus", "want NAMESPACE/NAME[:PORT]"},
	} {
		r := oomdoctor(t, append(args, "--kubeconfig", tc.kubeconfig, "--prometheus-service", tc.service)...)
		if r.code == 0 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("--prometheus-service %s as %s: want a failure saying %q, got %s", tc.service, tc.kubeconfig, tc.want, r)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--prometheus-service", "auto", "--prometheus-url", srv.URL}, "give --prometheus-url or --prometheus-service, not both"},
		{[]string{"--prometheus-service", "auto", "--prometheus-token", "x"}, "--prometheus-token goes with --prometheus-url"},
		{[]string{"--prometheus-service", "auto", "--prometheus-user", "x"}, "--prometheus-user goes with --prometheus-url"},
		{[]string{"--prometheus-service", "auto", "--prometheus-header", "Authorization: Bearer x"}, "--prometheus-header Authorization: the API server takes that header for itself"},
	} {
		r := oomdoctor(t, append(append([]string{"recommend", "--kubeconfig", cp.Kubeconfig}, tc.args...), "--history", "3d")...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("recommend %q: want usage error %q, got %s", tc.args, tc.want, r)
		}
	}

	// replay reads the same way.
	replayArgs := []string{"replay", "--history", "3d", "--train", "2d", "--test", "1d", "-n", "shop", "-o", "json"}
	var reports [2]replay.Report
	for i, how := range [][]string{{"--prometheus-url", srv.URL}, {"--kubeconfig", cp.Kubeconfig, "--prometheus-service", "auto"}} {
		r := oomdoctor(t, append(replayArgs, how...)...)
		if err := json.Unmarshal([]byte(r.stdout), &reports[i]); r.code != 0 || err != nil || reports[i].SeriesRead == 0 {
			t.Fatalf("replay %q: %v %s", how, err, r)
		}
	}
	if !reflect.DeepEqual(reports[0], reports[1]) {
		t.Errorf("replay through the proxy: %+v\nwant what Prometheus answers directly: %+v", reports[1], reports[0])
	}
}
