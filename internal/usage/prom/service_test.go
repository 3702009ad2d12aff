package prom

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubefake "k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"
)

func TestParseService(t *testing.T) {
	for in, want := range map[string]Service{
		"monitoring/prometheus-k8s:web": {Namespace: "monitoring", Name: "prometheus-k8s", Port: "web"},
		"monitoring/prometheus-k8s":     {Namespace: "monitoring", Name: "prometheus-k8s"},
		"obs/thanos-query:10902":        {Namespace: "obs", Name: "thanos-query", Port: "10902"},
	} {
		got, err := ParseService(in)
		if err != nil || got != want {
			t.Errorf("%s: %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{"prometheus-k8s", "monitoring/", "/prometheus", "Monitoring/prometheus", "monitoring/prometheus:0", "monitoring/prometheus:99999", "monitoring/prometheus:not_a_port", "monitoring/9prometheus"} {
		if _, err := ParseService(in); err == nil || !strings.Contains(err.Error(), "NAMESPACE/NAME[:PORT]") {
			t.Errorf("%s: %v; want the usage", in, err)
		}
	}
}

func svc(ns, name string, labels map[string]string, ports ...corev1.ServicePort) *corev1.Service {
	return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels}, Spec: corev1.ServiceSpec{ClusterIP: "10.96.0.10", Ports: ports}}
}

func port(name string, n int32) corev1.ServicePort { return corev1.ServicePort{Name: name, Port: n} }

func TestPickPort(t *testing.T) {
	https := "https"
	for _, c := range []struct {
		svc           *corev1.Service
		want          string
		port, scheme  string
		errorContains string
	}{
		// kube-prometheus: the API on web, the config reloader beside it.
		{svc: svc("monitoring", "prometheus-k8s", nil, port("web", 9090), port("reloader-web", 8080)), port: "web", scheme: "http"},
		// The prometheus chart: one port, http on 80.
		{svc: svc("monitoring", "prometheus-server", nil, port("http", 80)), port: "http", scheme: "http"},
		// Thanos Query: gRPC and HTTP.
		{svc: svc("thanos", "thanos-query", nil, port("grpc", 10901), port("http", 10902)), port: "http", scheme: "http"},
		// Unnamed ports: by number.
		{svc: svc("m", "p", nil, port("", 8080), port("", 9090)), port: "9090", scheme: "http"},
		{svc: svc("m", "p", nil, port("", 8080)), port: "", scheme: "http"},
		{svc: svc("m", "p", nil, port("https-main", 8443), port("web", 9090)), want: "https-main", port: "https-main", scheme: "https"},
		{svc: svc("m", "p", nil, corev1.ServicePort{Name: "api", Port: 8443, AppProtocol: &https}), port: "api", scheme: "https"},
		{svc: svc("m", "p", nil, port("web", 9090)), want: "9090", port: "web", scheme: "http"},
		{svc: svc("m", "p", nil, port("web", 9090)), want: "metrics", errorContains: "has no port metrics (its ports: web (9090))"},
		{svc: svc("m", "p", nil, port("a", 1), port("b", 2)), errorContains: "say which with --prometheus-service m/p:PORT"},
		{svc: svc("m", "p", nil), errorContains: "has no ports"},
	} {
		got, err := pickPort(c.svc, c.want)
		if c.errorContains != "" {
			if err == nil || !strings.Contains(err.Error(), c.errorContains) {
				t.Errorf("%v want %q: %v; want an error with %q", c.svc.Spec.Ports, c.want, err, c.errorContains)
			}
			continue
		}
		if err != nil || got.Port != c.port || got.Scheme != c.scheme || got.Namespace != c.svc.Namespace || got.Name != c.svc.Name {
			t.Errorf("%v want %q: %+v, %v; want port %q scheme %s", c.svc.Spec.Ports, c.want, got, err, c.port, c.scheme)
		}
	}
}

func TestFindService(t *testing.T) {
	ctx := context.Background()
	grafana := svc("monitoring", "grafana", map[string]string{"app.kubernetes.io/name": "grafana"}, port("http", 3000))
	operated := svc("monitoring", "prometheus-operated", map[string]string{"operated-prometheus": "true"}, port("web", 9090))
	operated.Spec.ClusterIP = corev1.ClusterIPNone
	stack := svc("monitoring", "kps-prometheus", map[string]string{"app": "kube-prometheus-stack-prometheus", "release": "kps"}, port("http-web", 9090), port("reloader-web", 8080))
	k8s := svc("monitoring", "prometheus-k8s", map[string]string{"app.kubernetes.io/name": "prometheus", "app.kubernetes.io/component": "prometheus"}, port("web", 9090), port("reloader-web", 8080))
	thanos := svc("thanos", "thanos-query", map[string]string{"app.kubernetes.io/name": "thanos-query"}, port("grpc", 10901), port("http", 10902))

	// The best labels win: kube-prometheus' over the operator's headless
	// service and Thanos Query.
	got, err := FindService(ctx, kubefake.NewClientset(grafana, operated, thanos, k8s))
	if err != nil || got.String() != "monitoring/prometheus-k8s:web" || got.FoundBy != "app.kubernetes.io/name=prometheus" {
		t.Errorf("kube-prometheus: %+v, %v", got, err)
	}
	got, err = FindService(ctx, kubefake.NewClientset(grafana, operated, stack))
	if err != nil || got.String() != "monitoring/kps-prometheus:http-web" {
		t.Errorf("kube-prometheus-stack: %+v, %v", got, err)
	}
	// Only the operator's headless service: it will do.
	got, err = FindService(ctx, kubefake.NewClientset(grafana, operated))
	if err != nil || got.String() != "monitoring/prometheus-operated:web" {
		t.Errorf("operated: %+v, %v", got, err)
	}
	// A headless twin of the same labels gives way to the one with an IP.
	twin := k8s.DeepCopy()
	twin.Name, twin.Spec.ClusterIP = "prometheus-k8s-headless", corev1.ClusterIPNone
	got, err = FindService(ctx, kubefake.NewClientset(twin, k8s))
	if err != nil || got.Name != "prometheus-k8s" {
		t.Errorf("headless twin: %+v, %v", got, err)
	}
	// Two installs: name them, let the user choose.
	other := k8s.DeepCopy()
	other.Namespace = "team-a"
	_, err = FindService(ctx, kubefake.NewClientset(k8s, other))
	if err == nil || !strings.Contains(err.Error(), "2 services carry the labels app.kubernetes.io/name=prometheus: monitoring/prometheus-k8s, team-a/prometheus-k8s; say which with --prometheus-service") {
		t.Errorf("two installs: %v", err)
	}
	// Completion offers every service discovery would look at, best
	// labels first, each once.
	cands, err := Candidates(ctx, kubefake.NewClientset(grafana, operated, thanos, k8s, other, stack))
	if want := "monitoring/prometheus-k8s team-a/prometheus-k8s monitoring/kps-prometheus monitoring/prometheus-operated thanos/thanos-query"; err != nil || strings.Join(cands, " ") != want {
		t.Errorf("candidates: %q, %v; want %s", cands, err, want)
	}
	_, err = FindService(ctx, kubefake.NewClientset(grafana))
	if err == nil || !strings.Contains(err.Error(), "no Prometheus found among the cluster's 1 services") || !strings.Contains(err.Error(), "app=prometheus,component=server") {
		t.Errorf("none: %v", err)
	}
	got, err = ResolveService(ctx, kubefake.NewClientset(thanos), Service{Namespace: "thanos", Name: "thanos-query"})
	if err != nil || got.String() != "thanos/thanos-query:http" {
		t.Errorf("resolve: %+v, %v", got, err)
	}
	_, err = ResolveService(ctx, kubefake.NewClientset(thanos), Service{Namespace: "monitoring", Name: "thanos-query"})
	if err == nil || !strings.Contains(err.Error(), "no service thanos-query in namespace monitoring") {
		t.Errorf("resolve, missing: %v", err)
	}
}

func TestProxyURL(t *testing.T) {
	for _, c := range []struct {
		host string
		s    Service
		want string
	}{
		{"https://10.0.0.1:6443", Service{Namespace: "monitoring", Name: "prometheus-k8s", Port: "web", Scheme: "http"}, "https://10.0.0.1:6443/api/v1/namespaces/monitoring/services/prometheus-k8s:web/proxy"},
		{"https://rancher.example/k8s/clusters/c-1", Service{Namespace: "m", Name: "p", Port: "https", Scheme: "https"}, "https://rancher.example/k8s/clusters/c-1/api/v1/namespaces/m/services/https:p:https/proxy"},
		{"http://127.0.0.1:8080", Service{Namespace: "m", Name: "p", Scheme: "http"}, "http://127.0.0.1:8080/api/v1/namespaces/m/services/p/proxy"},
	} {
		got, rt, err := c.s.Proxy(&rest.Config{Host: c.host})
		if err != nil || got != c.want || rt == nil {
			t.Errorf("%s %+v: %s, %v; want %s", c.host, c.s, got, err, c.want)
		}
	}
}

// What the API server's proxy answers, and what CheckProxy makes of it.
func TestCheckProxy(t *testing.T) {
	s := Service{Namespace: "monitoring", Name: "prometheus-k8s", Port: "web"}
	for _, c := range []struct {
		code int
		body string
		want string
	}{
		{200, `{"status":"success","data":{"resultType":"scalar","result":[1,"1"]}}`, ""},
		{403, `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"services \"prometheus-k8s:web\" is forbidden: User \"dev\" cannot create resource \"services/proxy\"","reason":"Forbidden","code":403}`,
			"needs get and create on services/proxy in namespace monitoring"},
		{503, `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"no endpoints available for service \"prometheus-k8s:web\"","reason":"ServiceUnavailable","code":503}`,
			"found no ready endpoint of service monitoring/prometheus-k8s:web (no endpoints available"},
		{404, `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"services \"prometheus-k8s\" not found","reason":"NotFound","code":404}`,
			"found no ready endpoint of service monitoring/prometheus-k8s:web"},
		{404, `404 page not found`, "has no Prometheus query API (404: 404 page not found)"},
		{401, `Unauthorized`, "it wants credentials of its own"},
		{200, `<html>Grafana</html>`, "is it Prometheus' HTTP API port?"},
		{500, ``, "500: an empty answer"},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodPost || r.URL.Path != "/api/v1/namespaces/monitoring/services/prometheus-k8s:web/proxy/api/v1/query" || r.FormValue("query") != "1" {
				http.Error(w, "unexpected "+r.Method+" "+r.URL.String(), http.StatusBadRequest)
				return
			}
			w.WriteHeader(c.code)
			_, _ = w.Write([]byte(c.body))
		}))
		url, rt, err := s.Proxy(&rest.Config{Host: srv.URL})
		if err != nil {
			t.Fatal(err)
		}
		err = s.CheckProxy(context.Background(), url, rt)
		srv.Close()
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%d %s: %v; want %q", c.code, c.body, err, c.want)
		}
	}
}
