package recommend

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// A LimitRange's Container items bound the memory; Pod items and other
// resources do not bound a container's, and of two LimitRanges the
// stricter value of each holds.
func TestBoundsOf(t *testing.T) {
	q := resource.MustParse
	lr := &corev1.LimitRange{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "mem"}, Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{
		{Type: corev1.LimitTypePod, Max: corev1.ResourceList{corev1.ResourceMemory: q("256Mi")}},
		{Type: corev1.LimitTypeContainer, Max: corev1.ResourceList{corev1.ResourceMemory: q("1Gi"), corev1.ResourceCPU: q("1")}, Min: corev1.ResourceList{corev1.ResourceMemory: q("16Mi")},
			MaxLimitRequestRatio: corev1.ResourceList{corev1.ResourceMemory: q("2500m")}},
	}}}
	b := BoundsOf(lr)
	if b.Max != 1<<30 || b.Min != 16<<20 || b.MaxRatio != 2.5 || b.MaxFrom != "LimitRange shop/mem" || b.RatioFrom != "LimitRange shop/mem" {
		t.Errorf("BoundsOf = %+v", b)
	}
	other := Bounds{Max: 2 << 30, Min: 32 << 20, MaxRatio: 4}.Named("LimitRange shop/floor")
	got := b.Tighten(other)
	want := Bounds{Max: 1 << 30, MaxFrom: "LimitRange shop/mem", Min: 32 << 20, MinFrom: "LimitRange shop/floor", MaxRatio: 2.5, RatioFrom: "LimitRange shop/mem"}
	if got != want {
		t.Errorf("Tighten = %+v, want %+v", got, want)
	}
	if (Bounds{}).Tighten(b) != b || b.Tighten(Bounds{}) != b {
		t.Error("no bounds must change nothing")
	}
}

// Apply keeps the values within the bounds: a limit above the maximum is
// capped there with a warning (CappedPrefix) when the container needs more,
// silently when only the rounding went over; the request is raised to the
// minimum and to the limit over the ratio.
func TestApplyWithinBounds(t *testing.T) {
	const mi = 1 << 20
	g := Base()
	g.MaxRatio = 4
	g.Bounds = Bounds{Max: 1000 * mi, Min: 48 * mi, MaxRatio: 3}.Named("LimitRange shop/mem")
	for _, tc := range []struct {
		name             string
		v                Values
		request, limit   int64
		notes, notPrefix []string
	}{
		// 1.5 x 800Mi needs 1200Mi: capped at 1000Mi, the request 700Mi
		// (rounded to 16Mi: 704Mi) stays.
		{"needs more", Values{Request: 700 * mi, Limit: 1200 * mi}, 704 * mi, 1000 * mi, []string{CappedPrefix + "1000Mi, the most LimitRange shop/mem allows a container (it needs 1200Mi)"}, nil},
		// 995Mi rounds to 1008Mi, above 1000Mi: the maximum, no warning.
		{"rounding only", Values{Request: 700 * mi, Limit: 995 * mi}, 704 * mi, 1000 * mi, nil, []string{CappedPrefix}},
		// 20Mi: the limit and the request are raised to the 48Mi minimum.
		{"under the minimum", Values{Request: 10 * mi, Limit: 20 * mi}, 48 * mi, 48 * mi, []string{"raised the limit from 20Mi to 48Mi, the least LimitRange shop/mem allows a container", "raised the request from 12Mi to 48Mi, the least LimitRange shop/mem allows a container"}, nil},
		// 900Mi rounds to 912Mi, over a 100Mi request:
		// --max-limit-request-ratio 4 raises it to 228Mi (rounded: 240Mi),
		// then the LimitRange's 3 to 304Mi.
		{"ratio", Values{Request: 100 * mi, Limit: 900 * mi}, 304 * mi, 912 * mi, []string{"(eviction, system OOM; --max-limit-request-ratio)", "raised the request from 240Mi to 304Mi, the limit 912Mi / 3, the highest limit/request ratio LimitRange shop/mem allows"}, nil},
	} {
		req, lim, notes := g.Apply(tc.v)
		all := strings.Join(notes, "\n")
		if req != tc.request || lim != tc.limit {
			t.Errorf("%s: request %dMi limit %dMi, want %dMi and %dMi (%s)", tc.name, req/mi, lim/mi, tc.request/mi, tc.limit/mi, all)
		}
		for _, n := range tc.notes {
			if !strings.Contains(all, n) {
				t.Errorf("%s: notes lack %q:\n%s", tc.name, n, all)
			}
		}
		for _, n := range tc.notPrefix {
			if strings.Contains(all, n) {
				t.Errorf("%s: notes have %q:\n%s", tc.name, n, all)
			}
		}
		if !g.Bounds.AllowsLimit(float64(lim)) || !g.Bounds.AllowsRequest(float64(req), float64(lim)) {
			t.Errorf("%s: %dMi / %dMi outside the bounds", tc.name, req/mi, lim/mi)
		}
	}
}

// Breaches names each value outside the bounds, what they allow and what
// would do; an unset request is the limit.
func TestBreaches(t *testing.T) {
	const mi = 1 << 20
	b := Bounds{Max: 512 * mi, Min: 32 * mi, MaxRatio: 2}.Named("LimitRange shop/mem")
	if got := b.Breaches(256*mi, 512*mi); len(got) != 0 {
		t.Errorf("within: %+v", got)
	}
	if got := b.Breaches(0, 64*mi); len(got) != 0 {
		t.Errorf("no request: %+v", got)
	}
	got := b.Breaches(16*mi, 1024*mi)
	want := []Breach{
		{"limit", "above the 512Mi LimitRange shop/mem allows a container", "lower it to 512Mi or less, or have the LimitRange raised"},
		{"request", "below the 32Mi LimitRange shop/mem allows a container", "raise it to 32Mi or more"},
		{"request", "64x under the limit 1024Mi, beyond the ratio 2 LimitRange shop/mem allows", "raise it to 512Mi or more, or lower the limit"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("breach %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}
