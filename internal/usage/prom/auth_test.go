package prom

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseHeaders(t *testing.T) {
	h, err := ParseHeaders([]string{"X-Scope-OrgID: team-a", "x-scope-orgid:team-b", "X-Api-Key:  k: v "})
	if err != nil {
		t.Fatal(err)
	}
	want := http.Header{"X-Scope-Orgid": {"team-a", "team-b"}, "X-Api-Key": {"k: v"}}
	if !reflect.DeepEqual(h, want) {
		t.Errorf("ParseHeaders: %v, want %v", h, want)
	}
	if h, err := ParseHeaders(nil); h != nil || err != nil {
		t.Errorf("no header: %v %v", h, err)
	}
	for in, want := range map[string]string{
		"X-Scope-OrgID team-a": "want NAME: VALUE",
		": team-a":             "want NAME: VALUE",
		"X Scope: a":           "not a valid header name",
		"Host: elsewhere":      "the HTTP client sets this header itself",
		"content-length: 3":    "the HTTP client sets this header itself",
		"X-Scope-OrgID:":       "the value is empty",
		"X-Scope-OrgID: a\rb":  "holds a character a header cannot",
	} {
		if _, err := ParseHeaders([]string{in}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseHeaders(%q): want an error saying %q, got %v", in, want, err)
		}
	}
}

func TestAuthConfigErrors(t *testing.T) {
	pass := filepath.Join(t.TempDir(), "pass")
	if err := os.WriteFile(pass, []byte("p\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	auth := http.Header{"Authorization": {"Basic eDp5"}}
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{URL: "http://p", BasicUser: "u"}, "needs both --prometheus-user and --prometheus-password-file"},
		{Config{URL: "http://p", BasicPasswordFile: pass}, "needs both --prometheus-user and --prometheus-password-file"},
		{Config{URL: "http://p", BasicUser: "u", BasicPasswordFile: pass, BearerToken: "t"}, "not both"},
		{Config{URL: "http://p", BasicUser: "u:v", BasicPasswordFile: pass}, "cannot hold a colon"},
		{Config{URL: "http://p", BasicUser: "u", BasicPasswordFile: "/nonexistent/pass"}, "--prometheus-password-file"},
		{Config{URL: "http://p", Headers: auth, BearerToken: "t"}, "give one"},
		{Config{URL: "http://p", Headers: auth, BasicUser: "u", BasicPasswordFile: pass}, "give one"},
		{Config{URL: "http://p", Headers: http.Header{"Host": {"x"}}}, "sets this header itself"},
		{Config{URL: "http://p", Transport: http.DefaultTransport, Headers: auth}, "the API server takes that header for itself"},
		{Config{URL: "http://p", Transport: http.DefaultTransport, BasicUser: "u", BasicPasswordFile: pass}, "go with --prometheus-url"},
	} {
		if _, err := New(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: want an error saying %q, got %v", tc.cfg, tc.want, err)
		}
	}
	for _, cfg := range []Config{
		{URL: "http://p", BasicUser: "u", BasicPasswordFile: pass, Headers: http.Header{"X-Scope-Orgid": {"a"}}},
		{URL: "http://p", Headers: auth},
		{URL: "http://p", Transport: http.DefaultTransport, Headers: http.Header{"X-Scope-Orgid": {"a"}}},
	} {
		if _, err := New(cfg); err != nil {
			t.Errorf("%+v refused: %v", cfg, err)
		}
	}
}

// Each request carries the headers and the credentials, the password as
// the file holds it at that moment; a refusal says what to give.
func TestAuthOnEveryRequest(t *testing.T) {
	type seen struct{ tenant, user, pass, auth string }
	var got []seen
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, _ := r.BasicAuth()
		got = append(got, seen{r.Header.Get("X-Scope-OrgID"), user, pass, r.Header.Get("Authorization")})
		if pass != "second" {
			http.Error(w, "invalid credentials", http.StatusUnauthorized)
			return
		}
		fmt.Fprint(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"1"]}]}}`)
	}))
	defer srv.Close()
	pass := filepath.Join(t.TempDir(), "pass")
	if err := os.WriteFile(pass, []byte("first word\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := New(Config{URL: srv.URL, BasicUser: "oom", BasicPasswordFile: pass, Headers: http.Header{"X-Scope-Orgid": {"team-a"}}})
	if err != nil {
		t.Fatal(err)
	}
	err = c.Check(context.Background())
	want := "the Prometheus at " + srv.URL + " refused the query (401 Unauthorized: invalid credentials): the user and password given were not accepted: check them (and check the tenant given, X-Scope-OrgID team-a)"
	if err == nil || err.Error() != want {
		t.Errorf("Check with the wrong password:\n got %v\nwant %s", err, want)
	}
	if err := os.WriteFile(pass, []byte("second\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := c.Check(context.Background()); err != nil {
		t.Errorf("Check after the password file changed: %v", err)
	}
	if len(got) != 2 || got[0] != (seen{"team-a", "oom", "first word", got[0].auth}) || got[1].pass != "second" || got[1].tenant != "team-a" {
		t.Errorf("requests carried %+v", got)
	}

	// Nothing given: every way to give credentials is named; and an
	// unreadable password file fails the request, not silently.
	bare, err := New(Config{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	err = bare.Check(context.Background())
	for _, want := range []string{"refused the query (401 Unauthorized: invalid credentials): it wants credentials: --prometheus-token or --prometheus-token-file, or --prometheus-user with --prometheus-password-file", `--prometheus-header "X-Scope-OrgID: TENANT"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Check without credentials: want %q, got %v", want, err)
		}
	}
	os.Remove(pass)
	if err := c.Check(context.Background()); err == nil || !strings.Contains(err.Error(), "--prometheus-password-file") {
		t.Errorf("Check with the password file gone: %v", err)
	}
}

func TestCheckOtherErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no such path", http.StatusNotFound)
	}))
	c, err := New(Config{URL: srv.URL, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	// A 404 is not a matter of credentials: it is the wrong address or
	// path.
	if err := c.Check(context.Background()); err == nil || strings.Contains(err.Error(), "credentials") || !strings.Contains(err.Error(), "no Prometheus query API at "+srv.URL+" (404 Not Found for its /api/v1/ paths): check --prometheus-url: the address, and the path when Prometheus is served under a prefix") {
		t.Errorf("Check on a 404: %v", err)
	}
	// A web page where the API's JSON should be: a login page, Grafana.
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<html><body>Sign in</body></html>")
	}))
	defer page.Close()
	pc, err := New(Config{URL: page.URL, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.Check(context.Background()); err == nil || !strings.Contains(err.Error(), "the server at "+page.URL+" answered with a web page, not Prometheus' API") {
		t.Errorf("Check on a web page: %v", err)
	}
	srv.Close()
	if err := c.Check(context.Background()); err == nil || !strings.Contains(err.Error(), "cannot reach Prometheus at "+srv.URL) {
		t.Errorf("Check on a closed server: %v", err)
	}
}
