package integration

import (
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// gateway serves on ip a reverse proxy to the Prometheus at target that
// lets a query through only when allow says so, and otherwise answers
// 401 with allow's reason, as the gateways in front of Mimir, Cortex or
// a hosted Prometheus do. It returns its URL.
func gateway(t *testing.T, ip, target string, allow func(*http.Request) string) string {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if why := allow(r); why != "" {
			http.Error(w, why, http.StatusUnauthorized)
			return
		}
		proxy.ServeHTTP(w, r)
	})}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + l.Addr().String()
}

// tenant lets through the queries of tenant team-a, as Mimir does.
func tenant(r *http.Request) string {
	switch r.Header.Get("X-Scope-OrgID") {
	case "":
		return "no org id"
	case "team-a":
		return ""
	}
	return "tenant " + r.Header.Get("X-Scope-OrgID") + " not allowed"
}

// authGateway is a gateway in front of the Prometheus at target that
// wants the user oom, its password and the tenant team-a. creds are the
// flags that go through it; good and bad are files with the password and
// with a wrong one.
func authGateway(t *testing.T, target string) (gw string, creds []string, good, bad string) {
	t.Helper()
	gw = gateway(t, "127.0.0.1", target, func(r *http.Request) string {
		if user, pass, ok := r.BasicAuth(); !ok || user != "oom" || pass != "s3cret pass" {
			return "invalid credentials"
		}
		return tenant(r)
	})
	dir := t.TempDir()
	good, bad = filepath.Join(dir, "password"), filepath.Join(dir, "wrong")
	if err := os.WriteFile(good, []byte("s3cret pass\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("guess\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return gw, []string{"--prometheus-url", gw, "--prometheus-header", "X-Scope-OrgID: team-a", "--prometheus-user", "oom", "--prometheus-password-file", good}, good, bad
}

// A Prometheus behind a gateway that wants a tenant header and a user and
// password is read with --prometheus-header, --prometheus-user and
// --prometheus-password-file; what is missing or wrong is one error that
// says which flags to give.
func TestPrometheusBehindAGateway(t *testing.T) {
	srv, _ := prometheusHistory(t)
	gw, creds, good, bad := authGateway(t, srv.URL)
	args := []string{"recommend", "--history", "3d", "-n", "shop", "-o", "json"}
	direct := recommendations(t, oomdoctor(t, append(args, "--prometheus-url", srv.URL)...))
	if len(direct.Items) == 0 {
		t.Fatalf("no recommendation for shop read directly: %+v", direct)
	}
	r := oomdoctor(t, append(args, creds...)...)
	if got := recommendations(t, r); !reflect.DeepEqual(got.Items, direct.Items) || !reflect.DeepEqual(got.Notes, direct.Notes) {
		t.Errorf("through the gateway: %+v\nwant what Prometheus answers directly: %+v\n%s", got, direct, r)
	}

	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--prometheus-url", gw}, []string{"the Prometheus at " + gw + " refused the query (401 Unauthorized: invalid credentials): it wants credentials: --prometheus-token or --prometheus-token-file, or --prometheus-user with --prometheus-password-file", `--prometheus-header "X-Scope-OrgID: TENANT"`}},
		{[]string{"--prometheus-url", gw, "--prometheus-user", "oom", "--prometheus-password-file", bad}, []string{"(401 Unauthorized: invalid credentials): the user and password given were not accepted: check them"}},
		{[]string{"--prometheus-url", gw, "--prometheus-user", "oom", "--prometheus-password-file", good}, []string{"(401 Unauthorized: no org id): the user and password given were not accepted", `--prometheus-header "X-Scope-OrgID: TENANT"`}},
		{[]string{"--prometheus-url", gw, "--prometheus-user", "oom", "--prometheus-password-file", good, "--prometheus-header", "X-Scope-OrgID: team-b"}, []string{"(401 Unauthorized: tenant team-b not allowed)", "check the tenant given, X-Scope-OrgID team-b"}},
	} {
		r := oomdoctor(t, append(args, tc.args...)...)
		for _, want := range tc.want {
			if r.code != 1 || !strings.Contains(r.stderr, want) {
				t.Errorf("recommend %q: want a failure saying %q, got %s", tc.args, want, r)
			}
		}
		if n := strings.Count(r.stderr, "refused the query"); n != 1 {
			t.Errorf("recommend %q: the refusal said %d times, want once: %s", tc.args, n, r)
		}
	}

	// Flags that cannot work are usage errors, before any query.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--prometheus-url", gw, "--prometheus-user", "oom"}, "basic authentication needs both --prometheus-user and --prometheus-password-file"},
		{[]string{"--prometheus-url", gw, "--prometheus-user", "oom", "--prometheus-password-file", good + ".none"}, "--prometheus-password-file: open " + good + ".none"},
		{[]string{"--prometheus-url", gw, "--prometheus-user", "oom", "--prometheus-password-file", good, "--prometheus-token", "x"}, "not both"},
		{[]string{"--prometheus-url", gw, "--prometheus-header", "X-Scope-OrgID team-a"}, `want NAME: VALUE, e.g. "X-Scope-OrgID: team-a"`},
		{[]string{"--prometheus-url", gw, "--prometheus-header", "Host: elsewhere"}, "the HTTP client sets this header itself"},
		{[]string{"--prometheus-url", gw, "--prometheus-header", "Authorization: Basic eA==", "--prometheus-token", "x"}, "give one"},
		{[]string{"--prometheus-header", "X-Scope-OrgID: team-a"}, "--prometheus-header goes with --prometheus-url or --prometheus-service"},
	} {
		r := oomdoctor(t, append(args, tc.args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("recommend %q: want usage error %q, got %s", tc.args, tc.want, r)
		}
	}
}
