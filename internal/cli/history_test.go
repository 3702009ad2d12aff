package cli

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/oomdoctor/oomdoctor/internal/scan"
	"github.com/oomdoctor/oomdoctor/internal/usage/prom"
)

// windows is a Prometheus with no data that keeps the end of the range
// each request asks about (its end, or its time for an instant query).
type windows struct {
	mu   sync.Mutex
	ends []time.Time
	lens []time.Duration
}

func (wd *windows) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	unix := func(k string) (time.Time, bool) {
		f, err := strconv.ParseFloat(r.Form.Get(k), 64)
		if err != nil {
			return time.Time{}, false
		}
		return time.Unix(0, int64(f*1e9)).UTC(), true
	}
	wd.mu.Lock()
	if e, ok := unix("end"); ok {
		wd.ends = append(wd.ends, e)
		if s, ok := unix("start"); ok {
			wd.lens = append(wd.lens, e.Sub(s))
		}
	} else if t, ok := unix("time"); ok {
		wd.ends = append(wd.ends, t)
	}
	wd.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch r.URL.Path {
	case "/api/v1/query_range":
		fmt.Fprint(w, `{"status":"success","data":{"resultType":"matrix","result":[]}}`)
	case "/api/v1/query":
		fmt.Fprint(w, `{"status":"success","data":{"resultType":"vector","result":[]}}`)
	default: // series, label values
		fmt.Fprint(w, `{"status":"success","data":[]}`)
	}
}

// reads gives the ends and lengths asked since the last call.
func (wd *windows) reads() ([]time.Time, []time.Duration) {
	wd.mu.Lock()
	defer wd.mu.Unlock()
	e, l := wd.ends, wd.lens
	wd.ends, wd.lens = nil, nil
	return e, l
}

// A watch that tells a kill hours after it started reads the history up
// to then, not up to its start; --until holds it where it says.
func TestHistoryWindowFollowsTheClock(t *testing.T) {
	wd := &windows{}
	srv := httptest.NewServer(wd)
	defer srv.Close()
	clock := time.Date(2026, 12, 6, 9, 0, 30, 0, time.UTC)
	now := func() time.Time { return clock }
	target := []scan.Target{{Namespace: "shop", Pod: "cart-0", Container: "cart"}}

	for _, tc := range []struct {
		until   string
		atStart time.Time
		later   time.Time
	}{
		{"", time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC), time.Date(2026, 12, 6, 15, 6, 0, 0, time.UTC)},
		{"2026-12-06T08:00:00Z", time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC), time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)},
	} {
		clock = time.Date(2026, 12, 6, 9, 0, 30, 0, time.UTC)
		pf := &promFlags{URL: srv.URL, Timeout: 5 * time.Second, History: "1d", Step: "auto", Concurrency: 1, Until: tc.until}
		h, err := promHistory(pf, now, prom.Query{Detail: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []time.Time{tc.atStart, tc.later} {
			if _, _, err := h(context.Background(), target); err != nil {
				t.Fatal(err)
			}
			ends, lens := wd.reads()
			if len(ends) == 0 {
				t.Fatalf("until %q: no request to Prometheus", tc.until)
			}
			for _, e := range ends {
				if !e.Equal(want) {
					t.Errorf("until %q, clock %s: a read ends at %s, want %s", tc.until, clock, e, want)
				}
			}
			for _, l := range lens {
				if l != 24*time.Hour {
					t.Errorf("until %q: a read spans %s, want --history 1d", tc.until, l)
				}
			}
			clock = clock.Add(6*time.Hour + 6*time.Minute + 15*time.Second)
		}
	}
}
