package cli

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"text/template"

	"sigs.k8s.io/yaml"
)

// krewPlugin is the part of krew's Plugin (v1alpha2) that its index checks.
type krewPlugin struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Version          string `json:"version"`
		ShortDescription string `json:"shortDescription"`
		Description      string `json:"description"`
		Homepage         string `json:"homepage"`
		Platforms        []struct {
			Selector struct {
				MatchLabels map[string]string `json:"matchLabels"`
			} `json:"selector"`
			URI    string `json:"uri"`
			Sha256 string `json:"sha256"`
			Bin    string `json:"bin"`
		} `json:"platforms"`
	} `json:"spec"`
}

// renderKrew renders deploy/krew/oomdoctor.yaml the way krew-release-bot
// does, for tag.
func renderKrew(t *testing.T, tag string) krewPlugin {
	t.Helper()
	raw, err := os.ReadFile("../../deploy/krew/oomdoctor.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := template.New("krew").Funcs(template.FuncMap{
		"addURIAndSha": func(uri, tag string) string {
			uri = strings.ReplaceAll(uri, "{{ .TagName }}", tag)
			return fmt.Sprintf("uri: %s\n    sha256: %s", uri, strings.Repeat("a", 64))
		},
	}).Parse(string(raw))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := tmpl.Execute(&out, map[string]string{"TagName": tag}); err != nil {
		t.Fatal(err)
	}
	var p krewPlugin
	if err := yaml.UnmarshalStrict(out.Bytes(), &p); err != nil {
		t.Fatalf("rendered manifest does not parse: %v\n%s", err, out.String())
	}
	return p
}

// TestKrewManifest renders deploy/krew/oomdoctor.yaml the way
// krew-release-bot does and checks what krew's index validation checks.
func TestKrewManifest(t *testing.T) {
	tag := "v1.2.3"
	p := renderKrew(t, tag)
	if p.APIVersion != "krew.googlecontainertools.github.com/v1alpha2" || p.Kind != "Plugin" || p.Metadata.Name != "oomdoctor" {
		t.Errorf("header: %+v", p)
	}
	if p.Spec.Version != tag || p.Spec.ShortDescription == "" || len(p.Spec.ShortDescription) > 50 || p.Spec.Homepage == "" {
		t.Errorf("spec: version %q short description %q (krew wants one under 50 chars)", p.Spec.Version, p.Spec.ShortDescription)
	}
	if !strings.Contains(p.Spec.Description, "kubectl oomdoctor scan") {
		t.Error("description should show how to run it")
	}
	seen := map[string]bool{}
	for _, pl := range p.Spec.Platforms {
		key := pl.Selector.MatchLabels["os"] + "/" + pl.Selector.MatchLabels["arch"]
		seen[key] = true
		if !regexp.MustCompile(`^https://.+/oomdoctor_v1\.2\.3_` + strings.ReplaceAll(key, "/", "_") + `\.tar\.gz$`).MatchString(pl.URI) {
			t.Errorf("%s: uri %q", key, pl.URI)
		}
		if len(pl.Sha256) != 64 || pl.Bin != "kubectl-oomdoctor" {
			t.Errorf("%s: sha256 %q bin %q", key, pl.Sha256, pl.Bin)
		}
	}
	for _, want := range []string{"linux/amd64", "linux/arm64", "darwin/amd64", "darwin/arm64"} {
		if !seen[want] {
			t.Errorf("no platform %s", want)
		}
	}
}
