package kmsg

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// OpenSyslog reads the kernel log through syslog(2), every interval and
// at once when poked (Reader.Poke). Each read costs the kernel about a
// millisecond whatever is new (it walks every record of the buffer), so
// the interval is long and a caller that learns of an OOM otherwise (a
// cgroup's notification) pokes. With fromEnd, only records written after
// the call are read.
func OpenSyslog(fromEnd bool, every time.Duration) (*Reader, error) {
	size, err := unix.Klogctl(unix.SYSLOG_ACTION_SIZE_BUFFER, nil)
	if err != nil {
		return nil, fmt.Errorf("reading the kernel log through syslog(2): %w (%s)", err, syslogHint(err))
	}
	s := &syslogSource{every: every, buf: make([]byte, size), poke: make(chan struct{}, 1),
		read: func(buf []byte) (int, error) { return unix.Klogctl(unix.SYSLOG_ACTION_READ_ALL, buf) }}
	if err := s.poll(fromEnd); err != nil {
		return nil, err
	}
	return &Reader{sys: s}, nil
}
