// Command lint benchmarks `oomdoctor lint` on a generated corpus of
// Deployments, in one file and split into one file each, against a baseline
// in the same run: a pass that only parses the same YAML into nodes (the
// least any linter that reports positions must do). It reports resources
// per CPU-second (user+sys of the process), peak RSS, and the ratio of
// lint's CPU time to the baseline's.
//
//	go run ./bench/lint -n 20000
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	yaml "go.yaml.in/yaml/v3"
)

func main() {
	n := flag.Int("n", 20000, "Deployments in the corpus")
	runs := flag.Int("runs", 3, "timed runs of each command (the best is kept)")
	parseOnly := flag.String("parse-only", "", "internal: parse these files into YAML nodes and exit")
	flag.Parse()
	if *parseOnly != "" {
		if err := parse(strings.Split(*parseOnly, ",")); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	if err := run(*n, *runs); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// parse is the baseline: read every document of every file into nodes.
func parse(files []string) error {
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil && fi.IsDir() {
			entries, _ := os.ReadDir(f)
			var sub []string
			for _, e := range entries {
				sub = append(sub, filepath.Join(f, e.Name()))
			}
			if err := parse(sub); err != nil {
				return err
			}
			continue
		}
		fh, err := os.Open(f)
		if err != nil {
			return err
		}
		dec := yaml.NewDecoder(bufio.NewReaderSize(fh, 64<<10))
		for {
			var n yaml.Node
			if err := dec.Decode(&n); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				fh.Close()
				return err
			}
		}
		fh.Close()
	}
	return nil
}

type sample struct {
	wall, cpu time.Duration
	rssKB     int64
	exit      int
}

func measure(argv ...string) (sample, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	code := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			return sample{}, err
		}
		code = ee.ExitCode()
		if code != 1 {
			return sample{}, fmt.Errorf("%s: %v\n%s", strings.Join(argv, " "), err, stderr.String())
		}
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return sample{wall: wall, cpu: cpu, rssKB: ru.Maxrss, exit: code}, nil
}

func best(argv []string, runs int) (sample, error) {
	var b sample
	for i := 0; i < runs; i++ {
		s, err := measure(argv...)
		if err != nil {
			return s, err
		}
		if i == 0 || s.cpu < b.cpu {
			b = s
		}
	}
	return b, nil
}

func run(n, runs int) error {
	tmp, err := os.MkdirTemp("", "oomdoctor-lint-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "oomdoctor")
	self := filepath.Join(tmp, "parse")
	for _, b := range [][]string{{"-o", bin, "./cmd/oomdoctor"}, {"-o", self, "./bench/lint"}} {
		cmd := exec.Command("go", append([]string{"build"}, b...)...)
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("building (run from the repository root): %w", err)
		}
	}
	one := filepath.Join(tmp, "corpus.yaml")
	split := filepath.Join(tmp, "split")
	size, err := writeCorpus(one, split, n)
	if err != nil {
		return err
	}
	fmt.Printf("corpus: %d Deployments, %.1f MiB, in one file and in %d files\n\n", n, float64(size)/(1<<20), n)
	fmt.Println("| input | command | CPU time | resources per CPU-second | peak RSS | CPU vs parse-only |")
	fmt.Println("|---|---|---|---|---|---|")
	for _, in := range []struct{ name, path string }{{"one file", one}, {"one file each", split}} {
		base, err := best([]string{self, "-parse-only", in.path}, runs)
		if err != nil {
			return err
		}
		l, err := best([]string{bin, "lint", "-f", in.path, "-o", "json"}, runs)
		if err != nil {
			return err
		}
		for _, r := range []struct {
			name string
			s    sample
		}{{"parse only (yaml.v3 nodes)", base}, {"oomdoctor lint -o json", l}} {
			fmt.Printf("| %s | %s | %.2f s | %.0f | %d MiB | %.2f |\n", in.name, r.name, r.s.cpu.Seconds(),
				float64(n)/r.s.cpu.Seconds(), r.s.rssKB/1024, r.s.cpu.Seconds()/base.cpu.Seconds())
		}
	}
	return nil
}
