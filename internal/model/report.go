package model

import "time"

// APIVersion is the version of every document oomdoctor writes for machines.
// Fields are only ever added under one version; a rename needs a new version.
const APIVersion = "oomdoctor.io/v1alpha1"

// ScanReportKind is the kind of the document `oomdoctor scan -o json|yaml` writes.
const ScanReportKind = "ScanReport"

// ScanReport is the output of scan: findings grouped by workload, newest
// kill first. Documented field by field in docs/scan-report.md.
type ScanReport struct {
	APIVersion string         `json:"apiVersion"`
	Kind       string         `json:"kind"`
	Metadata   ReportMetadata `json:"metadata"`
	Summary    ScanSummary    `json:"summary"`
	// Workloads holds one entry per workload with at least one finding,
	// the workload with the most recent kill first.
	Workloads []WorkloadFindings `json:"workloads"`
	// Warnings are sources that could not be read (a missing permission, a
	// timeout): the report is complete except for what they name.
	Warnings []Warning `json:"warnings,omitempty"`
}

// ReportMetadata says where a report's data came from and what it covered.
type ReportMetadata struct {
	GeneratedAt time.Time `json:"generatedAt"`
	// AsOf is the moment the data describes: now for a live cluster, the
	// capture time for a snapshot. Ages and --since count back from it.
	AsOf   time.Time `json:"asOf"`
	Source Source    `json:"source"`
	Scope  Scope     `json:"scope"`
}

// Source names what a report read.
type Source struct {
	// Type is "cluster" or "snapshot".
	Type string `json:"type"`
	// Server is the API server's URL (cluster) and Context the kubeconfig
	// context used, when known.
	Server  string `json:"server,omitempty"`
	Context string `json:"context,omitempty"`
	// Path is the snapshot file or folder.
	Path string `json:"path,omitempty"`
}

// Scope is the part of the cluster a report covers.
type Scope struct {
	AllNamespaces bool   `json:"allNamespaces"`
	Namespace     string `json:"namespace,omitempty"`
	Selector      string `json:"selector,omitempty"`
	// Since is the --since window as a Go duration ("24h0m0s"); empty means
	// every kill the API still shows.
	Since string `json:"since,omitempty"`
}

// ScanSummary counts what a scan looked at and found.
type ScanSummary struct {
	Pods       int `json:"pods"`
	Containers int `json:"containers"`
	Findings   int `json:"findings"`
	Workloads  int `json:"workloads"`
	// ByType counts findings per type; every type is present, zero or not.
	ByType map[FindingType]int `json:"byType"`
}

// WorkloadFindings groups the findings of one workload, newest first.
type WorkloadFindings struct {
	Workload WorkloadRef `json:"workload"`
	LastKill *time.Time  `json:"lastKill,omitempty"`
	Findings []Finding   `json:"findings"`
}

// Warning is a source the report could not read, and what that leaves out.
type Warning struct {
	// Source is what was being read, e.g. "events", "replicasets.apps".
	Source  string `json:"source"`
	Message string `json:"message"`
}
