package usage

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestReadTrace(t *testing.T) {
	in := "series,unix_seconds,usage_bytes,provisioned_bytes\n" +
		"a,100,10,80\na,400,20.5,80\r\n" +
		"b,300,5,0\nb,0,1,0\n\n"
	got := readSamples(t, in, func(s *Series, x Sample) string {
		return s.Name + ":" + strings.TrimSpace(strings.Join([]string{itoa(x.T), ftoa(x.Usage), ftoa(x.Provisioned)}, "/"))
	})
	want := "a:100/10/80 a:400/20.5/80 b:0/1/0 b:300/5/0"
	if strings.Join(got, " ") != want {
		t.Errorf("got %v, want %s", got, want)
	}
}

// Times as exporters write them: fractions of a second, milliseconds,
// microseconds, nanoseconds: all unix seconds once read.
func TestReadTraceTimeUnits(t *testing.T) {
	in := "a,1700000000.75,1\na,1700000300000,2\na,1700000600000000,3\na,1700000900000000000,4\n"
	got := readSamples(t, in, func(_ *Series, x Sample) int64 { return x.T })
	if want := []int64{1700000000, 1700000300, 1700000600, 1700000900}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

// A series name in CSV quotes may hold commas and quotes ("" for one):
// a Prometheus label set, a name a spreadsheet quoted. Interleaving is
// judged by the whole name.
func TestReadTraceQuotedNames(t *testing.T) {
	in := "series,unix_seconds,usage_bytes\n\"shop/cart,0\",100,1\n\"say \"\"hi\"\"\",100,2\n\"shop/cart,0\",400,3\nplain,1,4\n"
	got := readSamples(t, in, func(s *Series, x Sample) string { return s.Name + ":" + itoa(x.T) + "/" + ftoa(x.Usage) })
	if want := `shop/cart,0:100/1 shop/cart,0:400/3 say "hi":100/2 plain:1/4`; strings.Join(got, " ") != want {
		t.Errorf("got %v, want %s", got, want)
	}
}

// A gzip trace cut short (a download that did not finish) says so, and
// after which line, rather than "unexpected EOF"; the line it cut is not
// read as a row.
func TestReadTraceCutShort(t *testing.T) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	for i := range 20000 {
		fmt.Fprintf(zw, "s%d,%d,%d\n", i/1000, 1_700_000_000+300*(i%1000), 1000+i)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "cut.csv.gz")
	if err := os.WriteFile(path, buf.Bytes()[:buf.Len()/2], 0o644); err != nil {
		t.Fatal(err)
	}
	err := ReadTraceFile(path, func(*Series) error { return nil })
	if err == nil || !regexp.MustCompile(`cut.csv.gz: after line [0-9]+: the compressed data ends early: the file is cut short`).MatchString(err.Error()) {
		t.Errorf("a gzip trace cut in half: %v", err)
	}
}

// A trace sorted by time (series interleaved from its start) is read
// whole and grouped, series in the order they first appear; interleaving
// first seen past the first MiB is an error that says how to sort.
func TestReadTraceInterleaved(t *testing.T) {
	in := "series,unix_seconds,usage_bytes\nb,100,1\na,100,2\nb,400,3\na,400,4\na,700,5\n"
	got := readSamples(t, in, func(s *Series, x Sample) string { return s.Name + ":" + itoa(x.T) + "/" + ftoa(x.Usage) })
	if want := "b:100/1 b:400/3 a:100/2 a:400/4 a:700/5"; strings.Join(got, " ") != want {
		t.Errorf("got %v, want %s", got, want)
	}
	var late strings.Builder
	for i := 0; late.Len() <= 1<<20; i++ {
		fmt.Fprintf(&late, "a,%d,1000000\n", 1_700_000_000+300*i)
	}
	late.WriteString("b,1700000000,1\na,1,1\n")
	err := ReadTrace(strings.NewReader(late.String()), func(*Series) error { return nil })
	if err == nil || !strings.Contains(err.Error(), `series "a" appears again after other series: sort the trace by series first`) {
		t.Errorf("interleaved after the first MiB: %v", err)
	}
}

func TestReadTraceErrors(t *testing.T) {
	for in, want := range map[string]string{
		"a,1,2\na,x,3\n":                `line 2: time "x"`,
		"a,1,2\na,-5,3\n":               `line 2: time "-5"`,
		"a,1,2\na,NaN,3\n":              `line 2: time "NaN"`,
		"a,1,2\na,2,Inf\n":              `line 2: usage "Inf"`,
		"a,1,2\na,2,3,NaN\n":            `line 2: provisioned "NaN"`,
		"a,1,2\na,2,-3\n":               `usage "-3" is not a number of bytes (0 to 1 PiB)`,
		"a,1,2\na,2,1e30\n":             `line 2: usage "1e30" is not a number of bytes (0 to 1 PiB)`,
		"a,1,2\na,2,3,1e16\n":           `line 2: provisioned "1e16"`,
		"a,1,2\na,2,1125899906842625\n": `line 2: usage "1125899906842625"`,
		"a,1,2\na,2\n":                  "no usage column",
		// A quoted name that does not end well.
		"\"a,1,2\n":         "line 1: the series name's opening quote is never closed",
		"\"a\"x,1,2\n":      "line 1: the quoted series name is not followed by a comma",
		"a,1,2\n\"\",1,2\n": "line 2: no series name",
		// A first line with numbers in it is a row gone wrong, not a
		// header to skip.
		"a,xx,100\na,2,3\n":         `line 1: time "xx" is not unix seconds`,
		"a,1,NaN\n":                 `line 1: usage "NaN"`,
		"a,1\n":                     "line 1: no usage column",
		"a;1;100\na;2;3\n":          "line 1: no comma: columns are separated by commas",
		"series\tt\tu\na\t1\t100\n": "line 2: no comma",
		// No rows: said, with the line read as a header.
		"":                                  "no rows: want CSV rows series,unix_seconds,usage_bytes",
		"\n\n":                              "no rows: want CSV rows",
		"series,unix_seconds,usage_bytes\n": `no rows after its first line "series,unix_seconds,usage_bytes", read as a header`,
		"hello":                             `no rows after its first line "hello", read as a header`,
		// Metrics, not a trace: the error says where to give them.
		"# TYPE container_memory_working_set_bytes gauge\ncontainer_memory_working_set_bytes{namespace=\"shop\"} 1 1\n": "line 2: this is not a CSV trace but metrics in the Prometheus text or OpenMetrics format",
		"container_memory_working_set_bytes{namespace=\"shop\"} 1 1\nx{} 2 2\n":                                         "line 2: this is not a CSV trace but metrics",
	} {
		err := ReadTrace(strings.NewReader(in), func(*Series) error { return nil })
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", in, err, want)
		}
	}
}

func itoa(n int64) string   { return strings.TrimSuffix(ftoa(float64(n)), ".0") }
func ftoa(f float64) string { return strings.TrimRight(strings.TrimRight(strconvF(f), "0"), ".") }

func strconvF(f float64) string { return strconv.FormatFloat(f, 'f', 3, 64) }

// readSamples reads a trace and maps every sample, in the order read.
func readSamples[T any](t *testing.T, in string, f func(*Series, Sample) T) []T {
	t.Helper()
	var out []T
	if err := ReadTrace(strings.NewReader(in), func(s *Series) error {
		for _, x := range s.Samples {
			out = append(out, f(s, x))
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// ReadTrace against a plain reading of the same text: every line split
// at newlines, the first one skipped when it is a header, every other
// non-empty one a row (parseRow) or an error, the rows grouped by series
// in the order the series first appear and put in time order. Whatever
// the framing (no newline at the end, CR LF, blank lines) or the order of
// the series (grouped, interleaved), both agree.
func FuzzReadTrace(f *testing.F) {
	for _, seed := range []string{
		"a,1,100\nb,1,100\na,2,200",
		"series,t,usage\na,2,10\na,1,20\r\nb,5,1,8\n\n",
		"a,1,1\na,1,2\nb,1,3\nb,0,4\n",
		"a,1,1\nb,1,1\na,1.5e3,2e3,4e3\n",
		"x,1700000000000,1\n",
		"# HELP x\nx{a=\"b\"} 1\n",
		"",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		type row struct {
			name string
			x    Sample
		}
		var rows []row
		valid := true
		for n, line := range strings.Split(in, "\n") {
			line = strings.TrimRight(line, "\r")
			if line == "" {
				continue
			}
			name, ts, u, p, err := parseRow([]byte(line))
			if err != nil {
				if n == 0 && header([]byte(line)) {
					continue
				}
				valid = false
				break
			}
			rows = append(rows, row{string(name), Sample{T: ts, Usage: u, Provisioned: p}})
		}
		var want []string
		var order []string
		by := map[string][]Sample{}
		for _, r := range rows {
			if _, ok := by[r.name]; !ok {
				order = append(order, r.name)
			}
			by[r.name] = append(by[r.name], r.x)
		}
		for _, name := range order {
			xs := by[name]
			slices.SortStableFunc(xs, func(a, b Sample) int { return cmp.Compare(a.T, b.T) })
			for _, x := range xs {
				want = append(want, fmt.Sprintf("%s %d %g %g", name, x.T, x.Usage, x.Provisioned))
			}
		}
		var got []string
		err := ReadTrace(strings.NewReader(in), func(s *Series) error {
			for _, x := range s.Samples {
				got = append(got, fmt.Sprintf("%s %d %g %g", s.Name, x.T, x.Usage, x.Provisioned))
			}
			return nil
		})
		switch {
		case !valid || len(rows) == 0:
			if err == nil {
				t.Fatalf("%q: no error, want one (valid rows %v, %d rows)", in, valid, len(rows))
			}
		case err != nil:
			t.Fatalf("%q: %v, want %q", in, err, want)
		case !slices.Equal(got, want):
			t.Fatalf("%q:\ngot  %q\nwant %q", in, got, want)
		}
	})
}
