package kmsg

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"syscall"
	"time"
)

// Syslog is the Kmsg value that reads the kernel log through the syslog(2)
// system call instead of a device: it needs CAP_SYSLOG, not /dev/kmsg, so
// a container reads it without being privileged (the runtime's device
// cgroup refuses host devices to any other container).
const Syslog = "syslog"

// SyslogReread is how long after a poke the log is read again through
// syslog(2), for a report the kernel was still printing.
const SyslogReread = 100 * time.Millisecond

// ErrNoTimestamps says the kernel prints its log without timestamps
// (printk.time off): the syslog(2) source cannot then tell new records
// from old ones.
var ErrNoTimestamps = errors.New("the kernel log has no timestamps (printk.time is off), so syslog(2) cannot tell new records from old: turn it on (echo Y > /sys/module/printk/parameters/time) or read /dev/kmsg")

// syslogSource polls the whole kernel log buffer (SYSLOG_ACTION_READ_ALL,
// which consumes nothing, unlike SYSLOG_ACTION_READ and /proc/kmsg) and
// hands out the records it has not handed out before. Records carry no
// sequence number in this form: the newest lines read are found again by
// their text.
type syslogSource struct {
	read  func(buf []byte) (int, error) // the system call; a fake in tests
	every time.Duration
	poke  chan struct{}
	buf   []byte
	queue []Record
	// lines are the spans of the last read's lines; tail the newest of
	// them, to find them again.
	lines  [][2]int
	tail   []string
	seq    uint64
	lost   bool
	again  bool // read again SyslogReread after a poke
	closed atomic.Bool
}

func syslogHint(err error) string {
	switch {
	case errors.Is(err, syscall.EACCES):
		// SELinux refuses with EACCES (a container domain without
		// syslog_read), as other security modules may.
		return "a security module (SELinux, AppArmor) refused it: let the agent read the kernel log, or give --kmsg /dev/kmsg (the chart's kernelLogSource=device, privileged)"
	case errors.Is(err, syscall.EPERM):
		return "it needs CAP_SYSLOG: add it to the container's capabilities (a RuntimeDefault seccomp profile allows the call with it); where a policy forbids it, give --kmsg /dev/kmsg (the chart's kernelLogSource=device, privileged)"
	}
	return "give --kmsg /dev/kmsg, or an empty one to do without the kernel log"
}

// tailLines is how many of the newest lines read are kept to find them
// again in the next read.
const tailLines = 8

// poll reads the buffer and queues the new records. skip (the first read
// with fromEnd) only marks where the log ends.
//
// The buffer holds the newest records in order, so the new ones are those
// after the newest line of the last read, found again by its text (its
// time among it) and the lines before it. Times alone would not do: a
// record is stamped before it takes its place, so records of two CPUs can
// come out of time order. When the last line read is gone from the buffer,
// every line is new, and records between may have been overwritten.
func (s *syslogSource) poll(skip bool) error {
	n, err := s.read(s.buf)
	if err != nil {
		return fmt.Errorf("reading the kernel log through syslog(2): %w (%s)", err, syslogHint(err))
	}
	b := s.buf[:n]
	s.lines = s.lines[:0]
	untimed := 0
	for at := 0; at < len(b); {
		end := bytes.IndexByte(b[at:], '\n')
		if end < 0 {
			end = len(b)
		} else {
			end += at
		}
		if _, _, _, ok, hasTime := syslogHead(b[at:end]); ok && hasTime {
			s.lines = append(s.lines, [2]int{at, end})
		} else if ok {
			untimed++
		}
		at = end + 1
	}
	if len(s.lines) == 0 && untimed > 0 {
		return ErrNoTimestamps
	}
	from := 0 // the first new line
	switch {
	case skip:
		from = len(s.lines)
	case len(s.lines) == 0:
		// Empty: cleared (dmesg -c), or nothing written yet. Whatever
		// comes next is new.
		s.tail = s.tail[:0]
	case len(s.tail) > 0:
		from = s.after(b)
		if from < 0 {
			from, s.lost = 0, true
			s.seq++ // a gap before these records, as the Assembler reads one
		}
	}
	for _, l := range s.lines[from:] {
		r, _, _ := parseSyslogLine(b[l[0]:l[1]])
		s.seq++
		r.Seq = s.seq
		s.queue = append(s.queue, r)
	}
	if from < len(s.lines) || len(s.tail) == 0 {
		s.tail = s.tail[:0]
		for _, l := range s.lines[max(0, len(s.lines)-tailLines):] {
			s.tail = append(s.tail, string(b[l[0]:l[1]]))
		}
	}
	return nil
}

// after is the index of the line after the newest one of the last read,
// found with the lines before it; -1 when it is gone.
func (s *syslogSource) after(b []byte) int {
	for i := len(s.lines) - 1; i >= 0; i-- {
		match := true
		for k := 0; k < len(s.tail) && k <= i; k++ {
			l := s.lines[i-k]
			if string(b[l[0]:l[1]]) != s.tail[len(s.tail)-1-k] {
				match = false
				break
			}
		}
		if match {
			return i + 1
		}
	}
	return -1
}

// next returns the next record, polling until there is one.
func (s *syslogSource) next() (Record, error) {
	for len(s.queue) == 0 {
		if s.closed.Load() {
			return Record{}, os.ErrClosed
		}
		wait := s.every
		if s.again {
			wait, s.again = SyslogReread, false
		}
		select {
		case <-time.After(wait):
		case <-s.poke:
			s.again = true
		}
		if s.closed.Load() {
			return Record{}, os.ErrClosed
		}
		if err := s.poll(false); err != nil {
			return Record{}, err
		}
		if s.lost {
			s.lost = false
			return Record{}, ErrOverwritten
		}
	}
	r := s.queue[0]
	s.queue = s.queue[1:]
	return r, nil
}

// syslogHead splits a "<PRI>[SECONDS.MICROS] TEXT" line without
// allocating: ok is false for a line of another form, timed false for one
// without a time (its text is then all after the priority).
func syslogHead(line []byte) (pri int, since time.Duration, text []byte, ok, timed bool) {
	if len(line) < 3 || line[0] != '<' {
		return 0, 0, nil, false, false
	}
	i := 1
	for ; i < len(line) && line[i] >= '0' && line[i] <= '9'; i++ {
		pri = pri*10 + int(line[i]-'0')
	}
	if i == 1 || i >= len(line) || line[i] != '>' {
		return 0, 0, nil, false, false
	}
	rest := line[i+1:]
	if len(rest) == 0 || rest[0] != '[' {
		return pri, 0, rest, true, false
	}
	var sec, us int64
	j, digits := 1, 0
	for ; j < len(rest) && rest[j] == ' '; j++ {
	}
	for ; j < len(rest) && rest[j] >= '0' && rest[j] <= '9'; j++ {
		sec = sec*10 + int64(rest[j]-'0')
	}
	if j >= len(rest) || rest[j] != '.' {
		return 0, 0, nil, false, false
	}
	for j++; j < len(rest) && rest[j] >= '0' && rest[j] <= '9'; j++ {
		us = us*10 + int64(rest[j]-'0')
		digits++
	}
	if j >= len(rest) || rest[j] != ']' || digits != 6 {
		return 0, 0, nil, false, false
	}
	since = time.Duration(sec)*time.Second + time.Duration(us)*time.Microsecond
	return pri, since, bytes.TrimPrefix(rest[j+1:], []byte(" ")), true, true
}

// parseSyslogLine reads "<PRI>[SECONDS.MICROS] TEXT" as a Record; ok is
// false for a line of another form, timed false when it has no time.
func parseSyslogLine(line []byte) (r Record, ok, timed bool) {
	pri, since, text, ok, timed := syslogHead(line)
	if !ok {
		return Record{}, false, false
	}
	return Record{Level: pri & 7, Facility: pri >> 3, Since: since, Message: string(text)}, true, timed
}
