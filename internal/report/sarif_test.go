package report

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/oomdoctor/oomdoctor/internal/lint"
	"github.com/oomdoctor/oomdoctor/internal/manifest"
	"github.com/oomdoctor/oomdoctor/internal/model"
)

// sarifSchema is the official SARIF 2.1.0 schema, which `make test`
// fetches from the npm registry (package @microsoft/jest-sarif) into the
// cache.
func sarifSchema(t *testing.T) string {
	t.Helper()
	p := os.Getenv("OOMDOCTOR_SARIF_SCHEMA")
	if p == "" {
		cache, _ := os.UserCacheDir()
		p = filepath.Join(cache, "oomdoctor", "sarif-2.1.0-rtm.5.json")
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("the SARIF 2.1.0 schema is missing at %s: run `make sarif-schema` (make test does)", p)
	}
	return p
}

func TestSARIFValidatesAgainstTheSchema(t *testing.T) {
	files, err := manifest.ExpandInputs([]string{"../lint/testdata/rules"})
	if err != nil {
		t.Fatal(err)
	}
	cfg := lint.DefaultConfig()
	rep, err := lint.New(cfg).Run(files, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Findings) < 20 {
		t.Fatalf("only %d findings to write", len(rep.Findings))
	}
	var rules []RuleInfo
	for _, r := range lint.Rules(cfg) {
		rules = append(rules, RuleInfo{ID: r.ID(), Summary: r.Summary(), Severity: r.DefaultSeverity(), HelpURI: "https://example.invalid/rules/" + r.ID() + ".md"})
	}
	// A suppressed finding, to exercise suppressions.
	rep.Suppressed = append(rep.Suppressed, rep.Findings[0])
	rep.Suppressed[0].Suppression = &model.Suppression{Kind: "annotation", Reason: "oomdoctor.io/ignore: x"}
	var out bytes.Buffer
	if err := writeSARIF(&out, rep, rules, true); err != nil {
		t.Fatal(err)
	}

	c := jsonschema.NewCompiler()
	schemaFile, err := os.Open(sarifSchema(t))
	if err != nil {
		t.Fatal(err)
	}
	defer schemaFile.Close()
	doc, err := jsonschema.UnmarshalJSON(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AddResource("sarif.json", doc); err != nil {
		t.Fatal(err)
	}
	schema, err := c.Compile("sarif.json")
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(out.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if err := schema.Validate(inst); err != nil {
		t.Fatalf("SARIF output does not validate: %v", err)
	}

	var log struct {
		Runs []struct {
			Tool struct {
				Driver struct {
					Rules []struct{ ID, HelpURI string }
				}
			}
			Results []struct {
				RuleID       string
				RuleIndex    int
				Level        string
				Suppressions []any
			}
		}
	}
	if err := json.Unmarshal(out.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	run := log.Runs[0]
	if len(run.Tool.Driver.Rules) != len(rules) {
		t.Errorf("%d rules in the log, want %d", len(run.Tool.Driver.Rules), len(rules))
	}
	for _, r := range run.Results {
		if run.Tool.Driver.Rules[r.RuleIndex].ID != r.RuleID || !strings.Contains("error warning note", r.Level) {
			t.Errorf("result %+v", r)
		}
	}
	if last := run.Results[len(run.Results)-1]; len(last.Suppressions) != 1 {
		t.Errorf("the suppressed finding has no suppression: %+v", last)
	}
}
