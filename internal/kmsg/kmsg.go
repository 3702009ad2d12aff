// Package kmsg reads the kernel log (/dev/kmsg, or through syslog(2)) and
// puts the OOM killer's reports back together: the cgroup whose limit was
// hit, the victim, its memory, and the cgroup's memory.stat at the kill. Reading is apart from
// parsing: ParseRecord and the Assembler take lines, so reports of several
// kernel generations are table-tested from fixtures.
package kmsg

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"syscall"
	"time"
)

// Record is one kernel log record.
type Record struct {
	// Level is the syslog level (0 emergency .. 7 debug), Facility the
	// facility (0 for the kernel).
	Level, Facility int
	// Seq is the record's sequence number: consecutive unless records were
	// overwritten before they were read.
	Seq uint64
	// Since is the time since boot.
	Since time.Duration
	// Continuation marks a record that continues the previous line (flag c).
	Continuation bool
	Message      string
}

// ParseRecord parses one /dev/kmsg record: "PRI,SEQ,USEC,FLAGS[,...];TEXT",
// optionally followed by dictionary lines (" KEY=VALUE"), which are
// dropped. Escapes (\xNN) in the text are undone.
func ParseRecord(raw []byte) (Record, error) {
	raw = bytes.TrimRight(raw, "\n")
	if i := bytes.IndexByte(raw, '\n'); i >= 0 {
		raw = raw[:i] // dictionary lines follow the first
	}
	semi := bytes.IndexByte(raw, ';')
	if semi < 0 {
		return Record{}, fmt.Errorf("kmsg record without ';': %q", truncate(raw))
	}
	fields := bytes.SplitN(raw[:semi], []byte(","), 5)
	if len(fields) < 4 {
		return Record{}, fmt.Errorf("kmsg record with %d header fields: %q", len(fields), truncate(raw))
	}
	pri, err1 := strconv.Atoi(string(fields[0]))
	seq, err2 := strconv.ParseUint(string(fields[1]), 10, 64)
	usec, err3 := strconv.ParseInt(string(fields[2]), 10, 64)
	if err := errors.Join(err1, err2, err3); err != nil {
		return Record{}, fmt.Errorf("kmsg record header %q: %v", raw[:semi], err)
	}
	return Record{
		Level: pri & 7, Facility: pri >> 3, Seq: seq,
		Since:        time.Duration(usec) * time.Microsecond,
		Continuation: bytes.Contains(fields[3], []byte("c")),
		Message:      unescape(raw[semi+1:]),
	}, nil
}

func truncate(b []byte) []byte {
	if len(b) > 80 {
		return b[:80]
	}
	return b
}

// unescape undoes the kernel's \xNN escapes of non-printable bytes.
func unescape(b []byte) string {
	if !bytes.Contains(b, []byte(`\x`)) {
		return string(b)
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] == '\\' && i+3 < len(b) && b[i+1] == 'x' {
			if v, err := strconv.ParseUint(string(b[i+2:i+4]), 16, 8); err == nil {
				out = append(out, byte(v))
				i += 3
				continue
			}
		}
		out = append(out, b[i])
	}
	return string(out)
}

// ErrOverwritten says records were lost: the ring buffer overwrote them
// before they were read. Reading goes on with the oldest record left.
var ErrOverwritten = errors.New("kernel log records were overwritten before they were read")

// Reader reads records from /dev/kmsg (or a file of records, for tests),
// or through syslog(2) (OpenSyslog).
type Reader struct {
	f   *os.File
	sys *syslogSource
	buf []byte
	// Lost counts the times records were overwritten unread.
	Lost int
	// Boot is the wall time the system booted, to turn record times into
	// wall times; zero when unknown.
	Boot time.Time
}

// openHint says what an open of the kernel log needs, for its error.
func openHint(err error) string {
	if !errors.Is(err, fs.ErrPermission) {
		return "give the kernel log's path, or an empty one to do without it"
	}
	// A container's runtime denies host devices through the device
	// cgroup (v1) or its eBPF filter (v2) unless it is privileged: the
	// open fails with EPERM whatever the capabilities.
	return "reading it needs root, and CAP_SYSLOG when kernel.dmesg_restrict is 1; in a container it must also be privileged, since the runtime's device cgroup refuses host devices to any other container whatever its capabilities"
}

// Open opens the kernel log at path. With fromEnd, only records written
// after the call are read.
func Open(path string, fromEnd bool) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening the kernel log %s: %w (%s)", path, err, openHint(err))
	}
	if fromEnd {
		// On /dev/kmsg SEEK_END moves to after the last record.
		if _, err := f.Seek(0, io.SeekEnd); err != nil {
			f.Close()
			return nil, err
		}
	}
	return &Reader{f: f, buf: make([]byte, 8192)}, nil
}

// Poke has a syslog(2) reader read the log now, and again SyslogReread
// later, rather than at its next interval (an OOM was seen elsewhere); a
// device reader is always current. A nil Reader is no log: nothing to do.
func (r *Reader) Poke() {
	if r == nil || r.sys == nil {
		return
	}
	select {
	case r.sys.poke <- struct{}{}:
	default:
	}
}

// Close closes the log. A syslog(2) reader's Next returns within its
// interval.
func (r *Reader) Close() error {
	if r.sys != nil {
		r.sys.closed.Store(true)
		return nil
	}
	return r.f.Close()
}

// Next returns the next record, blocking until one is written. When the
// ring buffer overwrote unread records it returns ErrOverwritten once (the
// kernel's EPIPE) and then goes on.
func (r *Reader) Next() (Record, error) {
	if r.sys != nil {
		rec, err := r.sys.next()
		if errors.Is(err, ErrOverwritten) {
			r.Lost++
		}
		return rec, err
	}
	for {
		n, err := r.f.Read(r.buf)
		if errors.Is(err, syscall.EPIPE) {
			r.Lost++
			return Record{}, ErrOverwritten
		}
		if err != nil {
			return Record{}, err
		}
		if n == 0 {
			return Record{}, io.EOF
		}
		rec, err := ParseRecord(r.buf[:n])
		if err != nil {
			continue // a record we cannot read is no OOM report
		}
		return rec, nil
	}
}

// WallTime turns a record's time since boot into wall time, when the boot
// time is known.
func (r *Reader) WallTime(rec Record) time.Time {
	if r.Boot.IsZero() {
		return time.Time{}
	}
	return r.Boot.Add(rec.Since)
}
