// Package promserver runs a real Prometheus (the Debian package) on
// loopback over history written as OpenMetrics and turned into blocks by
// promtool tsdb create-blocks-from openmetrics, for the tests that read
// usage history. There is no skip: when prometheus or promtool is missing,
// Start fails and says how to get them.
package promserver

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/oomdoctor/oomdoctor/test/procstat"
)

// Server is a running Prometheus.
type Server struct {
	URL string
	Dir string
	cmd *exec.Cmd
	log *os.File
}

// Start backfills the OpenMetrics file om into a new TSDB under dir and
// starts Prometheus over it on a free loopback port.
func Start(ctx context.Context, dir, om string) (*Server, error) {
	for _, bin := range []string{"prometheus", "promtool"} {
		if _, err := exec.LookPath(bin); err != nil {
			return nil, fmt.Errorf("%s is not installed: run make deps (apt-get install -y prometheus)", bin)
		}
	}
	data := filepath.Join(dir, "data")
	if out, err := exec.CommandContext(ctx, "promtool", "tsdb", "create-blocks-from", "openmetrics", om, data).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("promtool tsdb create-blocks-from openmetrics: %v\n%s", err, tail(out))
	}
	return StartDir(ctx, dir, data, "")
}

// StartDir starts Prometheus over the TSDB in data (its config and log
// go into dir), with extra global settings (YAML lines under global:,
// e.g. "query_log_file: /tmp/q.log") and extra flags.
func StartDir(ctx context.Context, dir, data, global string, flags ...string) (*Server, error) {
	cfg := "global:\n  scrape_interval: 1h\n"
	for _, l := range strings.Split(strings.TrimSpace(global), "\n") {
		if l != "" {
			cfg += "  " + l + "\n"
		}
	}
	return start(ctx, dir, data, cfg, flags)
}

// StartScraping starts Prometheus with an empty TSDB under dir, scraping
// the targets of scrapeConfigs (the YAML list under scrape_configs:) every
// interval, and evaluating the rule files given (their contents) as often.
func StartScraping(ctx context.Context, dir string, interval time.Duration, scrapeConfigs string, rules ...string) (*Server, error) {
	cfg := fmt.Sprintf("global:\n  scrape_interval: %s\n  scrape_timeout: %s\n  evaluation_interval: %s\n", interval, interval, interval)
	if len(rules) > 0 {
		cfg += "rule_files:\n"
	}
	for i, r := range rules {
		path := filepath.Join(dir, fmt.Sprintf("rules-%d.yml", i))
		if err := os.WriteFile(path, []byte(r), 0o644); err != nil {
			return nil, err
		}
		cfg += fmt.Sprintf("  - %s\n", path)
	}
	cfg += "scrape_configs:\n" + scrapeConfigs + "\n"
	return start(ctx, dir, filepath.Join(dir, "data"), cfg, nil)
}

// Alert is one alert of Prometheus' /api/v1/alerts.
type Alert struct {
	Labels map[string]string `json:"labels"`
	State  string            `json:"state"`
	Value  string            `json:"value"`
}

// Alerts lists the pending and firing alerts.
func (s *Server) Alerts() ([]Alert, error) {
	resp, err := http.Get(s.URL + "/api/v1/alerts")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var r struct {
		Data struct {
			Alerts []Alert `json:"alerts"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return nil, fmt.Errorf("/api/v1/alerts: %v", err)
	}
	return r.Data.Alerts, nil
}

func start(ctx context.Context, dir, data, cfg string, flags []string) (*Server, error) {
	if _, err := exec.LookPath("prometheus"); err != nil {
		return nil, fmt.Errorf("prometheus is not installed: run make deps (apt-get install -y prometheus)")
	}
	conf := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(conf, []byte(cfg), 0o644); err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	logf, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		return nil, err
	}
	args := []string{"--config.file=" + conf, "--storage.tsdb.path=" + data, "--web.listen-address=" + addr, "--log.level=warn", "--query.timeout=2m"}
	if !strings.Contains(strings.Join(flags, " "), "--storage.tsdb.retention.time") {
		args = append(args, "--storage.tsdb.retention.time=3650d")
	}
	args = append(args, flags...)
	cmd := exec.Command("prometheus", args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("starting prometheus: %v", err)
	}
	s := &Server{URL: "http://" + addr, Dir: dir, cmd: cmd, log: logf}
	deadline := time.Now().Add(90 * time.Second)
	for {
		resp, err := http.Get(s.URL + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s, nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			s.Stop()
			b, _ := os.ReadFile(logf.Name())
			return nil, fmt.Errorf("prometheus did not get ready on %s within 90s:\n%s", addr, tail(b))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Stop stops Prometheus.
func (s *Server) Stop() {
	if s.cmd.Process != nil {
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = s.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	}
	s.log.Close()
}

// Status reads Prometheus' memory figures from /proc/PID/status
// (VmRSS:, VmHWM:, RssAnon:, RssFile: ...), in bytes.
func (s *Server) Status() (map[string]int64, error) { return procstat.Status(s.cmd.Process.Pid) }

func tail(b []byte) string {
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// Writer writes OpenMetrics as promtool reads it: every sample of a
// metric family together, each series in time order, then # EOF.
type Writer struct {
	w        *bufio.Writer
	families map[string]bool
	cur      string
	err      error
}

// NewWriter writes to w.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: bufio.NewWriterSize(w, 1<<20), families: map[string]bool{}}
}

// Labels are a series' labels.
type Labels map[string]string

func (l Labels) String() string {
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k)
		b.WriteString(`="`)
		b.WriteString(strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(l[k]))
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

// Family starts a metric family; its series follow. A family cannot come
// back once another has started.
func (w *Writer) Family(name string) {
	if w.err != nil {
		return
	}
	if w.families[name] {
		w.err = fmt.Errorf("metric family %s written twice: OpenMetrics wants its samples together", name)
		return
	}
	w.families[name] = true
	w.cur = name
	_, w.err = fmt.Fprintf(w.w, "# TYPE %s gauge\n", name)
}

// Sample writes one sample of the current family at t (unix seconds).
func (w *Writer) Sample(l Labels, v float64, t int64) {
	if w.err != nil {
		return
	}
	_, w.err = fmt.Fprintf(w.w, "%s%s %s %d\n", w.cur, l, strconv.FormatFloat(v, 'g', -1, 64), t)
}

// SampleLabels writes a sample with labels already rendered by
// Labels.String (for speed in big backfills).
func (w *Writer) SampleLabels(l string, v float64, t int64) {
	if w.err != nil {
		return
	}
	w.w.WriteString(w.cur)
	w.w.WriteString(l)
	w.w.WriteByte(' ')
	w.w.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
	w.w.WriteByte(' ')
	w.w.WriteString(strconv.FormatInt(t, 10))
	_, w.err = w.w.WriteString("\n")
}

// Close writes # EOF and flushes.
func (w *Writer) Close() error {
	if w.err != nil {
		return w.err
	}
	if _, err := w.w.WriteString("# EOF\n"); err != nil {
		return err
	}
	return w.w.Flush()
}
