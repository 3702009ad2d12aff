// Package recommend sizes a container's memory from its usage history.
// A strategy is composed of pieces (pieces.go, tail.go, daily.go), the way
// the VPA composes its estimators: statistics of a streaming History (a
// few hundred bytes to about a KiB per container) that is fed one sample
// at a time and told about OOM kills (censored observations: the demand
// was above the limit at that moment), and pieces that combine them. The
// peers' strategies are composed from their published constants too, so
// that replay compares them in one run (strategies.go).
package recommend

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Values are a recommendation, in bytes.
type Values struct {
	Request, Limit float64
}

// Estimator is one container's state under one strategy.
type Estimator interface {
	// Add feeds a usage sample (t in unix seconds, usage in bytes), in
	// time order.
	Add(t int64, usage float64)
	// OOM says the container was OOM-killed at t with this limit: its
	// demand was above the limit then.
	OOM(t int64, limit float64)
	// Recommend gives the request and limit for the time after the last
	// sample (0, 0 when there is no data yet).
	Recommend() Values
	// Explain says how the last recommendation was made, in words and
	// numbers.
	Explain() []string
	// StateBytes is the size of the state kept.
	StateBytes() int
}

// Strategy makes estimators.
type Strategy struct {
	Name        string
	Description string
	New         func() Estimator
	// Resolution is the coarsest history the strategy loses nothing on,
	// when each sample is the peak of its interval: 6 hours for the
	// strategies that keep only 6-hour peaks; 0 for those that want the
	// samples themselves (an average, a histogram).
	Resolution time.Duration
	// Limit and Request are the pieces it is composed of (Request nil:
	// the request is the limit).
	Limit, Request Piece
}

var strategies = map[string]Strategy{}

func register(s Strategy) { strategies[s.Name] = s }

// Default is the strategy recommend uses unless told otherwise.
const Default = "tail"

// Lookup finds a strategy by name.
// "tail:p=1e-3:floor=1.2" is the tail strategy with other parameters:
// the risk a week's peaks go above the limit, the least limit over the
// highest peak.
func Lookup(name string) (Strategy, error) {
	if params, ok := strings.CutPrefix(name, Default+":"); ok && Default == "tail" {
		p, floor, err := tailParams(params)
		if err != nil {
			return Strategy{}, err
		}
		return tail(name, p, floor), nil
	}
	s, ok := strategies[name]
	if !ok {
		return Strategy{}, fmt.Errorf("unknown strategy %q: valid strategies are %v, and tail:p=PROBABILITY:floor=FACTOR", name, Names())
	}
	return s, nil
}

// Names lists the strategies.
func Names() []string {
	var out []string
	for n := range strategies {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// All returns every strategy, default first.
func All() []Strategy {
	out := []Strategy{strategies[Default]}
	for _, n := range Names() {
		if n != Default {
			out = append(out, strategies[n])
		}
	}
	return out
}

// mib writes a size in a reason: in Mi, or under 1Mi in Ki or bytes, so
// that a small peak does not read as 0Mi.
func mib(b float64) string {
	switch {
	case b >= 1<<20 || b == 0:
		return fmt.Sprintf("%.0fMi", b/(1<<20))
	case b >= 1<<10:
		return fmt.Sprintf("%.0fKi", b/(1<<10))
	}
	return fmt.Sprintf("%.0f bytes", b)
}
