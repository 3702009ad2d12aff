package model

// LintReportKind is the kind of the document `oomdoctor lint -o json` writes.
const LintReportKind = "LintReport"

// Severity ranks lint findings. The values are part of the output contract.
type Severity string

const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
	SeverityInfo    Severity = "info"
)

// Rank orders severities: error 3, warning 2, info 1, anything else 0.
func (s Severity) Rank() int {
	switch s {
	case SeverityError:
		return 3
	case SeverityWarning:
		return 2
	case SeverityInfo:
		return 1
	}
	return 0
}

// LintReport is the output of lint. Documented in docs/lint-report.md.
type LintReport struct {
	APIVersion string      `json:"apiVersion"`
	Kind       string      `json:"kind"`
	Summary    LintSummary `json:"summary"`
	// Findings are in input order: file, then position.
	Findings []LintFinding `json:"findings"`
	// Suppressed are the findings an annotation or the config file
	// silenced, listed with --show-suppressed.
	Suppressed []LintFinding `json:"suppressed,omitempty"`
}

// LintSummary counts what lint read and found.
type LintSummary struct {
	Files     int `json:"files"`
	Documents int `json:"documents"`
	Objects   int `json:"objects"`
	Workloads int `json:"workloads"`
	// NotObjects counts YAML documents that are no Kubernetes object.
	NotObjects int              `json:"notObjects"`
	Findings   int              `json:"findings"`
	BySeverity map[Severity]int `json:"bySeverity"`
	Suppressed int              `json:"suppressed"`
}

// LintFinding is one problem in one object.
type LintFinding struct {
	Rule     string   `json:"rule"`
	Severity Severity `json:"severity"`
	Message  string   `json:"message"`
	File     string   `json:"file"`
	Line     int      `json:"line"`
	Column   int      `json:"column"`
	// Document and Item locate the object in its file (Item -1 for a
	// whole document), for fix.
	Document int       `json:"document"`
	Item     int       `json:"item"`
	Object   ObjectRef `json:"object"`
	// Container is the container the finding is about, if any.
	Container string `json:"container,omitempty"`
	// Field is the path of the field within the object.
	Field string `json:"field"`
	// Fix is the change that resolves it, when one can be made without
	// knowing more; `oomdoctor fix` applies it.
	Fix *LintFix `json:"fix,omitempty"`
	// Suppression says what silenced it (only in suppressed).
	Suppression *Suppression `json:"suppression,omitempty"`
}

// ObjectRef names a Kubernetes object.
type ObjectRef struct {
	APIVersion string `json:"apiVersion,omitempty"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name,omitempty"`
}

// LintFix is a change to the object, as field edits.
type LintFix struct {
	Description string     `json:"description"`
	Edits       []LintEdit `json:"edits"`
}

// LintEdit is one field edit: set a scalar, remove a field, or append an
// item (a mapping of scalars) to a list. Paths are from the object's root.
type LintEdit struct {
	Op    string   `json:"op"`
	Path  string   `json:"path"`
	Value string   `json:"value,omitempty"`
	Item  []KeyVal `json:"item,omitempty"`
	// From and To: a set that rewrites part of the field's text (From
	// replaced by To); Value is the result on the text lint read.
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
}

// KeyVal is one key and value of an appended item.
type KeyVal struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Suppression is why a finding was silenced.
type Suppression struct {
	// Kind is "annotation" (oomdoctor.io/ignore on the object) or "config".
	Kind   string `json:"kind"`
	Reason string `json:"reason,omitempty"`
}
