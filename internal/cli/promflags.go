package cli

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	pmodel "github.com/prometheus/common/model"
	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"

	"github.com/oomdoctor/oomdoctor/internal/recommend"
	"github.com/oomdoctor/oomdoctor/internal/usage/prom"
)

// promFlags are the flags of every command that reads usage history from
// Prometheus.
type promFlags struct {
	URL, Service              string
	Token, TokenFile          string
	User, PasswordFile        string
	Headers                   []string
	CAFile, CertFile, KeyFile string
	Insecure                  bool
	Timeout                   time.Duration
	Labels, Selector          string
	History, Step, Until      string
	Concurrency               int
	OOMEvents                 bool
	// via reaches --prometheus-service through the API server the
	// kubeconfig flags name; copies of the flags share it.
	via *proxied
}

// proxied is a --prometheus-service found, checked and reached once.
type proxied struct {
	kube   *genericclioptions.ConfigFlags
	errOut io.Writer
	once   sync.Once
	svc    prom.Service
	url    string
	rt     http.RoundTripper
	err    error
}

// newPromFlags makes the flags; kube is the kubeconfig flags
// --prometheus-service goes through, errOut where it says which service
// discovery found.
func newPromFlags(kube *genericclioptions.ConfigFlags, errOut io.Writer) *promFlags {
	return &promFlags{Timeout: 2 * time.Minute, History: "14d", Step: "auto", Concurrency: 2, via: &proxied{kube: kube, errOut: errOut}}
}

func (p *promFlags) add(f *pflag.FlagSet) {
	f.StringVar(&p.URL, "prometheus-url", "", "Prometheus (or a compatible API: Thanos, Mimir, VictoriaMetrics) to read usage history from, e.g. http://127.0.0.1:9090.")
	f.StringVar(&p.Service, "prometheus-service", "", "Prometheus running in the cluster, reached through the API server's service proxy with the kubeconfig's credentials (no port-forward): NAMESPACE/NAME[:PORT], or auto to find it by the labels the usual installs give its service (kube-prometheus, kube-prometheus-stack, the prometheus chart, Thanos Query, VictoriaMetrics).")
	f.StringVar(&p.Token, "prometheus-token", "", "Bearer token for Prometheus.")
	f.StringVar(&p.TokenFile, "prometheus-token-file", "", "File holding the bearer token for Prometheus (read at every request).")
	f.StringVar(&p.User, "prometheus-user", "", "User name for Prometheus' basic authentication (with --prometheus-password-file), e.g. a Grafana Cloud instance ID.")
	f.StringVar(&p.PasswordFile, "prometheus-password-file", "", "File holding the basic-authentication password (read at every request; a final line break is not part of it).")
	f.StringArrayVar(&p.Headers, "prometheus-header", nil, "Header sent with every query, \"NAME: VALUE\" (repeatable), e.g. \"X-Scope-OrgID: team-a\" for a Mimir or Cortex tenant; with --prometheus-service too, except Authorization.")
	f.StringVar(&p.CAFile, "prometheus-ca-file", "", "CA certificate to verify Prometheus' TLS certificate.")
	f.StringVar(&p.CertFile, "prometheus-cert-file", "", "Client certificate for Prometheus.")
	f.StringVar(&p.KeyFile, "prometheus-key-file", "", "Client key for Prometheus.")
	f.BoolVar(&p.Insecure, "prometheus-insecure-skip-tls-verify", false, "Do not verify Prometheus' TLS certificate.")
	f.DurationVar(&p.Timeout, "prometheus-timeout", p.Timeout, "Timeout of one Prometheus query; a query that times out becomes a note about the data it leaves out.")
	f.StringVar(&p.Labels, "prometheus-labels", "", "Label names when the series are relabeled: namespace=NAME,pod=NAME,container=NAME (default namespace, pod, container).")
	f.StringVar(&p.Selector, "prometheus-selector", "", "Label matchers added to every query, e.g. cluster=\"prod\" on a server that holds several clusters.")
	f.StringVar(&p.History, "history", p.History, "How much usage history to read, e.g. 7d, 14d, 2w.")
	f.StringVar(&p.Until, "until", "", "End of the history (RFC 3339, e.g. 2026-11-20T14:00:00Z): look at the days before an incident. Default: now.")
	f.StringVar(&p.Step, "step", p.Step, "Resolution of the history: each point is the highest value within a step (max_over_time), so no peak is lost; auto is the coarsest the strategy loses nothing on (6h for tail and krr, which keep 6-hour peaks; 5m for the others).")
	f.IntVar(&p.Concurrency, "prometheus-concurrency", p.Concurrency, "Queries to run at once.")
	f.BoolVar(&p.OOMEvents, "oom-events", false, "Also read cAdvisor's container_oom_events_total: kills of child processes that kube-state-metrics never sees (reads every container's counter: about twice the work for Prometheus).")
}

func (p *promFlags) set() bool { return p.URL != "" || p.Service != "" }

// where is the flag and value that name the Prometheus read, for the
// commands warnings suggest.
func (p *promFlags) where() string {
	if p.Service != "" {
		if p.via != nil && p.via.svc.Name != "" {
			return "--prometheus-service " + p.via.svc.Namespace + "/" + p.via.svc.Name
		}
		return "--prometheus-service " + p.Service
	}
	return "--prometheus-url " + p.URL
}

// describe names the Prometheus read, in notes.
func (p *promFlags) describe() string {
	if p.Service != "" && p.via != nil && p.via.svc.Name != "" {
		return "Prometheus " + p.via.svc.String() + " (through the API server)"
	}
	return "Prometheus " + p.URL
}

// proxy finds (auto), checks and reaches --prometheus-service, once,
// with the headers of --prometheus-header.
func (p *promFlags) proxy(headers http.Header) (string, http.RoundTripper, error) {
	v := p.via
	v.once.Do(func() {
		v.err = v.connect(p.Service, headers)
	})
	return v.url, v.rt, v.err
}

// connect reaches the service with headers (--prometheus-header) on every
// request, the check's too.
func (v *proxied) connect(want string, h http.Header) error {
	if h.Get("Authorization") != "" {
		return usagef("--prometheus-header Authorization: the API server takes that header for itself and does not pass it on to the service; give --prometheus-url to send it to Prometheus")
	}
	var svc prom.Service
	if want != "auto" {
		s, err := prom.ParseService(want)
		if err != nil {
			return asUsage(err)
		}
		svc = s
	}
	if v.kube == nil {
		return usagef("--prometheus-service needs a cluster (kubeconfig flags)")
	}
	rc, err := restConfig(v.kube, ", or reach Prometheus with --prometheus-url")
	if err != nil {
		return asUsage(err)
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if want == "auto" {
		svc, err = prom.FindService(ctx, cs)
	} else {
		svc, err = prom.ResolveService(ctx, cs, svc)
	}
	if err != nil {
		return err
	}
	url, rt, err := svc.Proxy(rc)
	if err != nil {
		return err
	}
	rt = prom.WithHeaders(rt, h)
	if err := svc.CheckProxy(ctx, url, rt); err != nil {
		return err
	}
	if svc.FoundBy != "" && v.errOut != nil {
		fmt.Fprintf(v.errOut, "note: reading Prometheus %s, found by the labels %s, through the API server %s (name another with --prometheus-service NAMESPACE/NAME[:PORT])\n", svc, svc.FoundBy, rc.Host)
	}
	v.svc, v.url, v.rt = svc, url, rt
	return nil
}

// connectionFlags only say how to talk to Prometheus; historyFlags also
// shape the history read from a snapshot's series files.
var (
	connectionFlags = []string{"prometheus-token", "prometheus-token-file", "prometheus-user", "prometheus-password-file", "prometheus-header", "prometheus-ca-file", "prometheus-cert-file", "prometheus-key-file",
		"prometheus-insecure-skip-tls-verify", "prometheus-timeout", "prometheus-selector", "prometheus-concurrency", "oom-events"}
	historyFlags = []string{"history", "until", "step", "prometheus-labels"}
	tlsFlags     = []string{"prometheus-token", "prometheus-token-file", "prometheus-user", "prometheus-password-file", "prometheus-ca-file", "prometheus-cert-file", "prometheus-key-file", "prometheus-insecure-skip-tls-verify"}
)

// misused is a usage error for a Prometheus flag given where it does
// nothing: a connection flag without --prometheus-url, or any of them
// with --trace (read whole, as it is), instead of ignoring it silently.
func (p *promFlags) misused(f *pflag.FlagSet, trace bool) error {
	if trace {
		for _, name := range append(append([]string(nil), historyFlags...), connectionFlags...) {
			if f.Changed(name) {
				return usagef("--%s goes with --prometheus-url or --snapshot, not --trace (a trace is read whole)", name)
			}
		}
	}
	if p.URL != "" && p.Service != "" {
		return usagef("give --prometheus-url or --prometheus-service, not both")
	}
	if !p.set() {
		for _, name := range connectionFlags {
			if f.Changed(name) {
				return usagef("--%s goes with --prometheus-url or --prometheus-service", name)
			}
		}
	}
	if p.Service != "" {
		for _, name := range tlsFlags {
			if f.Changed(name) {
				return usagef("--%s goes with --prometheus-url: through the API server's proxy (--prometheus-service) the kubeconfig's credentials reach Prometheus", name)
			}
		}
	}
	return nil
}

func (p *promFlags) client() (*prom.Client, error) {
	labels, err := prom.ParseLabels(p.Labels)
	if err != nil {
		return nil, usagef("--prometheus-labels: %v", err)
	}
	if p.Concurrency < 1 {
		return nil, usagef("--prometheus-concurrency must be at least 1")
	}
	headers, err := prom.ParseHeaders(p.Headers)
	if err != nil {
		return nil, asUsage(err)
	}
	if p.Service != "" {
		url, rt, err := p.proxy(headers)
		if err != nil {
			return nil, err
		}
		c, err := prom.New(prom.Config{URL: url, Transport: rt, Name: p.via.svc.String() + " (through the API server)", Timeout: p.Timeout, Labels: labels, Selector: p.Selector, Concurrency: p.Concurrency})
		if err != nil {
			return nil, asUsage(err)
		}
		return c, nil
	}
	c, err := prom.New(prom.Config{URL: p.URL, BearerToken: p.Token, BearerTokenFile: p.TokenFile, BasicUser: p.User, BasicPasswordFile: p.PasswordFile, Headers: headers, CAFile: p.CAFile, CertFile: p.CertFile, KeyFile: p.KeyFile,
		InsecureSkipTLSVerify: p.Insecure, Timeout: p.Timeout, Labels: labels, Selector: p.Selector, Concurrency: p.Concurrency})
	if err != nil {
		return nil, asUsage(err)
	}
	return c, nil
}

// atMost is a copy of the flags whose --history is at most d (a
// malformed --history stays, for window to report).
func (p *promFlags) atMost(d time.Duration) *promFlags {
	q := *p
	if h, err := pmodel.ParseDuration(p.History); err == nil && time.Duration(h) > d {
		q.History = pmodel.Duration(d).String()
	}
	return &q
}

// stepFits refuses a --step coarser than what the strategy keeps of the
// history (its Resolution: 6h for tail's 6-hour peaks): a point per day
// or week leaves it too few peaks to size from, and moves every peak.
func (p *promFlags) stepFits(st recommend.Strategy) error {
	s, err := pmodel.ParseDuration(p.Step)
	if p.Step == "auto" || err != nil || st.Resolution <= 0 || time.Duration(s) <= st.Resolution {
		return nil // auto, or what window says of a bad step
	}
	return usagef("--step %s is coarser than the %s peaks strategy %s sizes from: give %s or less (auto: %s)", p.Step, pmodel.Duration(st.Resolution), st.Name, pmodel.Duration(st.Resolution), pmodel.Duration(st.Resolution))
}

// window returns the history's start, end and step, ending now; auto is
// the step --step auto means (0: 5m).
func (p *promFlags) window(now time.Time, auto time.Duration) (start, end time.Time, step time.Duration, err error) {
	h, err := pmodel.ParseDuration(p.History)
	if err != nil || h <= 0 {
		return start, end, 0, usagef("--history %q: want a duration like 7d, 14d or 36h", p.History)
	}
	spec := p.Step
	if spec == "auto" {
		spec = "5m"
		if auto > 0 {
			spec = pmodel.Duration(auto).String()
		}
	}
	s, err := pmodel.ParseDuration(spec)
	if err != nil || s <= 0 {
		return start, end, 0, usagef("--step %q: want auto or a duration like 30s, 1m or 5m", p.Step)
	}
	if time.Duration(s) < time.Second || time.Duration(s) > time.Duration(h)/2 {
		return start, end, 0, usagef("--step %s must be at least 1s and at most half of --history %s", spec, p.History)
	}
	end = now.Truncate(time.Minute)
	if p.Until != "" {
		u, err := time.Parse(time.RFC3339, p.Until)
		if err != nil {
			return start, end, 0, usagef("--until %q: want a time like 2026-11-20T14:00:00Z", p.Until)
		}
		if u.After(now) {
			return start, end, 0, usagef("--until %s is in the future", p.Until)
		}
		end = u
	}
	return end.Add(-time.Duration(h)), end, time.Duration(s), nil
}
