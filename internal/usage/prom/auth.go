package prom

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"golang.org/x/net/http/httpguts"
)

// reservedHeaders are the headers the HTTP client sets itself: one given
// by the user would break the request, not reach Prometheus.
var reservedHeaders = []string{"Host", "Content-Length", "Content-Type", "Connection", "Transfer-Encoding", "Te", "Trailer", "Upgrade", "Keep-Alive", "Proxy-Connection"}

// ParseHeaders reads --prometheus-header values, each "NAME: VALUE" as
// curl -H takes them; a name given twice sends both values.
func ParseHeaders(vals []string) (http.Header, error) {
	if len(vals) == 0 {
		return nil, nil
	}
	h := http.Header{}
	for _, v := range vals {
		name, value, ok := strings.Cut(v, ":")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if !ok || name == "" {
			return nil, fmt.Errorf("--prometheus-header %q: want NAME: VALUE, e.g. \"X-Scope-OrgID: team-a\"", v)
		}
		h.Add(name, value)
	}
	if err := CheckHeaders(h); err != nil {
		return nil, err
	}
	return h, nil
}

// CheckHeaders refuses a header HTTP cannot carry or the client sets
// itself.
func CheckHeaders(h http.Header) error {
	for name, vals := range h {
		if !httpguts.ValidHeaderFieldName(name) {
			return fmt.Errorf("--prometheus-header %q: not a valid header name (letters, digits and -, e.g. X-Scope-OrgID)", name)
		}
		for _, r := range reservedHeaders {
			if http.CanonicalHeaderKey(name) == r {
				return fmt.Errorf("--prometheus-header %s: the HTTP client sets this header itself; give only the headers Prometheus or a proxy in front of it asks for", name)
			}
		}
		for _, v := range vals {
			if v == "" || !httpguts.ValidHeaderFieldValue(v) {
				return fmt.Errorf("--prometheus-header %s: the value is empty or holds a character a header cannot (a line break, a control character)", name)
			}
		}
	}
	return nil
}

// checkBasic checks the basic-auth fields: a user and a readable
// password file go together, and not with a bearer token.
func checkBasic(cfg Config) error {
	if cfg.BasicUser == "" && cfg.BasicPasswordFile == "" {
		return nil
	}
	if cfg.BasicUser == "" || cfg.BasicPasswordFile == "" {
		return fmt.Errorf("basic authentication needs both --prometheus-user and --prometheus-password-file")
	}
	if cfg.BearerToken != "" || cfg.BearerTokenFile != "" {
		return fmt.Errorf("give a bearer token (--prometheus-token, --prometheus-token-file) or a user and password (--prometheus-user, --prometheus-password-file), not both")
	}
	if strings.Contains(cfg.BasicUser, ":") {
		return fmt.Errorf("--prometheus-user %q: a user name of basic authentication cannot hold a colon", cfg.BasicUser)
	}
	if _, err := os.ReadFile(cfg.BasicPasswordFile); err != nil {
		return fmt.Errorf("--prometheus-password-file: %w", err)
	}
	return nil
}

// auth adds the configured headers and credentials to each request. The
// token and password files are read at every request, so a rotated
// secret is picked up.
type auth struct {
	next    http.RoundTripper
	headers http.Header
	token   string
	tokenAt string
	user    string
	passAt  string
}

// withAuth wraps next in what cfg asks each request to carry, or returns
// it as it is when cfg asks for nothing.
func withAuth(cfg Config, next http.RoundTripper) http.RoundTripper {
	if len(cfg.Headers) == 0 && cfg.BearerToken == "" && cfg.BearerTokenFile == "" && cfg.BasicUser == "" {
		return next
	}
	return &auth{next: next, headers: cfg.Headers, token: cfg.BearerToken, tokenAt: cfg.BearerTokenFile, user: cfg.BasicUser, passAt: cfg.BasicPasswordFile}
}

func (a *auth) RoundTrip(r *http.Request) (*http.Response, error) {
	fail := func(err error) (*http.Response, error) {
		if r.Body != nil {
			r.Body.Close() // a RoundTripper closes the body, even on error
		}
		return nil, err
	}
	r = r.Clone(r.Context())
	for name, vals := range a.headers {
		r.Header[http.CanonicalHeaderKey(name)] = append([]string(nil), vals...)
	}
	switch {
	case a.token != "" || a.tokenAt != "":
		tok := a.token
		if a.tokenAt != "" {
			raw, err := os.ReadFile(a.tokenAt)
			if err != nil {
				return fail(fmt.Errorf("--prometheus-token-file: %w", err))
			}
			tok = strings.TrimSpace(string(raw))
		}
		r.Header.Set("Authorization", "Bearer "+tok)
	case a.user != "":
		raw, err := os.ReadFile(a.passAt)
		if err != nil {
			return fail(fmt.Errorf("--prometheus-password-file: %w", err))
		}
		r.SetBasicAuth(a.user, strings.TrimRight(string(raw), "\r\n"))
	}
	return a.next.RoundTrip(r)
}

// WithHeaders wraps next so that every request carries h: the headers of
// --prometheus-header on the API server's proxy, whose transport brings
// its own credentials.
func WithHeaders(next http.RoundTripper, h http.Header) http.RoundTripper {
	return withAuth(Config{Headers: h}, next)
}

// refusedCode is the status of a client error that asks for other
// credentials (401, 403), else 0. The API client says the status only
// in its message ("client error: 401").
func refusedCode(pe *v1.Error) int {
	var code int
	if pe.Type != v1.ErrClient {
		return 0
	}
	if _, err := fmt.Sscanf(pe.Msg, "client error: %d", &code); err != nil || (code != http.StatusUnauthorized && code != http.StatusForbidden) {
		return 0
	}
	return code
}

// credentials says what to give when Prometheus (or a gateway in front
// of it) refused the credentials the query came with; body is its answer.
func (c *Client) credentials(code int, body string) error {
	why := fmt.Sprintf("%d %s", code, http.StatusText(code))
	if b := snippet([]byte(body)); body != "" {
		why += ": " + b
	}
	if c.cfg.Transport != nil {
		return fmt.Errorf("the Prometheus %s refused the query (%s): it wants credentials of its own, which the API server's proxy does not pass on; give --prometheus-url with them, or, when it asks for a tenant (Mimir, Cortex), --prometheus-header \"X-Scope-OrgID: TENANT\"", c.url, why)
	}
	tenant := "; or, when it asks for a tenant (Mimir, Cortex), --prometheus-header \"X-Scope-OrgID: TENANT\""
	if c.cfg.Headers.Get("X-Scope-OrgID") != "" {
		tenant = " (and check the tenant given, X-Scope-OrgID " + c.cfg.Headers.Get("X-Scope-OrgID") + ")"
	}
	switch {
	case c.cfg.BearerToken != "" || c.cfg.BearerTokenFile != "":
		return fmt.Errorf("the Prometheus at %s refused the query (%s): the bearer token given was not accepted: check it and its rights%s", c.url, why, tenant)
	case c.cfg.BasicUser != "":
		return fmt.Errorf("the Prometheus at %s refused the query (%s): the user and password given were not accepted: check them%s", c.url, why, tenant)
	case c.cfg.Headers.Get("Authorization") != "":
		return fmt.Errorf("the Prometheus at %s refused the query (%s): the Authorization header given was not accepted: check it%s", c.url, why, tenant)
	}
	return fmt.Errorf("the Prometheus at %s refused the query (%s): it wants credentials: --prometheus-token or --prometheus-token-file, or --prometheus-user with --prometheus-password-file%s", c.url, why, tenant)
}

// Check asks Prometheus for 1, to find out before the real queries that
// it cannot be reached or refuses the credentials: one error, instead of
// one per query.
func (c *Client) Check(ctx context.Context) error {
	r := &run{c: c}
	cctx, cancel := c.ctx(ctx)
	defer cancel()
	if _, _, err := c.api.Query(cctx, "1", time.Time{}); err != nil {
		return r.reach(err)
	}
	return nil
}
