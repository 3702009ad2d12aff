package prom

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// Service is a Prometheus (or a compatible API) that runs in the cluster,
// reached through the API server's service proxy with the kubeconfig's
// credentials: nothing to port-forward, and no address of its own to know.
type Service struct {
	Namespace, Name string
	// Port is the service port's name, or its number when it has no name
	// ("" for a service's only, unnamed port); Scheme is http or https.
	Port, Scheme string
	// FoundBy is the labels discovery found it by ("" when named).
	FoundBy string
}

// String is NAMESPACE/NAME:PORT.
func (s Service) String() string {
	if s.Port == "" {
		return s.Namespace + "/" + s.Name
	}
	return s.Namespace + "/" + s.Name + ":" + s.Port
}

// ParseService reads NAMESPACE/NAME[:PORT], the port a name or a number.
func ParseService(v string) (Service, error) {
	usage := fmt.Errorf("--prometheus-service %q: want NAMESPACE/NAME[:PORT] (a port name or number), e.g. monitoring/prometheus-k8s:web, or auto to find it by its labels", v)
	ns, rest, ok := strings.Cut(v, "/")
	if !ok {
		return Service{}, usage
	}
	name, port, _ := strings.Cut(rest, ":")
	if len(validation.IsDNS1123Label(ns)) > 0 || len(validation.IsDNS1035Label(name)) > 0 {
		return Service{}, usage
	}
	if port != "" {
		if n, err := strconv.Atoi(port); err == nil {
			if n < 1 || n > 65535 {
				return Service{}, usage
			}
		} else if len(validation.IsValidPortName(port)) > 0 {
			return Service{}, usage
		}
	}
	return Service{Namespace: ns, Name: name, Port: port}, nil
}

// knownServices are the labels the usual installs put on the service in
// front of their Prometheus, best first: kube-prometheus and the
// prometheus chart, kube-prometheus-stack, the prometheus chart before its
// recommended labels, other charts' and Rancher's, any Prometheus the
// operator runs (its headless service), then Thanos Query and
// VictoriaMetrics single-node, which serve the same API.
var knownServices = []map[string]string{
	{"app.kubernetes.io/name": "prometheus"},
	{"app": "kube-prometheus-stack-prometheus"},
	{"app": "prometheus", "component": "server"},
	{"app": "prometheus-server"},
	{"app": "prometheus-operator-prometheus"},
	{"app": "rancher-monitoring-prometheus"},
	{"app": "prometheus-prometheus"},
	{"operated-prometheus": "true"},
	{"app.kubernetes.io/name": "thanos-query"},
	{"app.kubernetes.io/name": "thanos", "app.kubernetes.io/component": "query"},
	{"app.kubernetes.io/name": "vmsingle"},
	{"app.kubernetes.io/name": "victoria-metrics-single"},
}

// FindService looks for Prometheus among the services of every namespace
// by the labels of knownServices, best first. Among the services the
// best labels match, one with a cluster IP beats headless ones; two left
// is an error that names them.
func FindService(ctx context.Context, cs kubernetes.Interface) (Service, error) {
	list, err := cs.CoreV1().Services("").List(ctx, metav1.ListOptions{})
	if err != nil {
		if apierrors.IsForbidden(err) {
			return Service{}, fmt.Errorf("finding Prometheus needs to list the services of every namespace, which the API server refused (%v): name it with --prometheus-service NAMESPACE/NAME[:PORT], or give --prometheus-url", err)
		}
		return Service{}, fmt.Errorf("listing the cluster's services to find Prometheus: %w", err)
	}
	for _, want := range knownServices {
		sel := labels.SelectorFromSet(want)
		var found []*corev1.Service
		for i := range list.Items {
			if sel.Matches(labels.Set(list.Items[i].Labels)) {
				found = append(found, &list.Items[i])
			}
		}
		if len(found) > 1 {
			withIP := slices.DeleteFunc(slices.Clone(found), func(s *corev1.Service) bool { return s.Spec.ClusterIP == corev1.ClusterIPNone })
			if len(withIP) > 0 {
				found = withIP
			}
		}
		switch len(found) {
		case 0:
			continue
		case 1:
			s, err := pickPort(found[0], "")
			s.FoundBy = sel.String()
			return s, err
		}
		var names []string
		for _, s := range found {
			names = append(names, s.Namespace+"/"+s.Name)
		}
		slices.Sort(names)
		return Service{}, fmt.Errorf("%d services carry the labels %s: %s; say which with --prometheus-service NAMESPACE/NAME[:PORT]", len(found), sel, strings.Join(names, ", "))
	}
	var tried []string
	for _, want := range knownServices {
		tried = append(tried, labels.SelectorFromSet(want).String())
	}
	return Service{}, fmt.Errorf("no Prometheus found among the cluster's %d services (looked for the labels %s): name it with --prometheus-service NAMESPACE/NAME[:PORT], or give --prometheus-url", len(list.Items), strings.Join(tried, "; "))
}

// Candidates are the services of every namespace that carry the labels
// of knownServices, as NAMESPACE/NAME, best labels first: what
// --prometheus-service may name (shell completion offers them).
func Candidates(ctx context.Context, cs kubernetes.Interface) ([]string, error) {
	list, err := cs.CoreV1().Services("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	var out []string
	seen := map[string]bool{}
	for _, want := range knownServices {
		sel := labels.SelectorFromSet(want)
		var found []string
		for _, svc := range list.Items {
			name := svc.Namespace + "/" + svc.Name
			if !seen[name] && sel.Matches(labels.Set(svc.Labels)) {
				seen[name] = true
				found = append(found, name)
			}
		}
		slices.Sort(found)
		out = append(out, found...)
	}
	return out, nil
}

// ResolveService reads a named service and picks its port (the one named,
// or the likeliest) and scheme.
func ResolveService(ctx context.Context, cs kubernetes.Interface, s Service) (Service, error) {
	svc, err := cs.CoreV1().Services(s.Namespace).Get(ctx, s.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return s, fmt.Errorf("--prometheus-service: no service %s in namespace %s (kubectl get services -A shows them; --prometheus-service auto finds Prometheus by its labels)", s.Name, s.Namespace)
	case err != nil:
		return s, fmt.Errorf("--prometheus-service: reading service %s/%s: %w", s.Namespace, s.Name, err)
	}
	return pickPort(svc, s.Port)
}

// preferredPorts are the port names and numbers Prometheus, Thanos Query
// and VictoriaMetrics serve their HTTP API on, best first.
var (
	preferredPortNames   = []string{"web", "http-web", "http", "http-query", "https", "https-web"}
	preferredPortNumbers = []int32{9090, 10902, 8428, 8429, 80, 443}
)

// pickPort finds the port want names (a name or a number), or without
// one the likeliest.
func pickPort(svc *corev1.Service, want string) (Service, error) {
	s := Service{Namespace: svc.Namespace, Name: svc.Name}
	ports := svc.Spec.Ports
	var names []string
	for _, p := range ports {
		names = append(names, portString(p))
	}
	var pick *corev1.ServicePort
	if want != "" {
		for i, p := range ports {
			if p.Name == want || strconv.Itoa(int(p.Port)) == want {
				pick = &ports[i]
			}
		}
		if pick == nil {
			return s, fmt.Errorf("--prometheus-service: service %s/%s has no port %s (its ports: %s)", svc.Namespace, svc.Name, want, strings.Join(names, ", "))
		}
	}
	for _, n := range preferredPortNames {
		for i, p := range ports {
			if pick == nil && p.Name == n {
				pick = &ports[i]
			}
		}
	}
	for _, n := range preferredPortNumbers {
		for i, p := range ports {
			if pick == nil && p.Port == n {
				pick = &ports[i]
			}
		}
	}
	if pick == nil && len(ports) == 1 {
		pick = &ports[0]
	}
	if pick == nil {
		if len(ports) == 0 {
			return s, fmt.Errorf("service %s/%s has no ports", svc.Namespace, svc.Name)
		}
		return s, fmt.Errorf("service %s/%s has several ports (%s) and none is the usual HTTP API's: say which with --prometheus-service %s/%s:PORT", svc.Namespace, svc.Name, strings.Join(names, ", "), svc.Namespace, svc.Name)
	}
	s.Port = pick.Name
	if s.Port == "" && len(ports) > 1 {
		s.Port = strconv.Itoa(int(pick.Port))
	}
	s.Scheme = "http"
	if strings.HasPrefix(pick.Name, "https") || pick.Port == 443 || pick.AppProtocol != nil && *pick.AppProtocol == "https" {
		s.Scheme = "https"
	}
	return s, nil
}

func portString(p corev1.ServicePort) string {
	if p.Name == "" {
		return strconv.Itoa(int(p.Port))
	}
	return fmt.Sprintf("%s (%d)", p.Name, p.Port)
}

// Proxy is the address of s through the API server rc names, and the
// transport that carries the kubeconfig's credentials there.
func (s Service) Proxy(rc *rest.Config) (string, http.RoundTripper, error) {
	rt, err := rest.TransportFor(rc)
	if err != nil {
		return "", nil, err
	}
	u, _, err := rest.DefaultServerUrlFor(rc)
	if err != nil {
		return "", nil, fmt.Errorf("the kubeconfig's server %q: %w", rc.Host, err)
	}
	id := s.Name
	if s.Port != "" {
		id += ":" + s.Port
	}
	if s.Scheme == "https" {
		id = "https:" + s.Name + ":" + s.Port
	}
	u = u.JoinPath("/api/v1/namespaces", s.Namespace, "services", id, "proxy")
	return u.String(), rt, nil
}

// CheckProxy asks Prometheus for 1 through the proxy, as the queries will
// (a POST), and says what stands in the way: the user's rights to the
// proxy, the service's endpoints, an API that is not Prometheus'.
func (s Service) CheckProxy(ctx context.Context, base string, rt http.RoundTripper) error {
	form := url.Values{"query": {"1"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/v1/query", strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := (&http.Client{Transport: rt}).Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach the API server to proxy to Prometheus %s: %w", s, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode == http.StatusOK {
		var r struct {
			Status string `json:"status"`
		}
		if json.Unmarshal(body, &r) != nil || r.Status != "success" {
			return fmt.Errorf("service %s answered a Prometheus query with no Prometheus API answer (%s): is it Prometheus' HTTP API port? Name the port with --prometheus-service %s/%s:PORT", s, snippet(body), s.Namespace, s.Name)
		}
		return nil
	}
	msg := snippet(body)
	var st metav1.Status
	if json.Unmarshal(body, &st) == nil && st.Kind == "Status" && st.Message != "" {
		msg = st.Message
	}
	switch resp.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden:
		if st.Kind == "Status" {
			return fmt.Errorf("the API server refused to proxy to Prometheus %s (%s): reading it this way needs get and create on services/proxy in namespace %s (kubectl auth can-i create services/proxy -n %s); or give --prometheus-url", s, msg, s.Namespace, s.Namespace)
		}
		return fmt.Errorf("the Prometheus behind service %s refused the query (%d: %s): it wants credentials of its own, which the API server's proxy does not pass on; give --prometheus-url with them instead, or, when it asks for a tenant (Mimir, Cortex), --prometheus-header \"X-Scope-OrgID: TENANT\"", s, resp.StatusCode, msg)
	case http.StatusNotFound:
		if st.Kind != "Status" {
			return fmt.Errorf("service %s has no Prometheus query API (404: %s): is it Prometheus' HTTP API port? Name the port with --prometheus-service %s/%s:PORT", s, msg, s.Namespace, s.Name)
		}
		// The service was read: what is missing is its endpoints.
		fallthrough
	case http.StatusServiceUnavailable:
		return fmt.Errorf("the API server found no ready endpoint of service %s (%s): is Prometheus running? kubectl get endpoints -n %s %s", s, msg, s.Namespace, s.Name)
	}
	return fmt.Errorf("asking Prometheus %s through the API server: %d: %s", s, resp.StatusCode, msg)
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	if s == "" {
		return "an empty answer"
	}
	return s
}
