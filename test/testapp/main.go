// Command testapp is the program inside the end-to-end test image: it uses
// memory in the ways that get containers killed, so the kubelet, containerd
// and the kernel can be watched doing it for real.
//
// With no arguments it sleeps forever, which makes the same image the pod
// sandbox ("pause") image. Otherwise:
//
//	testapp -alloc 200 -pace 50         allocate 200 MiB at 50 MiB/s, then hold it
//	testapp -alloc 20 -leak 10          allocate 20 MiB, then 10 MiB more every second
//	testapp -child 200                  run a child process that allocates 200 MiB; survive its death
//	testapp -tmpfs /scratch -tmpfs-mib 100   write 100 MiB into a file on a tmpfs
//	testapp -ignore-sigterm             let only SIGKILL stop it (exit code 137)
//	testapp -exit 0                     exit at once with this code (for exec probes)
//	testapp -refuse-after 32 -alloc 200  let the system refuse memory 32 MiB on (RLIMIT_AS),
//	                                    so the Go runtime itself dies "out of memory" (exit code 2)
//	testapp -goroutines 50 ...           park 50 goroutines first (a crash prints all their stacks)
//
// With GOMEMLIMIT set, it first prints the memory limit the Go runtime took.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"time"
)

const mib = 1 << 20

func main() {
	alloc := flag.Int("alloc", 0, "MiB to allocate and touch")
	pace := flag.Int("pace", 0, "MiB per second while allocating; 0 allocates at once")
	leak := flag.Int("leak", 0, "after -alloc, MiB more to allocate every second, forever")
	child := flag.Int("child", 0, "MiB a child process allocates; the parent survives its death")
	tmpfs := flag.String("tmpfs", "", "folder (a memory-backed emptyDir) to write a file into")
	tmpfsMiB := flag.Int("tmpfs-mib", 0, "MiB to write into -tmpfs")
	ignoreTerm := flag.Bool("ignore-sigterm", false, "ignore SIGTERM")
	exit := flag.Int("exit", -1, "exit at once with this code")
	refuseAfter := flag.Int("refuse-after", 0, "MiB of address space more than now that the system grants (RLIMIT_AS); 0: no limit")
	goroutines := flag.Int("goroutines", 0, "goroutines to park before anything else")
	flag.Parse()
	if *exit >= 0 {
		os.Exit(*exit)
	}
	for range *goroutines {
		go func() { select {} }()
	}
	if *refuseAfter > 0 {
		if err := limitAddressSpace(*refuseAfter); err != nil {
			fmt.Fprintln(os.Stderr, "testapp:", err)
			os.Exit(1)
		}
	}
	if *ignoreTerm {
		signal.Ignore(syscall.SIGTERM)
	}
	if v := os.Getenv("GOMEMLIMIT"); v != "" {
		// What the Go runtime took from it, for the tests to read in the
		// container's log.
		fmt.Printf("GOMEMLIMIT %s: the Go runtime's memory limit is %d bytes\n", v, debug.SetMemoryLimit(-1))
	}
	var held [][]byte
	grab := func(n int) {
		for i := 0; i < n; i++ {
			b := make([]byte, mib)
			for j := 0; j < len(b); j += 4096 {
				b[j] = 1
			}
			held = append(held, b)
			if *pace > 0 {
				time.Sleep(time.Second / time.Duration(*pace))
			}
		}
		fmt.Printf("holding %d MiB\n", len(held))
	}
	if *alloc > 0 {
		grab(*alloc)
	}
	if *tmpfs != "" {
		if err := fill(filepath.Join(*tmpfs, "fill"), *tmpfsMiB, *pace); err != nil {
			fmt.Fprintln(os.Stderr, "testapp:", err)
			os.Exit(1)
		}
	}
	if *child > 0 {
		cmd := exec.Command("/proc/self/exe", "-alloc", fmt.Sprint(*child), "-pace", fmt.Sprint(*pace))
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		err := cmd.Run()
		fmt.Printf("child ended: %v; the parent goes on\n", err)
	}
	for {
		if *leak > 0 {
			grab(*leak)
		}
		time.Sleep(time.Second)
	}
}

// limitAddressSpace lets the process map n MiB more than it has mapped
// now: past that, mmap fails, as under a ulimit -v or a node with
// vm.overcommit_memory=2, and the Go runtime dies of it.
func limitAddressSpace(n int) error {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return err
	}
	var kb uint64
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmSize:"); ok {
			fmt.Sscan(v, &kb)
		}
	}
	if kb == 0 {
		return fmt.Errorf("no VmSize in /proc/self/status")
	}
	lim := kb<<10 + uint64(n)*mib
	return syscall.Setrlimit(syscall.RLIMIT_AS, &syscall.Rlimit{Cur: lim, Max: lim})
}

// fill writes n MiB to a file, at pace MiB/s when pace > 0.
func fill(path string, n, pace int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	buf := make([]byte, mib)
	for i := range buf {
		buf[i] = byte(i)
	}
	for i := 0; i < n; i++ {
		if _, err := f.Write(buf); err != nil {
			return err
		}
		if pace > 0 {
			time.Sleep(time.Second / time.Duration(pace))
		}
	}
	fmt.Printf("wrote %d MiB to %s\n", n, path)
	return nil
}
