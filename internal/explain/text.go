package explain

import (
	"fmt"
	"io"
	"strings"

	"github.com/oomdoctor/oomdoctor/internal/chart"
	"github.com/oomdoctor/oomdoctor/internal/model"
	"github.com/oomdoctor/oomdoctor/internal/words"
)

// WriteText writes the explanation for a terminal.
func WriteText(w io.Writer, e *Explanation) error {
	if len(e.Items) == 0 {
		_, err := fmt.Fprintf(w, "No OOM kill, eviction, SIGKILL or runtime out-of-memory error found for %s.\n", e.Target)
		return err
	}
	for i, it := range e.Items {
		if i > 0 {
			fmt.Fprintln(w, strings.Repeat("─", 78))
		}
		writeItem(w, e, &it)
	}
	return nil
}

func writeItem(w io.Writer, e *Explanation, it *Item) {
	f := &it.Finding
	fmt.Fprintln(w, heading(f))
	fmt.Fprintf(w, "  %s\n", facts(f))
	fmt.Fprintf(w, "  %s: %s\n\n", f.Type, wrap(f.Explanation, 76, "  "))

	fmt.Fprintln(w, "Timeline (UTC)")
	if len(it.Timeline) == 0 {
		fmt.Fprintln(w, "  (no times known)")
	}
	for _, ev := range it.Timeline {
		fmt.Fprintf(w, "  %s  %s  [%s]\n", ev.At.Format("2006-01-02 15:04:05"), ev.What, ev.Source)
	}
	fmt.Fprintln(w)

	if h := it.History; h != nil {
		fmt.Fprintf(w, "Memory: working set (█), request (·) and limit (─), K = kill; from %s, step %s\n", h.Source, h.Step)
		start := h.WorkingSet[0].T
		pts := make([]chart.Point, len(h.WorkingSet))
		for i, p := range h.WorkingSet {
			pts[i] = chart.Point{At: float64(p.T - start), Value: int64(p.V)}
		}
		o := chart.Options{Width: 64, Height: 10, Markers: map[float64]rune{},
			StartLabel: timeLabel(start), EndLabel: timeLabel(h.WorkingSet[len(h.WorkingSet)-1].T)}
		if n := len(h.Limit); n > 0 {
			o.Limit = int64(h.Limit[n-1].V)
		} else if f.MemoryLimitBytes != nil {
			o.Limit = *f.MemoryLimitBytes
		}
		if n := len(h.Request); n > 0 {
			o.Request = int64(h.Request[n-1].V)
		} else if f.MemoryRequestBytes != nil {
			o.Request = *f.MemoryRequestBytes
		}
		for _, k := range h.Kills {
			if k >= start {
				o.Markers[float64(k-start)] = 'K'
			}
		}
		chart.Render(w, pts, o)
		fmt.Fprintln(w)
	} else {
		fmt.Fprintln(w, "Memory: no usage history (give --prometheus-url to see the working set against the limit)")
		fmt.Fprintln(w)
	}

	if len(f.Causes) == 0 {
		fmt.Fprintln(w, "Causes: none shown by the data at hand.")
	} else {
		fmt.Fprintln(w, "Causes, surest first")
	}
	for i, c := range f.Causes {
		id := string(c.ID)
		if c.Runtime != "" {
			id += " (" + c.Runtime + ")"
		}
		fmt.Fprintf(w, "  %d. %s, %s confidence\n", i+1, id, c.Confidence)
		fmt.Fprintf(w, "     %s\n", wrap(c.Summary, 72, "     "))
		fmt.Fprintf(w, "     why %s: %s\n", c.Confidence, wrap(c.ConfidenceWhy, 72, "     "))
		fmt.Fprintln(w, "     evidence:")
		for _, ev := range c.Evidence {
			at := ""
			if ev.At != nil {
				at = " at " + ev.At.UTC().Format("2006-01-02 15:04")
			}
			src := ""
			if ev.Source != "" {
				src = " [" + ev.Source + "]"
			}
			fmt.Fprintf(w, "       - %s: %s%s%s\n", ev.What, ev.Value, at, src)
		}
		fmt.Fprintf(w, "     fix: %s\n", wrap(c.Fix.Text, 72, "          "))
		if c.Fix.Flag != "" {
			fmt.Fprintf(w, "          set %s\n", c.Fix.Flag)
		}
		if c.Fix.YAML != "" {
			for _, l := range strings.Split(strings.TrimRight(c.Fix.YAML, "\n"), "\n") {
				fmt.Fprintf(w, "          %s\n", l)
			}
		}
		if c.Fix.Command != "" {
			fmt.Fprintf(w, "          on the cluster (or -f with your manifests instead of --apply):\n            %s\n", c.Fix.Command)
		}
		if c.Fix.ChartCommand != "" {
			fmt.Fprintf(w, "          in the Helm chart's values (the next helm upgrade undoes a change made on the cluster):\n            %s\n", c.Fix.ChartCommand)
		}
	}
	if len(f.Undecided) > 0 {
		fmt.Fprintln(w, "\nNot decided (what would decide it)")
		for _, u := range f.Undecided {
			fmt.Fprintf(w, "  - %s: %s\n", u.ID, wrap(u.Needs, 72, "    "))
		}
	}
}

func heading(f *model.Finding) string {
	if f.Pod == "" {
		return fmt.Sprintf("%s on node %s", f.Workload, f.Node)
	}
	h := fmt.Sprintf("Pod %s/%s", f.Namespace, f.Pod)
	if f.Container != "" {
		h += ", container " + f.Container
	}
	h += " (" + f.Workload.String() + ")"
	if f.Node != "" {
		h += " on " + f.Node
	}
	return h
}

func facts(f *model.Finding) string {
	var parts []string
	if f.QOSClass != "" {
		parts = append(parts, f.QOSClass)
	}
	if f.MemoryRequestBytes != nil {
		parts = append(parts, "request "+size(float64(*f.MemoryRequestBytes)))
	}
	if f.MemoryLimitBytes != nil {
		parts = append(parts, "limit "+size(float64(*f.MemoryLimitBytes)))
	} else if f.Container != "" {
		parts = append(parts, "no limit")
	}
	if f.Container != "" {
		parts = append(parts, words.Count(f.Restarts, "restart"))
	}
	if f.State != "" {
		parts = append(parts, f.State)
	}
	return strings.Join(parts, " · ")
}

func timeLabel(t int64) string {
	return timeOf(t).Format("01-02 15:04")
}

// wrap folds text at width, indenting the lines after the first.
func wrap(s string, width int, indent string) string {
	words := strings.Fields(s)
	var b strings.Builder
	n := 0
	for i, w := range words {
		if i > 0 && n+1+len([]rune(w)) > width {
			b.WriteString("\n" + indent)
			n = 0
		} else if i > 0 {
			b.WriteByte(' ')
			n++
		}
		b.WriteString(w)
		n += len([]rune(w))
	}
	return b.String()
}
