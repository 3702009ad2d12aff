package cli

import (
	"os"
	"strings"
	"testing"
)

// The README's sample outputs (a "$ oomdoctor ..." line in a code block,
// then what it prints) are what the commands print today.
func TestReadmeSampleOutputs(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	found := 0
	for i, l := range lines {
		cmd, ok := strings.CutPrefix(l, "$ oomdoctor ")
		if !ok {
			continue
		}
		found++
		cmd, _, _ = strings.Cut(cmd, "#")
		args := strings.Fields(cmd)
		for j, a := range args {
			if strings.HasPrefix(a, "examples/") || strings.HasPrefix(a, "internal/") {
				args[j] = "../../" + a
			}
		}
		var want []string
		for _, w := range lines[i+1:] {
			if w == "```" {
				break
			}
			want = append(want, w)
		}
		r := run(args...)
		// The paths the test gave are the README's in what it prints.
		got := strings.NewReplacer("../../examples/", "examples/", "../../internal/", "internal/").Replace(strings.TrimRight(r.stdout, "\n"))
		if r.code != 0 || got != strings.Join(want, "\n") {
			t.Errorf("README line %d, oomdoctor %s: exit %d, prints\n%s\nthe README shows\n%s", i+1, cmd, r.code, got, strings.Join(want, "\n"))
		}
	}
	if found < 2 {
		t.Errorf("found %d sample outputs in the README, want the recommend and replay ones at least", found)
	}
}
