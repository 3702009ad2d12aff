package model

import "time"

// ApplyReportKind is the kind of the document `oomdoctor fix --apply -o
// json|yaml` writes.
const ApplyReportKind = "ApplyReport"

// ApplyReport is what `fix --apply` did to each live object, in the order
// it took them. Documented field by field in docs/apply-report.md.
type ApplyReport struct {
	APIVersion string        `json:"apiVersion"`
	Kind       string        `json:"kind"`
	Metadata   ApplyMetadata `json:"metadata"`
	Summary    ApplySummary  `json:"summary"`
	Objects    []ApplyObject `json:"objects"`
}

// ApplyMetadata says when and where the change was made.
type ApplyMetadata struct {
	GeneratedAt time.Time `json:"generatedAt"`
	Source      Source    `json:"source"`
	// DryRun is --dry-run: none, server or client.
	DryRun string `json:"dryRun"`
}

// ApplySummary counts the objects by outcome.
type ApplySummary struct {
	Objects   int `json:"objects"`
	Changed   int `json:"changed"`
	Unchanged int `json:"unchanged"`
	DryRun    int `json:"dryRun"`
	Refused   int `json:"refused"`
	Failed    int `json:"failed"`
	PutBack   int `json:"putBack"`
	Skipped   int `json:"skipped"`
}

// Outcomes of an object in an ApplyReport.
const (
	// OutcomeChanged: the change was made (and its rollout finished, when
	// watched).
	OutcomeChanged = "changed"
	// OutcomeUnchanged: the cluster already had the values.
	OutcomeUnchanged = "unchanged"
	// OutcomeDryRun: checked and planned, nothing changed (--dry-run).
	OutcomeDryRun = "dryRun"
	// OutcomeRefused: nothing of the object changed (a check refused).
	OutcomeRefused = "refused"
	// OutcomeFailed: something changed, then a step failed (a rollout).
	OutcomeFailed = "failed"
	// OutcomePutBack: the rollout failed and --rollback-on-failure put
	// every change back.
	OutcomePutBack = "putBack"
	// OutcomeSkipped: not looked at, since the run stopped before it.
	OutcomeSkipped = "skipped"
)

// ApplyObject is one live object and what happened to it.
type ApplyObject struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Outcome   string `json:"outcome"`
	// Changes are in the order they were made (or would be).
	Changes  []ApplyChange `json:"changes,omitempty"`
	Notes    []string      `json:"notes,omitempty"`
	Warnings []string      `json:"warnings,omitempty"`
	// Rollout is the rollout's states as they were told, the last one
	// last.
	Rollout []string `json:"rollout,omitempty"`
	// Pods are the workload's pods after a finished rollout.
	Pods  []string `json:"pods,omitempty"`
	Error string   `json:"error,omitempty"`
}

// ApplyChange is one change of one container's settings.
type ApplyChange struct {
	Container string `json:"container"`
	// Change says it in words, as fix prints it.
	Change string `json:"change"`
	// Setting, From and To say it for machines, when fix knows them:
	// "memory request" or "memory limit" (quantities), or the variable or
	// file that holds a heap or cache size (the flags).
	Setting string `json:"setting,omitempty"`
	From    string `json:"from,omitempty"`
	To      string `json:"to,omitempty"`
	// Rule is lint's rule, for a change that is its automatic fix.
	Rule string `json:"rule,omitempty"`
	// ConfigMap and Key name where the change was made, when not in the
	// object itself.
	ConfigMap string `json:"configMap,omitempty"`
	Key       string `json:"key,omitempty"`
}
