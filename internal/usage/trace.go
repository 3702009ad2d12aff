// Package usage reads containers' memory usage over time: trace files
// (CSV: series,unix_seconds,usage_bytes[,provisioned_bytes], gzip or not)
// and, for the recommender, Prometheus. Series stream one at a time, in
// time order, so that memory stays that of one series.
package usage

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Sample is one observation of a series.
type Sample struct {
	// T is unix seconds.
	T int64
	// Usage is the memory in use (bytes); Provisioned the memory the
	// series was given (its limit; 0 when unknown).
	Usage, Provisioned float64
}

// Series is one series of a trace.
type Series struct {
	Name    string
	Samples []Sample
	// Kills are the OOM kills seen in a cluster's history (none in a
	// trace file), in time order.
	Kills []Kill
}

// Kill is an OOM kill: the demand was above Limit at T.
type Kill struct {
	T     int64
	Limit float64
}

// Open opens a file to read, gunzipping it when it is gzip (by its first
// bytes, whatever its name).
func Open(path string) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(f, 1<<20)
	if magic, err := br.Peek(2); err != nil || magic[0] != 0x1f || magic[1] != 0x8b {
		return struct {
			io.Reader
			io.Closer
		}{br, f}, nil
	}
	gz, err := gzip.NewReader(br)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return gzipFile{gz, f}, nil
}

type gzipFile struct {
	*gzip.Reader
	f *os.File
}

func (g gzipFile) Close() error {
	g.Reader.Close()
	return g.f.Close()
}

// ReadTraceFile reads a trace file (.csv or .csv.gz) and calls fn for each
// series. The Samples slice is reused after fn returns.
func ReadTraceFile(path string, fn func(*Series) error) error {
	r, err := Open(path)
	if err != nil {
		return err
	}
	defer r.Close()
	if err := ReadTrace(r, fn); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// ReadTrace reads CSV records "series,unix_seconds,usage_bytes" with an
// optional fourth column provisioned_bytes and an optional header line.
// A trace sorted by series streams, one series in memory at a time; one
// whose first MiB shows series interleaved (a trace sorted by time) is
// read whole, then grouped. Within a series, rows are sorted by time if
// they are not.
func ReadTrace(r io.Reader, fn func(*Series) error) error {
	br := bufio.NewReaderSize(r, 1<<20)
	head, peekErr := br.Peek(1 << 20)
	if interleaved(head, peekErr != nil) {
		return readGrouped(br, fn)
	}
	var cur Series
	seen := map[string]bool{}
	flush := func() error {
		if cur.Name == "" {
			return nil
		}
		seen[cur.Name] = true
		sortSamples(cur.Samples)
		err := fn(&cur)
		cur.Samples = cur.Samples[:0]
		return err
	}
	err := scanRows(br, func(line int, name []byte, x Sample) error {
		if string(name) != cur.Name {
			if err := flush(); err != nil {
				return err
			}
			cur.Name = string(name)
			if seen[cur.Name] {
				return fmt.Errorf("line %d: series %q appears again after other series: sort the trace by series first (sort -s -t, -k1,1)", line, cur.Name)
			}
		}
		cur.Samples = append(cur.Samples, x)
		return nil
	})
	if err != nil {
		return err
	}
	return flush()
}

// interleaved says whether the start of a trace holds a series again
// after another one; whole says the start is the whole trace, whose last
// line may have no newline.
func interleaved(head []byte, whole bool) bool {
	seen := map[string]bool{}
	var cur []byte
	for len(head) > 0 {
		line := head
		if i := bytes.IndexByte(head, '\n'); i >= 0 {
			line, head = head[:i], head[i+1:]
		} else if whole {
			head = nil // the last line, without its newline
		} else {
			break // a line cut where the start ends
		}
		name, _, err := seriesName(line)
		if err != nil {
			continue
		}
		if !bytes.Equal(name, cur) {
			if seen[string(name)] {
				return true
			}
			seen[string(cur)] = true
			cur = name
		}
	}
	return false
}

// readGrouped reads a whole trace whose series are interleaved and calls
// fn for each series, in the order they first appear.
func readGrouped(br *bufio.Reader, fn func(*Series) error) error {
	index := map[string]int{}
	var all []Series
	err := scanRows(br, func(_ int, name []byte, x Sample) error {
		i, ok := index[string(name)]
		if !ok {
			i = len(all)
			index[string(name)] = i
			all = append(all, Series{Name: string(name)})
		}
		all[i].Samples = append(all[i].Samples, x)
		return nil
	})
	if err != nil {
		return err
	}
	for i := range all {
		sortSamples(all[i].Samples)
		if err := fn(&all[i]); err != nil {
			return err
		}
		all[i].Samples = nil
	}
	return nil
}

// NoRowsError is a trace with no rows: empty, or a header alone.
type NoRowsError struct {
	// Header is the first line, read as a header ("" when none).
	Header string
}

func (e *NoRowsError) Error() string {
	const want = "want CSV rows series,unix_seconds,usage_bytes[,provisioned_bytes]"
	if e.Header == "" {
		return "no rows: " + want
	}
	h := e.Header
	if len(h) > 80 {
		h = h[:77] + "..."
	}
	return fmt.Sprintf("no rows after its first line %q, read as a header: %s", h, want)
}

// header says whether a first line that is not a row is a header: none
// of its fields after the first (split at commas, semicolons or tabs) is
// a number. A line with numbers in it is a row gone wrong, and said so
// rather than skipped.
func header(b []byte) bool {
	fields := bytes.FieldsFunc(b, func(r rune) bool { return r == ',' || r == ';' || r == '\t' })
	for _, f := range fields[min(1, len(fields)):] {
		if _, err := strconv.ParseFloat(string(bytes.TrimSpace(f)), 64); err == nil {
			return false
		}
	}
	return true
}

// scanRows parses every row and calls row for it; a first line that is
// not a row but a header is skipped. No rows at all is a *NoRowsError.
func scanRows(br *bufio.Reader, row func(line int, name []byte, x Sample) error) error {
	line, rows := 0, 0
	first := ""
	for {
		raw, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			return fmt.Errorf("line %d is longer than 1 MiB: not a trace", line+1)
		}
		if err != nil && err != io.EOF {
			// A line cut by a failed read is not parsed.
			return readError(line, err)
		}
		if len(raw) == 0 && err == io.EOF {
			break
		}
		line++
		raw = bytes.TrimRight(raw, "\r\n")
		if len(raw) > 0 {
			name, t, u, p, perr := parseRow(raw)
			switch {
			case perr != nil && line == 1 && header(raw):
				first = string(raw)
			case perr != nil && (strings.HasPrefix(first, "# ") || bytes.ContainsRune(raw, '{')):
				return fmt.Errorf("line %d: this is not a CSV trace but metrics in the Prometheus text or OpenMetrics format (as a snapshot's history/*.om): give the snapshot's folder with --snapshot, or load them into Prometheus (promtool tsdb create-blocks-from openmetrics) and give --prometheus-url", line)
			case perr != nil:
				return fmt.Errorf("line %d: %v (want series,unix_seconds,usage_bytes[,provisioned_bytes])", line, perr)
			default:
				rows++
				if err := row(line, name, Sample{T: t, Usage: u, Provisioned: p}); err != nil {
					return err
				}
			}
		}
		if err == io.EOF {
			break
		}
	}
	if rows == 0 {
		return &NoRowsError{Header: first}
	}
	return nil
}

// seriesName splits a row's first field, the series name, from the
// rest. A name in double quotes (CSV quoting: a comma inside, "" for a
// quote) is unquoted, in a new slice when it holds "".
func seriesName(b []byte) (name, rest []byte, err error) {
	if len(b) > 0 && b[0] == '"' {
		var quoted bool
		for i := 1; i < len(b); i++ {
			if b[i] != '"' {
				continue
			}
			if i+1 < len(b) && b[i+1] == '"' {
				quoted = true
				i++
				continue
			}
			name, rest = b[1:i], b[i+1:]
			if len(rest) == 0 || rest[0] != ',' {
				return nil, nil, errors.New("the quoted series name is not followed by a comma")
			}
			if quoted {
				name = bytes.ReplaceAll(name, []byte(`""`), []byte(`"`))
			}
			if len(name) == 0 {
				return nil, nil, errors.New("no series name")
			}
			return name, rest[1:], nil
		}
		return nil, nil, errors.New("the series name's opening quote is never closed")
	}
	i := bytes.IndexByte(b, ',')
	switch {
	case i < 0:
		return nil, nil, errors.New("no comma: columns are separated by commas")
	case i == 0:
		return nil, nil, errors.New("no series name")
	}
	return b[:i], b[i+1:], nil
}

// readError says what a read that failed after line means: a gzip
// file cut short or damaged, most often.
func readError(line int, err error) error {
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("after line %d: the compressed data ends early: the file is cut short (a download or copy that did not finish?)", line)
	case errors.Is(err, gzip.ErrChecksum), errors.Is(err, gzip.ErrHeader), errors.As(err, new(flate.CorruptInputError)):
		return fmt.Errorf("after line %d: the compressed data is damaged (%v)", line, err)
	}
	return fmt.Errorf("after line %d: %w", line, err)
}

func parseRow(b []byte) (name []byte, t int64, u, p float64, err error) {
	name, b, err = seriesName(b)
	if err != nil {
		return nil, 0, 0, 0, err
	}
	i := bytes.IndexByte(b, ',')
	if i < 0 {
		return nil, 0, 0, 0, errors.New("no usage column")
	}
	t, ok := unixSeconds(b[:i])
	if !ok {
		return nil, 0, 0, 0, fmt.Errorf("time %q is not unix seconds", b[:i])
	}
	b = b[i+1:]
	field := b
	if j := bytes.IndexByte(b, ','); j >= 0 {
		field, b = b[:j], b[j+1:]
		if p, ok = number(b); !ok {
			return nil, 0, 0, 0, fmt.Errorf("provisioned %q is not a number of bytes (0 to 1 PiB)", b)
		}
	}
	if u, ok = number(field); !ok {
		return nil, 0, 0, 0, fmt.Errorf("usage %q is not a number of bytes (0 to 1 PiB)", field)
	}
	return name, t, u, p, nil
}

// unixSeconds parses a time: unix seconds, with a fraction or not; a
// number too large for seconds (after the year 5000) is read as
// milliseconds, microseconds or nanoseconds, as exporters write them.
func unixSeconds(b []byte) (int64, bool) {
	t, ok := atoi(b)
	if !ok {
		f, err := strconv.ParseFloat(string(b), 64)
		if err != nil || !(f >= 0) || f >= 9e18 {
			return 0, false
		}
		t = int64(f)
	}
	for t >= 1e11 {
		t /= 1000
	}
	return t, true
}

// atoi parses a non-negative decimal integer without allocating.
func atoi(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// maxBytes is the most a usage or provisioned value may be: 1 PiB, far
// above any machine's memory, and far enough below int64's range for the
// limits sized from it.
const maxBytes = 1 << 50

// number parses an integer fast, anything else with strconv; a number of
// bytes is at least 0 and at most maxBytes.
func number(b []byte) (float64, bool) {
	if n, ok := atoi(b); ok {
		return float64(n), n <= maxBytes
	}
	f, err := strconv.ParseFloat(string(b), 64)
	return f, err == nil && f >= 0 && f <= maxBytes
}

func sortSamples(s []Sample) {
	sorted := true
	for i := 1; i < len(s); i++ {
		if s[i].T < s[i-1].T {
			sorted = false
			break
		}
	}
	if sorted {
		return
	}
	// Insertion sort is fine for nearly sorted data; fall back to the
	// standard sort otherwise.
	sortByTime(s)
}
