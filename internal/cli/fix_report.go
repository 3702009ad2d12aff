package cli

import (
	"encoding/json"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/oomdoctor/oomdoctor/internal/fix"
	"github.com/oomdoctor/oomdoctor/internal/model"
)

// newApplyReport is what fix --apply -o json|yaml writes: every target,
// skipped until it is taken.
func newApplyReport(src model.Source, dryRun string, targets []fix.ApplyTarget) *model.ApplyReport {
	r := &model.ApplyReport{APIVersion: model.APIVersion, Kind: model.ApplyReportKind,
		Metadata: model.ApplyMetadata{GeneratedAt: time.Now().UTC(), Source: src, DryRun: dryRun}}
	r.Objects = make([]model.ApplyObject, len(targets))
	for i, t := range targets {
		r.Objects[i] = model.ApplyObject{Kind: t.Kind, Namespace: t.Namespace, Name: t.Name, Outcome: model.OutcomeSkipped}
	}
	return r
}

// record sets what Apply did to the object: its changes, pods, error and
// outcome.
func record(obj *model.ApplyObject, res *fix.ApplyResult, err error, dryRun string) {
	if err != nil {
		obj.Error = err.Error()
	}
	switch {
	case res == nil:
		obj.Outcome = model.OutcomeRefused
		return
	case err != nil && res.PutBack:
		obj.Outcome = model.OutcomePutBack
	case err != nil:
		obj.Outcome = model.OutcomeFailed
	case len(res.Changes) == 0:
		obj.Outcome = model.OutcomeUnchanged
	case dryRun != "none":
		obj.Outcome = model.OutcomeDryRun
	default:
		obj.Outcome = model.OutcomeChanged
	}
	for _, c := range res.Changes {
		obj.Changes = append(obj.Changes, model.ApplyChange{Container: c.Container, Change: c.What, Setting: c.Setting, From: c.From, To: c.To, Rule: c.Rule, ConfigMap: c.ConfigMap, Key: c.Key})
	}
	obj.Pods = res.Pods
}

// writeReport writes the report on stdout in -o's format (nothing
// without -o), its summary counted.
func (o *FixOptions) writeReport(r *model.ApplyReport) error {
	if o.Output == "" {
		return nil
	}
	r.Summary = model.ApplySummary{Objects: len(r.Objects)}
	for _, obj := range r.Objects {
		switch obj.Outcome {
		case model.OutcomeChanged:
			r.Summary.Changed++
		case model.OutcomeUnchanged:
			r.Summary.Unchanged++
		case model.OutcomeDryRun:
			r.Summary.DryRun++
		case model.OutcomeRefused:
			r.Summary.Refused++
		case model.OutcomeFailed:
			r.Summary.Failed++
		case model.OutcomePutBack:
			r.Summary.PutBack++
		case model.OutcomeSkipped:
			r.Summary.Skipped++
		}
	}
	if o.Output == "json" {
		enc := json.NewEncoder(o.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	b, err := yaml.Marshal(r)
	if err != nil {
		return err
	}
	_, err = o.Out.Write(b)
	return err
}
