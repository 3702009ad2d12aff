package report

import (
	"encoding/json"
	"io"
	"path/filepath"
	"strings"

	"github.com/oomdoctor/oomdoctor/internal/model"
	"github.com/oomdoctor/oomdoctor/internal/version"
)

// SARIF 2.1.0 (OASIS), the part lint writes.
type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool    sarifTool     `json:"tool"`
	Results []sarifResult `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID                   string             `json:"id"`
	Name                 string             `json:"name"`
	ShortDescription     sarifText          `json:"shortDescription"`
	HelpURI              string             `json:"helpUri"`
	Help                 sarifText          `json:"help"`
	DefaultConfiguration sarifConfiguration `json:"defaultConfiguration"`
}

type sarifConfiguration struct {
	Level string `json:"level"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifResult struct {
	RuleID       string             `json:"ruleId"`
	RuleIndex    int                `json:"ruleIndex"`
	Level        string             `json:"level"`
	Message      sarifText          `json:"message"`
	Locations    []sarifLocation    `json:"locations"`
	Suppressions []sarifSuppression `json:"suppressions,omitempty"`
	Properties   map[string]any     `json:"properties,omitempty"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           sarifRegion   `json:"region"`
}

type sarifArtifact struct {
	URI string `json:"uri"`
}

type sarifRegion struct {
	StartLine   int `json:"startLine"`
	StartColumn int `json:"startColumn,omitempty"`
}

type sarifSuppression struct {
	Kind          string `json:"kind"`
	Justification string `json:"justification,omitempty"`
}

// sarifLevel maps severities to SARIF levels.
func sarifLevel(s model.Severity) string {
	switch s {
	case model.SeverityError:
		return "error"
	case model.SeverityWarning:
		return "warning"
	}
	return "note"
}

// writeSARIF writes a SARIF 2.1.0 log with every rule's metadata and help
// URI; suppressed findings are results with suppressions, so code scanning
// shows them as dismissed.
func writeSARIF(w io.Writer, rep *model.LintReport, rules []RuleInfo, showSuppressed bool) error {
	driver := sarifDriver{Name: "oomdoctor", Version: version.Get().Version, InformationURI: "https://github.com/oomdoctor/oomdoctor"}
	index := map[string]int{}
	for i, r := range rules {
		index[r.ID] = i
		driver.Rules = append(driver.Rules, sarifRule{
			ID: r.ID, Name: ruleName(r.ID), ShortDescription: sarifText{r.Summary}, HelpURI: r.HelpURI,
			Help:                 sarifText{r.Summary + ". See " + r.HelpURI},
			DefaultConfiguration: sarifConfiguration{Level: sarifLevel(r.Severity)},
		})
	}
	run := sarifRun{Tool: sarifTool{Driver: driver}, Results: []sarifResult{}}
	add := func(f model.LintFinding) {
		res := sarifResult{
			RuleID: f.Rule, RuleIndex: index[f.Rule], Level: sarifLevel(f.Severity), Message: sarifText{f.Message},
			Locations: []sarifLocation{{PhysicalLocation: sarifPhysical{
				ArtifactLocation: sarifArtifact{URI: artifactURI(f.File)},
				Region:           sarifRegion{StartLine: max(f.Line, 1), StartColumn: f.Column},
			}}},
			Properties: map[string]any{"object": f.Object, "field": f.Field},
		}
		if f.Container != "" {
			res.Properties["container"] = f.Container
		}
		if f.Fix != nil {
			res.Properties["fix"] = f.Fix.Description
		}
		if f.Suppression != nil {
			kind := "external"
			if f.Suppression.Kind == "annotation" {
				kind = "inSource"
			}
			res.Suppressions = []sarifSuppression{{Kind: kind, Justification: f.Suppression.Reason}}
		}
		run.Results = append(run.Results, res)
	}
	for _, f := range rep.Findings {
		add(f)
	}
	if showSuppressed {
		for _, f := range rep.Suppressed {
			add(f)
		}
	}
	log := sarifLog{Schema: "https://json.schemastore.org/sarif-2.1.0.json", Version: "2.1.0", Runs: []sarifRun{run}}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(log)
}

// artifactURI writes a file path as a relative URI reference.
func artifactURI(file string) string {
	if file == "<stdin>" {
		return "stdin"
	}
	return strings.ReplaceAll(filepath.ToSlash(file), " ", "%20")
}

// ruleName turns an ID into SARIF's PascalCase name: MemoryLimitMissing.
func ruleName(id string) string {
	var b strings.Builder
	for _, part := range strings.Split(id, "-") {
		if part == "" {
			continue
		}
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}
