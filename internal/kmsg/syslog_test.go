package kmsg

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestParseSyslogLine(t *testing.T) {
	for line, want := range map[string]Record{
		"<6>[ 2462.763250] memory: usage 32768kB, limit 32768kB, failcnt 82": {Level: 6, Since: 2462763250 * time.Microsecond, Message: "memory: usage 32768kB, limit 32768kB, failcnt 82"},
		"<4>[    0.000001]  try_charge_memcg+0x439/0x700":                    {Level: 4, Since: time.Microsecond, Message: " try_charge_memcg+0x439/0x700"},
		"<30>[12.500000] systemd[1]: started":                                {Level: 6, Facility: 3, Since: 12500 * time.Millisecond, Message: "systemd[1]: started"},
	} {
		r, ok, timed := parseSyslogLine([]byte(line))
		if !ok || !timed || r != want {
			t.Errorf("%q: %+v %v %v, want %+v", line, r, ok, timed, want)
		}
	}
	for _, line := range []string{"", "no prefix", "<x>[1.000000] a", "<6>[1.5] short fraction", "<6>[1.000000 unclosed"} {
		if _, ok, _ := parseSyslogLine([]byte(line)); ok {
			t.Errorf("%q parsed", line)
		}
	}
	untimed := &syslogSource{buf: make([]byte, 100), read: func(buf []byte) (int, error) { return copy(buf, "<6>no time here\n<6>nor here\n"), nil }}
	if err := untimed.poll(false); !errors.Is(err, ErrNoTimestamps) {
		t.Errorf("a log without times: %v", err)
	}
}

// fakeLog is a kernel log buffer of a fixed size the test writes to; read
// returns what is left in it, as SYSLOG_ACTION_READ_ALL does.
type fakeLog struct {
	lines []string
	size  int
}

func (f *fakeLog) printk(us int64, msg string) {
	f.lines = append(f.lines, fmt.Sprintf("<6>[%5d.%06d] %s", us/1e6, us%1e6, msg))
}

func (f *fakeLog) read(buf []byte) (int, error) {
	// The newest whole lines that fit.
	n, first := 0, len(f.lines)
	for first > 0 && n+len(f.lines[first-1])+1 <= min(f.size, len(buf)) {
		first--
		n += len(f.lines[first]) + 1
	}
	return copy(buf, strings.Join(f.lines[first:], "\n")+"\n"), nil
}

func drain(t *testing.T, s *syslogSource) (msgs []string, lost int) {
	t.Helper()
	if err := s.poll(false); err != nil {
		t.Fatal(err)
	}
	if s.lost {
		s.lost = false
		lost++
	}
	for _, r := range s.queue {
		msgs = append(msgs, r.Message)
	}
	s.queue = nil
	return msgs, lost
}

// Records are handed out once each: after the end at the start, in order,
// the ones of the same microsecond too, one stamped before the last one
// read but written after it (two CPUs), those after a clear, and a buffer
// that wrapped past the last record read says records were lost.
func TestSyslogHandsOutEachRecordOnce(t *testing.T) {
	log := &fakeLog{size: 1 << 20}
	log.printk(100, "before the start")
	log.printk(100, "before the start too")
	s := &syslogSource{read: log.read, buf: make([]byte, 1<<20)}
	if err := s.poll(true); err != nil || len(s.queue) != 0 {
		t.Fatalf("from the end: %v %v", err, s.queue)
	}
	log.printk(100, "same microsecond, after the start")
	log.printk(200, "a")
	log.printk(200, "b")
	if got, lost := drain(t, s); !reflect.DeepEqual(got, []string{"same microsecond, after the start", "a", "b"}) || lost != 0 {
		t.Errorf("first poll: %q, lost %d", got, lost)
	}
	if got, _ := drain(t, s); len(got) != 0 {
		t.Errorf("nothing new, yet %q", got)
	}
	log.printk(200, "c")
	log.printk(300, "d")
	if got, _ := drain(t, s); !reflect.DeepEqual(got, []string{"c", "d"}) {
		t.Errorf("second poll: %q", got)
	}
	log.printk(250, "stamped before d, written after it")
	log.printk(300, "d") // the same line again, later
	if got, _ := drain(t, s); !reflect.DeepEqual(got, []string{"stamped before d, written after it", "d"}) {
		t.Errorf("out of time order: %q", got)
	}
	// Cleared (dmesg -c): nothing was lost, and what comes next is new.
	log.lines = nil
	if got, lost := drain(t, s); len(got) != 0 || lost != 0 {
		t.Errorf("after a clear: %q, lost %d", got, lost)
	}
	log.printk(350, "after the clear")
	if got, lost := drain(t, s); !reflect.DeepEqual(got, []string{"after the clear"}) || lost != 0 {
		t.Errorf("after a clear, a new record: %q, lost %d", got, lost)
	}
	// The buffer wraps past everything seen.
	log.size = 40
	for i := 0; i < 5; i++ {
		log.printk(400+int64(i), fmt.Sprintf("burst %d", i))
	}
	before := s.seq
	got, lost := drain(t, s)
	if lost != 1 || len(got) == 0 || got[len(got)-1] != "burst 4" || len(got) == 5 {
		t.Errorf("after a wrap: %q, lost %d", got, lost)
	}
	// The Assembler sees the gap before the records after it.
	if first := s.seq - uint64(len(got)) + 1; first != before+2 {
		t.Errorf("the first record after a wrap has seq %d, want %d (a gap after %d)", first, before+2, before)
	}
}

// The same OOM reports read through syslog(2)'s text: every fixture gives
// the very reports /dev/kmsg's records give.
func TestSyslogTextGivesTheSameReports(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.kmsg")
	if len(files) == 0 {
		t.Fatal("no fixtures")
	}
	for _, path := range files {
		want := replay(t, path)
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		var text strings.Builder
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 64<<10)
		for sc.Scan() {
			rec, err := ParseRecord(sc.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			us := rec.Since.Microseconds()
			fmt.Fprintf(&text, "<%d>[%5d.%06d] %s\n", rec.Facility<<3|rec.Level, us/1e6, us%1e6, rec.Message)
		}
		f.Close()
		src := &syslogSource{buf: make([]byte, text.Len()), read: func(buf []byte) (int, error) { return copy(buf, text.String()), nil }}
		if err := src.poll(false); err != nil {
			t.Fatal(err)
		}
		var a Assembler
		var got []*Report
		for _, rec := range src.queue {
			if r, ok := a.Add(rec); ok {
				got = append(got, r)
			}
		}
		if len(want) == 0 || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %d reports through syslog, %d through /dev/kmsg:\n%+v\n%+v", path, len(got), len(want), got, want)
		}
	}
}

// A poke reads the log at once, whatever the interval.
func TestSyslogPoke(t *testing.T) {
	log := &fakeLog{size: 1 << 20}
	var mu sync.Mutex
	s := &syslogSource{every: time.Hour, poke: make(chan struct{}, 1), buf: make([]byte, 1<<20),
		read: func(buf []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return log.read(buf) }}
	if err := s.poll(true); err != nil {
		t.Fatal(err)
	}
	r := &Reader{sys: s}
	got := make(chan Record, 1)
	go func() {
		rec, err := r.Next()
		if err != nil {
			t.Error(err)
		}
		got <- rec
	}()
	mu.Lock()
	log.printk(500, "Memory cgroup out of memory: Killed process 1 (x)")
	mu.Unlock()
	r.Poke()
	select {
	case rec := <-got:
		if rec.Message != "Memory cgroup out of memory: Killed process 1 (x)" || rec.Since != 500*time.Microsecond {
			t.Errorf("record %+v", rec)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a poke did not read the log")
	}
	r.Close()
}

// A refused syslog(2) says what to do: a missing capability (EPERM) or a
// security module (EACCES, as SELinux refuses), and the device as the way
// around either.
func TestSyslogRefusals(t *testing.T) {
	for err, want := range map[error]string{syscall.EPERM: "it needs CAP_SYSLOG", syscall.EACCES: "a security module (SELinux, AppArmor) refused it"} {
		s := &syslogSource{buf: make([]byte, 10), read: func([]byte) (int, error) { return 0, err }}
		got := s.poll(false)
		if got == nil || !errors.Is(got, err) || !strings.Contains(got.Error(), want) || !strings.Contains(got.Error(), "--kmsg /dev/kmsg") {
			t.Errorf("%v: %v", err, got)
		}
	}
}
