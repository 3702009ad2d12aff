package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/oomdoctor/oomdoctor/internal/fix"
	"github.com/oomdoctor/oomdoctor/internal/model"
)

// Each way an object ends has its outcome, and the summary counts them.
func TestApplyReportOutcomes(t *testing.T) {
	changed := &fix.ApplyResult{Changes: []fix.Change{{Container: "app", What: "memory limit 1Gi → 2Gi", Setting: "memory limit", From: "1Gi", To: "2Gi"}},
		Pods: []string{"pod api-1: Running; app restarts 0"}}
	putBack := &fix.ApplyResult{Changes: changed.Changes, PutBack: true}
	fails := errors.New("the rollout of deployment/x failed")
	cases := []struct {
		res    *fix.ApplyResult
		err    error
		dryRun string
		want   string
	}{
		{changed, nil, "none", model.OutcomeChanged},
		{&fix.ApplyResult{}, nil, "none", model.OutcomeUnchanged},
		{changed, nil, "server", model.OutcomeDryRun},
		{nil, errors.New("refusing a memory limit of 64Gi"), "none", model.OutcomeRefused},
		{changed, fails, "none", model.OutcomeFailed},
		{putBack, fails, "none", model.OutcomePutBack},
	}
	targets := make([]fix.ApplyTarget, len(cases)+1) // the last one is never taken
	for i := range targets {
		targets[i] = fix.ApplyTarget{Kind: "Deployment", Namespace: "shop", Name: string(rune('a' + i))}
	}
	rep := newApplyReport(model.Source{Type: "cluster", Server: "https://127.0.0.1:6443"}, "none", targets)
	for i, tc := range cases {
		record(&rep.Objects[i], tc.res, tc.err, tc.dryRun)
		if got := rep.Objects[i].Outcome; got != tc.want {
			t.Errorf("case %d: outcome %s, want %s", i, got, tc.want)
		}
	}
	if o := rep.Objects[0]; len(o.Changes) != 1 || o.Changes[0] != (model.ApplyChange{Container: "app", Change: "memory limit 1Gi → 2Gi", Setting: "memory limit", From: "1Gi", To: "2Gi"}) || len(o.Pods) != 1 || o.Error != "" {
		t.Errorf("changed: %+v", o)
	}
	if o := rep.Objects[3]; o.Error != "refusing a memory limit of 64Gi" || o.Changes != nil {
		t.Errorf("refused: %+v", o)
	}
	var out bytes.Buffer
	o := &FixOptions{Output: "json"}
	o.Out = &out
	if err := o.writeReport(rep); err != nil {
		t.Fatal(err)
	}
	var back model.ApplyReport
	if err := json.Unmarshal(out.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	want := model.ApplySummary{Objects: 7, Changed: 1, Unchanged: 1, DryRun: 1, Refused: 1, Failed: 1, PutBack: 1, Skipped: 1}
	if back.Summary != want || back.Kind != "ApplyReport" || back.Objects[6].Outcome != model.OutcomeSkipped {
		t.Errorf("written: %s", out.String())
	}
}
