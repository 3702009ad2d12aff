// Command families replays every sizing strategy on the synthetic families
// of package test/tracegen (make bench-families): one table per family,
// train/test and rolling, next to the hindsight slack. With -o DIR it also
// writes each family as DIR/NAME.csv.gz, for oomdoctor replay --trace.
package main

import (
	"bytes"
	"compress/gzip"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/oomdoctor/oomdoctor/internal/fix"
	"github.com/oomdoctor/oomdoctor/internal/recommend"
	"github.com/oomdoctor/oomdoctor/internal/replay"
	"github.com/oomdoctor/oomdoctor/internal/usage"
	"github.com/oomdoctor/oomdoctor/test/tracegen"
)

func main() {
	seed := flag.Int64("seed", 1, "random seed")
	n := flag.Int("series", 60, "series per family")
	out := flag.String("o", "", "also write each family to DIR/NAME.csv.gz")
	flag.Parse()
	if err := run(os.Stdout, *seed, *n, *out); err != nil {
		fmt.Fprintln(os.Stderr, "families:", err)
		os.Exit(1)
	}
}

func run(w io.Writer, seed int64, n int, dir string) error {
	var strategies []recommend.Strategy
	for _, name := range []string{"tail", "peak-2x", "peak-1.5x", "krr", "vpa"} {
		s, err := recommend.Lookup(name)
		if err != nil {
			return err
		}
		strategies = append(strategies, s)
	}
	if dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	week := 7 * 24 * time.Hour
	fmt.Fprintf(w, "%d series a family, %d days at %ds, seed %d; each cell: series with an OOM / mean relative slack\n\n", n, tracegen.Days, tracegen.Step, seed)
	fmt.Fprintf(w, "| family | regular | mode | %s | hindsight slack |\n", strings.Join(names(strategies), " | "))
	fmt.Fprintf(w, "|---|---|---|%s---|\n", strings.Repeat("---|", len(strategies)))
	for _, f := range tracegen.Families {
		series := f.Generate(seed, n)
		if dir != "" {
			if err := write(filepath.Join(dir, f.Name+".csv.gz"), series); err != nil {
				return err
			}
		}
		read := func(fn func(*usage.Series) error) error {
			for i := range series {
				if err := fn(&series[i]); err != nil {
					return err
				}
			}
			return nil
		}
		for _, o := range []replay.Options{{Train: week, Test: week}, {Rolling: week, MinChange: recommend.MinChange}} {
			rep, err := replay.Run(read, strategies, o)
			if err != nil {
				return err
			}
			cells := make([]string, len(rep.Rows))
			for i, r := range rep.Rows {
				cells[i] = fmt.Sprintf("%d / %.1f%%", r.OOMSeries, 100*r.Slack)
			}
			regular := "no"
			if f.Regular {
				regular = "yes"
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s | %.1f%% |\n", f.Name, regular, rep.Mode, strings.Join(cells, " | "), 100*rep.HindsightSlack)
		}
	}
	return nil
}

func names(s []recommend.Strategy) []string {
	out := make([]string, len(s))
	for i, x := range s {
		out[i] = "`" + x.Name + "`"
	}
	return out
}

// write writes a family's trace, gzipped, atomically.
func write(path string, series []usage.Series) error {
	var b bytes.Buffer
	gz := gzip.NewWriter(&b)
	if err := tracegen.WriteCSV(gz, series); err != nil {
		return err
	}
	if err := gz.Close(); err != nil {
		return err
	}
	return fix.WriteAtomic(path, b.Bytes())
}
