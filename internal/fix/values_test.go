package fix

import (
	"strings"
	"testing"
)

// The guide's rule from a peak: the limit 1.5x it, the request the
// average, but never more than 4x under the limit (an average under a
// short spike would overcommit the node, and lint flags the ratio); and
// both at least the 4Mi a container runs in.
func TestFromPeakTarget(t *testing.T) {
	for _, tc := range []struct {
		p              FromPeak
		request, limit int64
		why            string
	}{
		{FromPeak{Peak: 200 << 20, Average: 150 << 20, Factor: 1.5}, 150 << 20, 300 << 20, "1.5x the peak of 200Mi"},
		{FromPeak{Peak: 200 << 20, Average: 10 << 20, Factor: 1.5}, 75 << 20, 300 << 20, "the request raised to the limit / 4 (the average 10Mi is 30x under the limit)"},
		{FromPeak{Peak: 200 << 20, Factor: 1.5}, 200 << 20, 300 << 20, "1.5x the peak of 200Mi"},
		{FromPeak{Peak: 100 << 20, Factor: 10}, 250 << 20, 1000 << 20, "the request raised to the limit / 4 (the peak 100Mi is 10x under the limit)"},
		{FromPeak{Peak: 1 << 20, Average: 1 << 20, Factor: 1.5}, 4 << 20, 4 << 20, "raised to the floor 4Mi"},
	} {
		got := tc.p.Target()
		if *got.Request != tc.request || *got.Limit != tc.limit || !strings.Contains(got.Why, tc.why) {
			t.Errorf("%+v: request %d, limit %d, %q; want %d, %d, %q", tc.p, *got.Request, *got.Limit, got.Why, tc.request, tc.limit, tc.why)
		}
	}
}
