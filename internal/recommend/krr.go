package recommend

import (
	"fmt"
	"math"
	"time"
)

// krr is krr's "simple" strategy: request = limit = the peak of the last 14
// days x 1.15; with OOM data, at least the limit at the kill x 1.25.
type krr struct {
	b   blocks
	oom float64 // the largest limit a kill happened at
}

func init() {
	register(Strategy{Name: "krr", Description: "krr simple: request = limit = max of 14 days x 1.15, at least 1.25x the limit of a kill", New: func() Estimator { return &krr{} }, Resolution: blockSeconds * time.Second})
}

func (k *krr) Add(t int64, u float64)     { k.b.add(t, u) }
func (k *krr) OOM(t int64, limit float64) { k.oom = math.Max(k.oom, limit) }
func (k *krr) Recommend() Values {
	l := math.Max(1.15*k.b.max(56), 1.25*k.oom)
	return Values{Request: l, Limit: l}
}
func (k *krr) Explain() []string {
	return []string{fmt.Sprintf("max of 14 days %s x 1.15 (krr simple)", mib(k.b.max(56)))}
}
func (k *krr) StateBytes() int { return blocksBytes + 8 }
