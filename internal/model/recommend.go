package model

// RecommendationsKind is the kind of the document `oomdoctor recommend -o
// json` writes and `oomdoctor fix --recommendations` reads.
const RecommendationsKind = "Recommendations"

// Recommendations are memory settings per container.
type Recommendations struct {
	APIVersion string           `json:"apiVersion"`
	Kind       string           `json:"kind"`
	Items      []Recommendation `json:"items"`
}

// Recommendation is the memory request and limit one container should have.
type Recommendation struct {
	Workload  WorkloadRef `json:"workload"`
	Container string      `json:"container"`
	// MemoryRequestBytes and MemoryLimitBytes are the values to set; a
	// missing one is left as it is.
	MemoryRequestBytes *int64 `json:"memoryRequestBytes,omitempty"`
	MemoryLimitBytes   *int64 `json:"memoryLimitBytes,omitempty"`
	// Reasons say why, in words and numbers.
	Reasons []string `json:"reasons,omitempty"`
}
