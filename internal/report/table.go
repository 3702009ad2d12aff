package report

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/cli-runtime/pkg/printers"

	"github.com/oomdoctor/oomdoctor/internal/model"
)

func init() {
	register("table", func(w io.Writer, rep *model.ScanReport) error { return writeTable(w, rep, false) })
	register("wide", func(w io.Writer, rep *model.ScanReport) error { return writeTable(w, rep, true) })
}

// writeTable prints one row per finding, grouped by workload (the report's
// order), in kubectl's column style. Nothing is printed for an empty report.
func writeTable(out io.Writer, rep *model.ScanReport, wide bool) error {
	return NewRows(wide).Write(out, rep)
}

// Rows prints a table in parts, as scan -w does: the first report's
// table, then the rows of each kill under it. Each part's columns start
// where the earlier parts' did (kubectl get -w realigns each part), and
// move right only for a wider cell.
type Rows struct {
	wide bool
	// widths are the widest cell of each column so far, in runes; nil
	// before the first part.
	widths []int
}

// NewRows starts a table; wide adds the -o wide columns.
func NewRows(wide bool) *Rows {
	return &Rows{wide: wide}
}

// Measure takes in the widths of a report printed before, with its
// header, without printing anything: the first report of scan -w.
// A report without findings has printed nothing: the header is still to
// come.
func (r *Rows) Measure(rep *model.ScanReport) {
	if rep.Summary.Findings == 0 {
		return
	}
	r.widen(r.header())
	for _, row := range r.rows(rep) {
		r.widen(row)
	}
}

// Write prints the rows of rep, after the header if nothing was printed
// before. Nothing is printed for an empty report.
func (r *Rows) Write(out io.Writer, rep *model.ScanReport) error {
	if rep.Summary.Findings == 0 {
		return nil
	}
	var lines [][]string
	if r.widths == nil {
		lines = append(lines, r.header())
	} else {
		// A first line of blanks as wide as the widest cells so far sets
		// the columns where they were; it is not printed.
		blank := make([]string, len(r.widths))
		for i, n := range r.widths[:len(r.widths)-1] {
			blank[i] = strings.Repeat(" ", n)
		}
		lines = append(lines, blank)
	}
	lines = append(lines, r.rows(rep)...)
	var buf bytes.Buffer
	w := printers.GetNewTabWriter(&buf)
	for _, l := range lines {
		fmt.Fprintln(w, strings.Join(l, "\t"))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	text := buf.Bytes()
	if r.widths != nil {
		text = text[bytes.IndexByte(text, '\n')+1:]
	}
	for _, l := range lines {
		r.widen(l)
	}
	_, err := out.Write(text)
	return err
}

// widen keeps the widest cell of each column.
func (r *Rows) widen(row []string) {
	if r.widths == nil {
		r.widths = make([]int, len(row))
	}
	for i, c := range row {
		r.widths[i] = max(r.widths[i], utf8.RuneCountInString(c))
	}
}

func (r *Rows) header() []string {
	cols := []string{"NAMESPACE", "WORKLOAD", "POD", "CONTAINER", "RESTARTS", "LAST KILL", "REQUEST", "LIMIT", "FINDING", "CAUSE"}
	if r.wide {
		cols = append(cols, "TYPE", "QOS", "STATE", "EXIT", "REASON", "NODE", "KILLED AT", "EVIDENCE")
	}
	return cols
}

// rows are the cells of rep's findings, grouped by workload.
func (r *Rows) rows(rep *model.ScanReport) [][]string {
	var rows [][]string
	for _, g := range rep.Workloads {
		for _, f := range g.Findings {
			row := []string{
				dash(f.Namespace),
				g.Workload.String(),
				dash(f.Pod),
				dash(f.Container),
				restarts(f),
				age(rep, f),
				memory(f.MemoryRequestBytes, f),
				memory(f.MemoryLimitBytes, f),
				string(f.Type),
				cause(f),
			}
			if r.wide {
				row = append(row,
					dash(string(f.ContainerKind)),
					dash(f.QOSClass),
					dash(f.State),
					exitCode(f.ExitCode),
					dash(f.Reason),
					dash(f.Node),
					killedAt(f),
					evidence(f),
				)
			}
			rows = append(rows, row)
		}
	}
	return rows
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func restarts(f model.Finding) string {
	if f.Container == "" || f.Type == model.Eviction {
		return "-"
	}
	return fmt.Sprint(f.Restarts)
}

func age(rep *model.ScanReport, f model.Finding) string {
	if f.LastKill == nil {
		return "<unknown>"
	}
	d := rep.Metadata.AsOf.Sub(*f.LastKill)
	if d < 0 {
		d = 0
	}
	return duration.HumanDuration(d)
}

func killedAt(f model.Finding) string {
	if f.LastKill == nil {
		return "<unknown>"
	}
	return f.LastKill.UTC().Format("2006-01-02T15:04:05Z")
}

func memory(b *int64, f model.Finding) string {
	if f.Container == "" && f.Pod == "" {
		return "-"
	}
	if b == nil {
		return "<none>"
	}
	return resource.NewQuantity(*b, resource.BinarySI).String()
}

func exitCode(c *int32) string {
	if c == nil {
		return "-"
	}
	return fmt.Sprint(*c)
}

// cause names the surest cause, with how many more there are: "memory-leak",
// "limit-too-low +1"; "?" when none was found but some could not be
// decided.
func cause(f model.Finding) string {
	c := f.TopCause()
	if c == nil {
		if len(f.Undecided) > 0 {
			return "?"
		}
		return "-"
	}
	s := string(c.ID)
	if c.Runtime != "" {
		s += "(" + c.Runtime + ")"
	}
	if c.Confidence == model.Low {
		s += "?"
	}
	if n := len(f.Causes) - 1; n > 0 {
		s += fmt.Sprintf(" +%d", n)
	}
	return s
}

// evidence is the surest cause's first fact, short.
func evidence(f model.Finding) string {
	c := f.TopCause()
	if c == nil || len(c.Evidence) == 0 {
		return "-"
	}
	e := c.Evidence[0]
	s := e.What + ": " + e.Value
	if r := []rune(s); len(r) > 90 {
		s = string(r[:87]) + "..."
	}
	return s
}
