package report

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/cli-runtime/pkg/printers"

	"github.com/oomdoctor/oomdoctor/internal/model"
)

func killReport(ns, workload, pod string) *model.ScanReport {
	asOf := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	killed := asOf.Add(-3 * time.Minute)
	limit := int64(256 << 20)
	return &model.ScanReport{
		Metadata: model.ReportMetadata{AsOf: asOf},
		Summary:  model.ScanSummary{Findings: 1},
		Workloads: []model.WorkloadFindings{{
			Workload: model.WorkloadRef{Kind: "Deployment", Name: workload, Namespace: ns},
			Findings: []model.Finding{{
				Namespace: ns, Pod: pod, Container: "app", Type: model.OOMKilled,
				Restarts: 2, LastKill: &killed, MemoryLimitBytes: &limit,
			}},
		}},
	}
}

// starts gives where each column of a printed line starts: after three
// spaces or more (tabwriter's padding is 3; a cell holds one at most).
func starts(line string) []int {
	var at []int
	for i := 0; i < len(line); i++ {
		if line[i] != ' ' && (i == 0 || strings.HasSuffix(line[:i], "   ")) {
			at = append(at, i)
		}
	}
	return at
}

// The rows of each kill scan -w prints line up with the first table, and
// a wider cell moves its column right from then on.
func TestRowsLineUpWithTheFirstTable(t *testing.T) {
	first := killReport("payments-production", "ledger-writer-primary", "ledger-writer-primary-7c9f8d6b5-x2x9q")
	var out bytes.Buffer
	if err := writeTable(&out, first, false); err != nil {
		t.Fatal(err)
	}
	// The first table is kubectl's: a tabwriter over the header and rows.
	var want bytes.Buffer
	tw := printers.GetNewTabWriter(&want)
	r := NewRows(false)
	for _, l := range append([][]string{r.header()}, r.rows(first)...) {
		tw.Write([]byte(strings.Join(l, "\t") + "\n"))
	}
	if err := tw.Flush(); err != nil {
		t.Fatal(err)
	}
	if out.String() != want.String() {
		t.Fatalf("the first table:\n%s\nwant kubectl's:\n%s", out.String(), want.String())
	}
	header := strings.SplitN(out.String(), "\n", 2)[0]

	rows := NewRows(false)
	rows.Measure(first)
	var later bytes.Buffer
	if err := rows.Write(&later, killReport("a", "b", "c")); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(later.String(), "\n"), "\n")
	if len(lines) != 1 || strings.HasPrefix(lines[0], "NAMESPACE") {
		t.Fatalf("one row and no header, got %q", later.String())
	}
	if got, want := starts(lines[0]), starts(header); !slices.Equal(got, want) {
		t.Fatalf("a later short row's columns start at %v, the header's at %v:\n%s\n%s", got, want, header, lines[0])
	}

	// A longer pod name moves the columns after it, for that row and the
	// next ones.
	long := "c" + strings.Repeat("x", 60)
	later.Reset()
	if err := rows.Write(&later, killReport("a", "b", long)); err != nil {
		t.Fatal(err)
	}
	if err := rows.Write(&later, killReport("a", "b", "c")); err != nil {
		t.Fatal(err)
	}
	lines = strings.Split(strings.TrimSuffix(later.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("two rows, got %q", later.String())
	}
	a, b, h := starts(lines[0]), starts(lines[1]), starts(header)
	if !slices.Equal(a, b) || !slices.Equal(a[:3], h[:3]) || a[3] != h[2]+len(long)+3 {
		t.Fatalf("after a wider pod: columns at %v then %v (header %v):\n%s", a, b, h, later.String())
	}
}

// A first report with no findings printed nothing: the first kill after
// it brings the header.
func TestRowsAfterAnEmptyReportBringTheHeader(t *testing.T) {
	rows := NewRows(true)
	rows.Measure(&model.ScanReport{})
	var out bytes.Buffer
	if err := rows.Write(&out, &model.ScanReport{}); err != nil {
		t.Fatal(err)
	}
	if out.Len() != 0 {
		t.Fatalf("an empty report printed %q", out.String())
	}
	if err := rows.Write(&out, killReport("a", "b", "c")); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "NAMESPACE") || !strings.Contains(lines[0], "EVIDENCE") {
		t.Fatalf("the wide header, then the row; got %q", out.String())
	}
	if got, want := starts(lines[1])[:8], starts(lines[0])[:8]; !slices.Equal(got, want) {
		t.Fatalf("row columns at %v, header's at %v", got, want)
	}
}
