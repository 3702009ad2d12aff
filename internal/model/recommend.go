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
	// Quotas are the namespaces' ResourceQuotas on memory that the
	// recommendations change the use of, with every one applied to the
	// pods that run now: whether the quota still holds them.
	Quotas []QuotaCheck `json:"quotas,omitempty"`
}

// QuotaCheck is one ResourceQuota's memory resource with the
// recommendations applied to the pods it counts.
type QuotaCheck struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Resource is requests.memory, memory (the same as requests.memory)
	// or limits.memory.
	Resource  string `json:"resource"`
	HardBytes int64  `json:"hardBytes"`
	UsedBytes int64  `json:"usedBytes"`
	// ChangeBytes is what the recommendations add to its use (negative:
	// free), over Pods pods.
	ChangeBytes int64 `json:"changeBytes"`
	Pods        int   `json:"pods"`
	// Fits says that used + change stays within hard: when it does not,
	// the API server refuses the pods with the new values once their
	// workloads roll them out.
	Fits bool `json:"fits"`
	// SurgeBytes is what the largest rolling update among the changed
	// workloads adds first, SurgePods new pods of SurgeWorkload beside
	// the old ones (maxSurge), where the workloads were read.
	SurgeBytes    int64        `json:"surgeBytes,omitempty"`
	SurgePods     int          `json:"surgePods,omitempty"`
	SurgeWorkload *WorkloadRef `json:"surgeWorkload,omitempty"`
	// RolloutFits says that used + change (when it adds) + surge stays
	// within hard: when it does not, that rollout stalls until the quota
	// has room.
	RolloutFits bool `json:"rolloutFits"`
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
