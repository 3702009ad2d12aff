package recommend

import (
	"sort"

	"github.com/oomdoctor/oomdoctor/internal/words"
)

// Kill is an OOM kill at T (unix seconds) under this limit (bytes).
type Kill struct {
	T     int64
	Limit float64
}

// Size runs one strategy over one history: n samples in time order (at
// gives the i-th: unix seconds and bytes) and the kills, fed to the
// estimator in time order. It returns the rounded request and limit after
// the guardrails, and the reasons; ok is false when there is no usage.
func Size(st Strategy, g Guardrails, n int, at func(i int) (int64, float64), kills []Kill) (request, limit int64, reasons []string, ok bool) {
	ks := append([]Kill(nil), kills...)
	sort.SliceStable(ks, func(i, j int) bool { return ks[i].T < ks[j].T })
	e := st.New()
	k := 0
	for i := 0; i < n; i++ {
		t, v := at(i)
		for k < len(ks) && ks[k].T <= t {
			e.OOM(ks[k].T, ks[k].Limit)
			k++
		}
		e.Add(t, v)
	}
	for ; k < len(ks); k++ {
		e.OOM(ks[k].T, ks[k].Limit)
	}
	v := e.Recommend()
	if v.Limit <= 0 {
		return 0, 0, nil, false
	}
	request, limit, notes := g.Apply(v)
	reasons = e.Explain()
	if len(kills) > 0 {
		reasons = append(reasons, words.Count(len(kills), "OOM kill")+" in the history, each taken as demand above the limit it happened at")
	}
	return request, limit, append(reasons, notes...), true
}
