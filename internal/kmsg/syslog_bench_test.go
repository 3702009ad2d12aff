//go:build linux

package kmsg

import (
	"testing"

	"golang.org/x/sys/unix"
)

// What one read of the kernel log through syslog(2) costs the agent: the
// system call and the parsing of what is new, against the bare system call
// (the baseline, in the same run). Needs CAP_SYSLOG (root).
//
//	go test ./internal/kmsg -run XXX -bench Syslog
func BenchmarkSyslogBareCall(b *testing.B) {
	size, err := unix.Klogctl(unix.SYSLOG_ACTION_SIZE_BUFFER, nil)
	if err != nil {
		b.Fatalf("syslog(2): %v (the benchmark needs CAP_SYSLOG)", err)
	}
	buf := make([]byte, size)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := unix.Klogctl(unix.SYSLOG_ACTION_READ_ALL, buf); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSyslogRead(b *testing.B) {
	r, err := OpenSyslog(true, 0)
	if err != nil {
		b.Fatal(err)
	}
	s := r.sys
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := s.poll(false); err != nil {
			b.Fatal(err)
		}
		s.queue = s.queue[:0]
	}
}
