package diagnose

import (
	"fmt"

	"github.com/oomdoctor/oomdoctor/internal/model"
	"github.com/oomdoctor/oomdoctor/internal/words"
)

// requestLimitGap fires when the request is far below the limit, usage
// went above the request, and the node's limits add up to more than it
// has: the scheduler placed the pod by its request, so the node runs out
// (or evicts it: eviction ranks pods by usage above request) before the
// container reaches its limit.
type requestLimitGap struct{}

func init() { register(requestLimitGap{}) }

func (requestLimitGap) ID() model.CauseID { return model.CauseRequestLimitGap }

const gapRatio = 2.0

func (d requestLimitGap) Detect(in *Input) (*model.Cause, string) {
	f := in.Finding
	if f.Type == model.NotOOM {
		return nil, ""
	}
	req, limit := in.request(), in.limit()
	if req <= 0 || (limit > 0 && limit < gapRatio*req) {
		return nil, ""
	}
	if in.Node == nil || in.Node.AllocatableBytes <= 0 {
		return nil, "the node's allocatable memory and its pods' requests and limits (read access to nodes), to see whether it is overcommitted"
	}
	n := in.Node
	if !n.Complete {
		return nil, "the requests and limits of every pod on node " + n.Name + " (scan every namespace, -A, to add them up)"
	}
	over := float64(n.LimitsBytes) > float64(n.AllocatableBytes) || n.Unlimited > 0
	if !over {
		return nil, ""
	}
	// Usage above the request: from the history, or the kill itself.
	used, at := 0.0, (*int64)(nil)
	if in.hasUsage() {
		for _, k := range in.kills() {
			if p := peak(window(in.History.WorkingSet, k.T-in.preKill(), k.T)); p > used {
				used, at = p, &k.T
			}
		}
		if used == 0 {
			used = peak(in.History.WorkingSet)
		}
	}
	nodeScope := f.Type == model.Eviction || f.Type == model.SystemOOM
	for _, k := range in.KernelKills {
		if k.Scope == "node" || k.Scope == "system" {
			nodeScope = true
		}
		if k.Scope == "container" {
			return nil, "" // its own limit killed it: limit-too-low or a heap says why
		}
	}
	if used > 0 && used <= req {
		return nil, ""
	}
	if !nodeScope && limit > 0 && used >= nearLimit*limit {
		return nil, "" // at its own limit before the kill: its own limit killed it
	}
	var ev []model.Evidence
	lim := "no limit"
	if limit > 0 {
		lim = fmt.Sprintf("limit %s (%.1fx the request)", size(limit), limit/req)
	}
	ev = append(ev, model.Evidence{What: "request and limit", Value: fmt.Sprintf("request %s, %s", size(req), lim), Source: "pod spec"})
	overWhat := fmt.Sprintf("limits %s of %s allocatable (%s)", size(float64(n.LimitsBytes)), size(float64(n.AllocatableBytes)), pct(float64(n.LimitsBytes), float64(n.AllocatableBytes)))
	if n.Unlimited > 0 {
		overWhat += fmt.Sprintf(", and %s without a memory limit", words.Count(n.Unlimited, "container"))
	}
	ev = append(ev, model.Evidence{What: "node " + n.Name + " overcommitted", Value: overWhat + fmt.Sprintf("; requests %s", size(float64(n.RequestsBytes))), Source: "pods on the node"})
	if used > 0 {
		e := model.Evidence{What: "usage above the request", Value: fmt.Sprintf("%s (%.1fx the request)", size(used), used/req), Source: in.History.Source}
		if at != nil {
			e.At = ts(*at)
		}
		ev = append(ev, e)
	}
	c := &model.Cause{Evidence: ev, Summary: fmt.Sprintf("The request (%s) is far below what the container uses and the node's limits add up to more than it has: the node runs out before the container reaches its limit, and eviction picks pods by usage above request first.", size(req))}
	switch {
	case nodeScope && used > req:
		c.Confidence, c.ConfidenceWhy = model.High, "the kill or eviction came from the node, and usage was above the request"
	case nodeScope || used > req:
		c.Confidence, c.ConfidenceWhy = model.Medium, "the node is overcommitted and usage went above the request; the kill's scope (node agent) would tell whether the node or the container ran out"
	default:
		// Overcommitted, but nothing says this kill came from the node
		// or that usage passed the request.
		return nil, "usage history (was usage above the request?) or the node agent's kill scope (did the node run out?)"
	}
	newReq := int64(used)
	if newReq <= int64(req) {
		newReq = int64(req * 1.5)
	}
	c.Fix = resourcesFix(in, fmt.Sprintf("Set the request to the usual peak (%s here; oomdoctor recommend sizes it) so the scheduler reserves it; equal requests and limits (Guaranteed QoS) for pods that must not be picked.", quantity(newReq)), newReq, int64(limit))
	return c, ""
}
