// Package prom reads containers' memory history from Prometheus: cAdvisor's
// container_memory_* series and kube-state-metrics' requests, limits,
// restarts, termination reasons and owners. It asks in batches (a
// namespace, or a group of its pods, at a time), aggregates on the server
// (max_over_time at the step, so no peak between two points is lost) and
// splits long ranges so no query returns more than Prometheus' 11,000
// points per series. A query that fails or times out becomes a note about
// the containers it leaves out, not an error for the whole run.
package prom

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
)

// Labels are the label names the series carry; clusters that relabel
// cAdvisor's or kube-state-metrics' series set them.
type Labels struct {
	Namespace, Pod, Container string
}

// DefaultLabels are the names cAdvisor (in the kubelet) and
// kube-state-metrics use.
var DefaultLabels = Labels{Namespace: "namespace", Pod: "pod", Container: "container"}

// ParseLabels reads "namespace=ns,pod=pod_name,container=container_name"
// over DefaultLabels.
func ParseLabels(s string) (Labels, error) {
	l := DefaultLabels
	if strings.TrimSpace(s) == "" {
		return l, nil
	}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok || v == "" || !validLabel(v) {
			return l, fmt.Errorf("label mapping %q: want ROLE=LABEL_NAME with ROLE one of namespace, pod, container (e.g. pod=pod_name)", kv)
		}
		switch k {
		case "namespace":
			l.Namespace = v
		case "pod":
			l.Pod = v
		case "container":
			l.Container = v
		default:
			return l, fmt.Errorf("label mapping %q: unknown role %q: valid roles are namespace, pod, container", kv, k)
		}
	}
	return l, nil
}

func validLabel(s string) bool {
	for i, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return s != ""
}

// Config says how to reach Prometheus.
type Config struct {
	URL string
	// Transport, when set, carries the requests instead of one made of
	// the TLS and bearer fields (which must then be empty): the API
	// server's, to reach a Service through its proxy. Name then says
	// which Prometheus in messages, instead of the URL.
	Transport http.RoundTripper
	Name      string
	// BearerToken or BearerTokenFile (read at every request, so a rotated
	// token is picked up) authenticate; or BasicUser with the password in
	// BasicPasswordFile (read at every request too).
	BearerToken, BearerTokenFile string
	BasicUser, BasicPasswordFile string
	// Headers go with every request: a tenant (X-Scope-OrgID on Mimir,
	// Cortex or Loki-style gateways), or what a proxy in front asks for.
	// Through Transport too, except Authorization, which the API server
	// keeps for itself.
	Headers http.Header
	// CAFile verifies the server; CertFile and KeyFile are a client
	// certificate.
	CAFile, CertFile, KeyFile string
	InsecureSkipTLSVerify     bool
	// Timeout bounds one query (server and client side); 0 means 2m.
	Timeout time.Duration
	Labels  Labels
	// Selector is extra label matchers added to every query, e.g.
	// cluster="prod" on a Thanos or Mimir that holds many clusters.
	Selector string
	// Concurrency is how many queries run at once; 0 means 2.
	Concurrency int
}

// Client asks one Prometheus.
type Client struct {
	api v1.API
	cfg Config
	url string
}

// New checks the configuration and makes a client; it does not connect.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--prometheus-url %q: want http(s)://HOST[:PORT][/PATH], e.g. http://prometheus.monitoring:9090", cfg.URL)
	}
	if cfg.Labels == (Labels{}) {
		cfg.Labels = DefaultLabels
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 2 * time.Minute
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 2
	}
	if cfg.Selector != "" {
		if err := checkSelector(cfg.Selector); err != nil {
			return nil, err
		}
	}
	if cfg.BearerToken != "" && cfg.BearerTokenFile != "" {
		return nil, fmt.Errorf("give --prometheus-token or --prometheus-token-file, not both")
	}
	if cfg.BearerTokenFile != "" {
		if _, err := os.ReadFile(cfg.BearerTokenFile); err != nil {
			return nil, fmt.Errorf("--prometheus-token-file: %w", err)
		}
	}
	if err := checkBasic(cfg); err != nil {
		return nil, err
	}
	if err := CheckHeaders(cfg.Headers); err != nil {
		return nil, err
	}
	if cfg.Headers.Get("Authorization") != "" && (cfg.BearerToken != "" || cfg.BearerTokenFile != "" || cfg.BasicUser != "") {
		return nil, fmt.Errorf("an Authorization header (--prometheus-header) and --prometheus-token or --prometheus-user both say how to authenticate: give one")
	}
	name := cfg.URL
	if cfg.Transport != nil {
		if cfg.BearerToken != "" || cfg.BearerTokenFile != "" || cfg.BasicUser != "" || cfg.CAFile != "" || cfg.CertFile != "" || cfg.KeyFile != "" || cfg.InsecureSkipTLSVerify {
			return nil, fmt.Errorf("through the API server's proxy the kubeconfig's credentials reach Prometheus: --prometheus-token, --prometheus-token-file, --prometheus-user, --prometheus-password-file, --prometheus-ca-file, --prometheus-cert-file, --prometheus-key-file and --prometheus-insecure-skip-tls-verify go with --prometheus-url")
		}
		if cfg.Headers.Get("Authorization") != "" {
			return nil, fmt.Errorf("--prometheus-header Authorization: the API server takes that header for itself and does not pass it on to the service; give --prometheus-url to send it to Prometheus")
		}
		if cfg.Name != "" {
			name = cfg.Name
		}
		c, err := api.NewClient(api.Config{Address: cfg.URL, RoundTripper: withAuth(cfg, cfg.Transport)})
		if err != nil {
			return nil, err
		}
		return &Client{api: v1.NewAPI(c), cfg: cfg, url: name}, nil
	}
	tc := &tls.Config{InsecureSkipVerify: cfg.InsecureSkipTLSVerify} //nolint:gosec // the user asked for it
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("--prometheus-ca-file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--prometheus-ca-file %s: no PEM certificate in it", cfg.CAFile)
		}
		tc.RootCAs = pool
	}
	if (cfg.CertFile == "") != (cfg.KeyFile == "") {
		return nil, fmt.Errorf("a client certificate needs both --prometheus-cert-file and --prometheus-key-file")
	}
	if cfg.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tc
	c, err := api.NewClient(api.Config{Address: cfg.URL, RoundTripper: withAuth(cfg, tr)})
	if err != nil {
		return nil, err
	}
	return &Client{api: v1.NewAPI(c), cfg: cfg, url: cfg.URL}, nil
}

// checkSelector accepts matchers like a="b",c=~"d.*" (no braces).
func checkSelector(s string) error {
	rest := strings.TrimSpace(s)
	for rest != "" {
		i := strings.IndexAny(rest, "=!")
		if i <= 0 || !validLabel(strings.TrimSpace(rest[:i])) {
			return fmt.Errorf("--prometheus-selector %q: want label matchers like cluster=\"prod\",region=~\"eu-.*\"", s)
		}
		rest = rest[i:]
		op := 1
		if strings.HasPrefix(rest, "=~") || strings.HasPrefix(rest, "!=") || strings.HasPrefix(rest, "!~") {
			op = 2
		} else if rest[0] != '=' {
			return fmt.Errorf("--prometheus-selector %q: want label matchers like cluster=\"prod\"", s)
		}
		rest = strings.TrimSpace(rest[op:])
		if rest == "" || rest[0] != '"' {
			return fmt.Errorf("--prometheus-selector %q: quote each value: cluster=\"prod\"", s)
		}
		end := 1
		for end < len(rest) && rest[end] != '"' {
			if rest[end] == '\\' {
				end++
			}
			end++
		}
		if end >= len(rest) {
			return fmt.Errorf("--prometheus-selector %q: a value's closing quote is missing", s)
		}
		rest = strings.TrimSpace(rest[end+1:])
		if rest != "" {
			if rest[0] != ',' {
				return fmt.Errorf("--prometheus-selector %q: separate matchers with commas", s)
			}
			rest = strings.TrimSpace(rest[1:])
		}
	}
	return nil
}

// ctx bounds one query by the configured timeout.
func (c *Client) ctx(parent context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(parent, c.cfg.Timeout)
}

// flag is the flag that says where Prometheus is.
func (c *Client) flag() string {
	if c.cfg.Transport != nil {
		return "--prometheus-service"
	}
	return "--prometheus-url"
}
