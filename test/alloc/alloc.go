// Package alloc lets a test (or benchmark) binary double as the allocator
// the OOM tests run in their memory cgroups: started again with Env set to
// N, it allocates N MiB, touching every page, and exits.
package alloc

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

// Env is the variable that turns the binary into the allocator.
const Env = "OOMDOCTOR_ALLOC_MIB"

// IfAsked allocates and exits when Env is set (call it first in TestMain
// or main), holding the memory for hold before it prints how many MiB it
// kept; otherwise it returns at once.
func IfAsked(hold time.Duration) {
	v := os.Getenv(Env)
	if v == "" {
		return
	}
	n, _ := strconv.Atoi(v)
	keep := make([][]byte, 0, n)
	for i := 0; i < n; i++ {
		b := make([]byte, 1<<20)
		for j := 0; j < len(b); j += 4096 {
			b[j] = 1
		}
		keep = append(keep, b)
	}
	time.Sleep(hold)
	fmt.Println(len(keep))
	os.Exit(0)
}

// Argv runs this test binary as an allocator of mib MiB (no test runs).
func Argv(mib int) []string {
	return []string{"/usr/bin/env", fmt.Sprintf("%s=%d", Env, mib), os.Args[0], "-test.run=^$"}
}
