package cli

import (
	"fmt"

	"github.com/oomdoctor/oomdoctor/internal/manifest"
	"github.com/oomdoctor/oomdoctor/internal/recommend"
)

// keepCurrent keeps the container's current request and limit (curReq,
// curLim; 0 when unknown) where the new ones are within band of them
// (recommend.Settle): a change that small is not worth rolling the pods.
// A container killed in the history gets any rise of its limit. A kept
// limit is never under the runtime's floor (g.Floor) or the request, nor
// above the largest node's allocatable memory, nor outside the
// namespace's LimitRanges (g.Bounds); a request is never more than
// g.MaxRatio under the limit, nor outside g.Bounds (recommend.Guardrails.RaiseRequest
// raises it). It returns the values to set and, for each value kept or
// raised, why.
func keepCurrent(band, curReq, curLim float64, req, lim int64, killed bool, g recommend.Guardrails) (int64, int64, string, string) {
	var whyLimit, whyRequest string
	if l, kept := recommend.Settle(curLim, float64(lim), band, killed); kept && l >= g.Floor && (g.MaxAllocatable <= 0 || l <= g.MaxAllocatable) && g.Bounds.AllowsLimit(l) {
		whyLimit = keptWhy("limit", lim, int64(l), band)
		lim = int64(l)
	}
	if q, kept := recommend.Settle(curReq, float64(req), band, false); kept {
		if int64(q) <= lim && (g.MaxRatio <= 0 || float64(lim) <= q*g.MaxRatio) && g.Bounds.AllowsRequest(q, float64(lim)) {
			whyRequest = keptWhy("request", req, int64(q), band)
			req = int64(q)
		}
	}
	req = min(req, lim)
	if r, why := g.RaiseRequest(req, lim); why != "" {
		req, whyRequest = r, why
	}
	return req, lim, whyLimit, whyRequest
}

// keptLimitPrefix starts the reason of a kept limit: the table shows it as
// the limit's WHY.
const keptLimitPrefix = "kept the current limit "

func keptWhy(what string, rec, cur int64, band float64) string {
	return fmt.Sprintf("kept the current %s %s: the %s recommended is within %s of it, not worth a rollout (--min-change)", what, manifest.FormatBytes(cur), manifest.FormatBytes(rec), percent{&band})
}
