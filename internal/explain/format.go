package explain

import (
	"fmt"
	"time"
)

func size(b float64) string {
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%.1fGi", b/(1<<30))
	case b >= 10<<20:
		return fmt.Sprintf("%.0fMi", b/(1<<20))
	}
	return fmt.Sprintf("%.1fMi", b/(1<<20))
}

func timeOf(t int64) time.Time { return time.Unix(t, 0).UTC() }
