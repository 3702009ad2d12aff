package recommend

import (
	"fmt"
	"math"
	"strings"
)

// Guardrails bound a recommendation.
type Guardrails struct {
	// Floor is the smallest limit that works for the container's runtime
	// (runtimes.Floor: a JVM under 128Mi rarely starts).
	Floor float64
	// FloorWhy names the runtime behind the floor.
	FloorWhy string
	// MaxAllocatable is the largest node's allocatable memory (0: unknown).
	MaxAllocatable float64
	// MaxRatio is the highest limit/request ratio (0: any): a request
	// further below its limit is raised to limit/MaxRatio (RaiseRequest).
	MaxRatio float64
	// Bounds are the namespace's LimitRanges': the limit is kept within
	// them (capped at their maximum with a warning, as at MaxAllocatable)
	// and the request raised to their minimum and ratio.
	Bounds Bounds
}

// Base is what every container gets: a floor of 4Mi, the smallest a
// container runs in. Callers add the runtime's floor, the largest node's
// allocatable memory and the highest limit/request ratio they know.
func Base() Guardrails {
	return Guardrails{Floor: 4 << 20, FloorWhy: "the smallest a container runs in"}
}

// Round rounds a size up to a unit that reads well: 4Mi steps below
// 128Mi, 16Mi below 1Gi, 64Mi below 8Gi, 256Mi above.
func Round(b float64) int64 {
	step := unit(b)
	return int64(math.Ceil(b/step) * step)
}

// unit is the step Round rounds b to.
func unit(b float64) float64 {
	switch {
	case b < 128<<20:
		return 4 << 20
	case b < 1<<30:
		return 16 << 20
	case b < 8<<30:
		return 64 << 20
	}
	return 256 << 20
}

// CappedPrefix starts the reason of a limit capped at the largest node's
// allocatable memory: recommend shows it as a warning too.
const CappedPrefix = "capped the limit at "

// RoundDown rounds a size down to the units of Round (at least 4Mi).
func RoundDown(b float64) int64 {
	step := unit(b)
	return max(int64(math.Floor(b/step)*step), 4<<20)
}

// AboveAllocatable says, when the limit is above the largest node's
// allocatable memory, so.
func (g Guardrails) AboveAllocatable(limit int64) string {
	if g.MaxAllocatable > 0 && float64(limit) > g.MaxAllocatable {
		return fmt.Sprintf("the limit %s is above the largest node's allocatable memory %s: no node can hold it at its peak; split the work or add a bigger node", mib(float64(limit)), mib(g.MaxAllocatable))
	}
	return ""
}

// Apply rounds the values and applies the guardrails; it returns the
// request, the limit and what it changed, in words.
func (g Guardrails) Apply(v Values) (request, limit int64, notes []string) {
	l := v.Limit
	if g.Floor > 0 && l < g.Floor {
		notes = append(notes, fmt.Sprintf("raised the limit from %s to the floor %s (%s)", mib(l), mib(g.Floor), g.FloorWhy))
		l = g.Floor
	}
	limit = Round(l)
	if g.MaxAllocatable > 0 && float64(limit) > g.MaxAllocatable {
		capped := RoundDown(g.MaxAllocatable)
		notes = append(notes, fmt.Sprintf("%s%s, the largest node's allocatable memory %s (it needs %s): the container's own limit then kills it before the node runs out and kills its neighbours; split the work or add a bigger node", CappedPrefix, mib(float64(capped)), mib(g.MaxAllocatable), mib(float64(limit))))
		limit = capped
	}
	limit, why := g.Bounds.boundLimit(limit, l)
	if why != "" {
		notes = append(notes, why)
	}
	r := v.Request
	if g.Floor > 0 && r < g.Floor {
		// A request of nothing (a median peak of 0, usage mostly idle)
		// reserves nothing for a container that needs the floor to run.
		notes = append(notes, fmt.Sprintf("raised the request from %s to the floor %s (%s)", mib(r), mib(g.Floor), g.FloorWhy))
		r = g.Floor
	}
	request = Round(math.Min(r, float64(limit)))
	if request > limit {
		request = limit
	}
	request, why = g.RaiseRequest(request, limit)
	if why != "" {
		notes = append(notes, why)
	}
	return request, limit, notes
}

// RaiseRequest raises a request more than MaxRatio times below its limit
// to limit/MaxRatio (rounded up), then to what the Bounds ask, and says
// why; else it returns the request and "". The scheduler reserves only the request: a node full of
// pods whose limits are far above their requests holds them all until
// their peaks come together, and then the kubelet evicts or the kernel
// kills across the node. lint's memory-request-far-below-limit flags the
// same ratio, so that what recommend writes, lint passes.
func (g Guardrails) RaiseRequest(request, limit int64) (int64, string) {
	var why []string
	if g.MaxRatio > 0 && float64(limit) > float64(request)*g.MaxRatio {
		r := min(Round(float64(limit)/g.MaxRatio), limit)
		why = append(why, fmt.Sprintf("raised the request from %s to %s, the limit %s / %g: the scheduler reserves only the request, and pods far below their limits can together outgrow their node (eviction, system OOM; --max-limit-request-ratio)", mib(float64(request)), mib(float64(r)), mib(float64(limit)), g.MaxRatio))
		request = r
	}
	r, w := g.Bounds.boundRequest(request, limit)
	if w != "" {
		why = append(why, w)
	}
	return r, strings.Join(why, "; ")
}
