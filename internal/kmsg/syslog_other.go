//go:build !linux

package kmsg

import (
	"fmt"
	"runtime"
	"time"
)

// OpenSyslog reads the kernel log through syslog(2), which is Linux's
// alone.
func OpenSyslog(fromEnd bool, every time.Duration) (*Reader, error) {
	return nil, fmt.Errorf("the kernel log is read on Linux alone, and this is %s: run this on a Linux machine or node", runtime.GOOS)
}
