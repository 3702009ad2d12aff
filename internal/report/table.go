package report

import (
	"fmt"
	"io"
	"strings"

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
	return Rows(out, rep, wide, true)
}

// Rows prints the table's rows, after its header when header is set:
// scan -w adds the rows of new kills under the first table. Nothing is
// printed for an empty report.
func Rows(out io.Writer, rep *model.ScanReport, wide, header bool) error {
	if rep.Summary.Findings == 0 {
		return nil
	}
	w := printers.GetNewTabWriter(out)
	cols := []string{"NAMESPACE", "WORKLOAD", "POD", "CONTAINER", "RESTARTS", "LAST KILL", "REQUEST", "LIMIT", "FINDING", "CAUSE"}
	if wide {
		cols = append(cols, "TYPE", "QOS", "STATE", "EXIT", "REASON", "NODE", "KILLED AT", "EVIDENCE")
	}
	if header {
		fmt.Fprintln(w, strings.Join(cols, "\t"))
	}
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
			if wide {
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
			fmt.Fprintln(w, strings.Join(row, "\t"))
		}
	}
	return w.Flush()
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
