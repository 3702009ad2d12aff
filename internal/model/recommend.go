package model

// RecommendationsKind is the kind of the document `oomdoctor recommend -o
// json` writes and `oomdoctor fix --recommendations` reads.
const RecommendationsKind = "Recommendations"

// Recommendations are memory settings per container.
type Recommendations struct {
	APIVersion string           `json:"apiVersion"`
	Kind       string           `json:"kind"`
	Items      []Recommendation `json:"items"`
	// Notes say what data was missing or partial (a query that timed
	// out, series that are not there).
	Notes []string `json:"notes,omitempty"`
}

// Recommendation is the memory request and limit one container should have.
type Recommendation struct {
	Workload  WorkloadRef `json:"workload"`
	Container string      `json:"container"`
	// MemoryRequestBytes and MemoryLimitBytes are the values to set; a
	// missing one is left as it is.
	MemoryRequestBytes *int64 `json:"memoryRequestBytes,omitempty"`
	MemoryLimitBytes   *int64 `json:"memoryLimitBytes,omitempty"`
	// CurrentRequestBytes and CurrentLimitBytes are what the container
	// has now, when the history says (kube-state-metrics).
	CurrentRequestBytes *int64 `json:"currentRequestBytes,omitempty"`
	CurrentLimitBytes   *int64 `json:"currentLimitBytes,omitempty"`
	// Pods is how many pods' history went into it (all the replicas of a
	// workload); OOMKills how many kills were taken as demand above the
	// limit (Prometheus', the pods' status' and the node agent's, each once).
	Pods     int `json:"pods,omitempty"`
	OOMKills int `json:"oomKills,omitempty"`
	// Runtime is the language runtime the container runs (jvm, go, node,
	// dotnet) when its spec was known; RuntimeFlags the heap settings that
	// go with the limit (-Xmx768m, GOMEMLIMIT=921MiB, ...).
	Runtime      string   `json:"runtime,omitempty"`
	RuntimeFlags []string `json:"runtimeFlags,omitempty"`
	// Reasons say why, in words and numbers.
	Reasons []string `json:"reasons,omitempty"`
	// Warnings say what to look at before applying it: a limit no node
	// can hold.
	Warnings []string `json:"warnings,omitempty"`
}

// MaxLimitRequestRatio is the highest memory limit/request ratio lint's
// memory-request-far-below-limit passes by default, and so the highest
// recommend writes by default: the scheduler reserves only the request.
const MaxLimitRequestRatio = 4
