package main

import (
	"os"
	"strings"
	"testing"
)

// The README's table of the families is what the benchmark prints.
func TestReadmeTable(t *testing.T) {
	var b strings.Builder
	if err := run(&b, 1, 60, ""); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	table := strings.Join(lines[2:], "\n") // after the heading line and a blank one
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), table+"\n") {
		t.Errorf("the README's families table is not what make bench-families prints now:\n%s", table)
	}
}
