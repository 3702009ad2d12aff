package recommend

import (
	"fmt"
	"math"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Bounds are what a namespace's LimitRanges allow a container's memory
// (their items of type Container): the API server refuses a pod outside
// them, so a recommendation beyond them would stall its rollout.
type Bounds struct {
	// Max is the highest limit, Min the lowest request and limit, MaxRatio
	// the highest limit/request ratio; 0 where none is set.
	Max, Min, MaxRatio float64
	// MaxFrom, MinFrom and RatioFrom name the LimitRange each comes from:
	// "LimitRange shop/mem".
	MaxFrom, MinFrom, RatioFrom string
}

// Tighten adds another LimitRange's bounds: the lower maximum, the higher
// minimum and the lower ratio hold.
func (b Bounds) Tighten(o Bounds) Bounds {
	if o.Max > 0 && (b.Max <= 0 || o.Max < b.Max) {
		b.Max, b.MaxFrom = o.Max, o.MaxFrom
	}
	if o.Min > b.Min {
		b.Min, b.MinFrom = o.Min, o.MinFrom
	}
	if o.MaxRatio > 0 && (b.MaxRatio <= 0 || o.MaxRatio < b.MaxRatio) {
		b.MaxRatio, b.RatioFrom = o.MaxRatio, o.RatioFrom
	}
	return b
}

// Named returns the bounds with every value said to come from the
// LimitRange named.
func (b Bounds) Named(from string) Bounds {
	b.MaxFrom, b.MinFrom, b.RatioFrom = from, from, from
	return b
}

// BoundsOf reads a LimitRange's memory bounds on containers.
func BoundsOf(lr *corev1.LimitRange) Bounds {
	var out Bounds
	for _, it := range lr.Spec.Limits {
		if it.Type != corev1.LimitTypeContainer {
			continue
		}
		var one Bounds
		if q, ok := it.Max[corev1.ResourceMemory]; ok {
			one.Max = float64(q.Value())
		}
		if q, ok := it.Min[corev1.ResourceMemory]; ok {
			one.Min = float64(q.Value())
		}
		if q, ok := it.MaxLimitRequestRatio[corev1.ResourceMemory]; ok {
			one.MaxRatio = q.AsApproximateFloat64()
		}
		out = out.Tighten(one.Named("LimitRange " + lr.Namespace + "/" + lr.Name))
	}
	return out
}

// AllowsLimit tells whether a limit is within the bounds.
func (b Bounds) AllowsLimit(l float64) bool {
	return (b.Max <= 0 || l <= b.Max) && l >= b.Min
}

// AllowsRequest tells whether a request goes with the limit within the
// bounds.
func (b Bounds) AllowsRequest(r, l float64) bool {
	return r >= b.Min && (b.MaxRatio <= 0 || l <= r*b.MaxRatio)
}

// boundLimit keeps a rounded limit within the bounds; need is the limit
// before rounding, which says whether the container needs more than the
// maximum (a warning) or only the rounding went over it.
func (b Bounds) boundLimit(limit int64, need float64) (int64, string) {
	switch {
	case b.Max > 0 && float64(limit) > b.Max && need > b.Max:
		return int64(b.Max), fmt.Sprintf("%s%s, the most %s allows a container (it needs %s): the API server refuses a pod above it; have the LimitRange raised, or split the work", CappedPrefix, mib(b.Max), b.MaxFrom, mib(need))
	case b.Max > 0 && float64(limit) > b.Max:
		return int64(b.Max), ""
	case float64(limit) < b.Min:
		return int64(math.Ceil(b.Min)), fmt.Sprintf("raised the limit from %s to %s, the least %s allows a container", mib(float64(limit)), mib(b.Min), b.MinFrom)
	}
	return limit, ""
}

// boundRequest raises a request to the bounds' minimum and to the limit
// over their ratio.
func (b Bounds) boundRequest(request, limit int64) (int64, string) {
	var why []string
	if float64(request) < b.Min {
		r := min(int64(math.Ceil(b.Min)), limit)
		why = append(why, fmt.Sprintf("raised the request from %s to %s, the least %s allows a container", mib(float64(request)), mib(float64(r)), b.MinFrom))
		request = r
	}
	if b.MaxRatio > 0 && float64(limit) > float64(request)*b.MaxRatio {
		r := min(int64(math.Ceil(float64(limit)/b.MaxRatio)), limit)
		why = append(why, fmt.Sprintf("raised the request from %s to %s, the limit %s / %g, the highest limit/request ratio %s allows", mib(float64(request)), mib(float64(r)), mib(float64(limit)), b.MaxRatio, b.RatioFrom))
		request = r
	}
	return request, strings.Join(why, "; ")
}

// Breach is one way a container's memory is outside the bounds.
type Breach struct {
	// Field is "limit" or "request".
	Field string
	// Why says what the bounds allow: "above the 512Mi LimitRange shop/mem
	// allows a container".
	Why string
	// Fix says what would do: "lower it to 512Mi or less, or have the
	// LimitRange raised".
	Fix string
}

// Breaches lists how a request and limit (0: not set; an unset request is
// the limit) are outside the bounds.
func (b Bounds) Breaches(request, limit float64) []Breach {
	var out []Breach
	if limit > 0 && b.Max > 0 && limit > b.Max {
		out = append(out, Breach{"limit", fmt.Sprintf("above the %s %s allows a container", mib(b.Max), b.MaxFrom), fmt.Sprintf("lower it to %s or less, or have the LimitRange raised", mib(b.Max))})
	}
	for _, x := range []struct {
		field string
		v     float64
	}{{"limit", limit}, {"request", request}} {
		if x.v > 0 && x.v < b.Min {
			out = append(out, Breach{x.field, fmt.Sprintf("below the %s %s allows a container", mib(b.Min), b.MinFrom), fmt.Sprintf("raise it to %s or more", mib(b.Min))})
		}
	}
	if limit > 0 && request > 0 && b.MaxRatio > 0 && limit > request*b.MaxRatio {
		out = append(out, Breach{"request", fmt.Sprintf("%.2gx under the limit %s, beyond the ratio %g %s allows", limit/request, mib(limit), b.MaxRatio, b.RatioFrom), fmt.Sprintf("raise it to %s or more, or lower the limit", mib(math.Ceil(limit/b.MaxRatio)))})
	}
	return out
}
