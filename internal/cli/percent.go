package cli

import (
	"fmt"
	"strconv"
	"strings"
)

// percent is a flag written as a percentage (10%) and held as a fraction
// (0.1).
type percent struct{ f *float64 }

func (v percent) String() string { return strconv.FormatFloat(*v.f*100, 'f', -1, 64) + "%" }
func (v percent) Type() string   { return "percent" }
func (v percent) Set(s string) error {
	n, ok := strings.CutSuffix(strings.TrimSpace(s), "%")
	f, err := strconv.ParseFloat(n, 64)
	switch {
	case err != nil || (!ok && f != 0):
		return fmt.Errorf("%q is not a percentage like 10%% (0 turns it off)", s)
	case f < 0 || f >= 100:
		return fmt.Errorf("%q: give a percentage from 0%% to under 100%%", s)
	}
	*v.f = f / 100
	return nil
}
