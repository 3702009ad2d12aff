package cli

import (
	"debug/elf"
	"debug/macho"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// TestEveryReleasePlatformBuilds builds oomdoctor for every platform make
// dist archives (the Makefile's PLATFORMS) but this one, as make dist
// does, and checks
// each file is an executable of that system and processor, and that the
// krew manifest offers exactly those platforms. A package that calls what
// only Linux has, outside a file built for Linux alone, breaks the macOS
// builds; the test machine cannot run them, but it can build them.
func TestEveryReleasePlatformBuilds(t *testing.T) {
	mk, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^PLATFORMS :?= (.+)$`).FindSubmatch(mk)
	if m == nil {
		t.Fatal("no PLATFORMS := line in the Makefile")
	}
	platforms := strings.Fields(string(m[1]))
	var offered []string
	for _, pl := range renderKrew(t, "v1.2.3").Spec.Platforms {
		offered = append(offered, pl.Selector.MatchLabels["os"]+"/"+pl.Selector.MatchLabels["arch"])
	}
	if !slices.Equal(slices.Sorted(slices.Values(platforms)), slices.Sorted(slices.Values(offered))) {
		t.Errorf("make dist builds %v, the krew manifest offers %v", platforms, offered)
	}
	if !slices.Contains(platforms, "darwin/arm64") || !slices.Contains(platforms, "linux/amd64") {
		t.Errorf("PLATFORMS %v leaves out macOS on arm64 or Linux on amd64", platforms)
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("no go command on PATH to build with: %v", err)
	}
	dir := t.TempDir()
	for _, p := range platforms {
		if p == runtime.GOOS+"/"+runtime.GOARCH {
			continue // every other test builds it
		}
		osName, arch, _ := strings.Cut(p, "/")
		bin := filepath.Join(dir, "kubectl-oomdoctor-"+osName+"-"+arch)
		build := exec.Command(goTool, "build", "-trimpath", "-o", bin, "./cmd/oomdoctor")
		build.Dir = "../.."
		build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+osName, "GOARCH="+arch)
		if out, err := build.CombinedOutput(); err != nil {
			t.Errorf("%s: go build: %v\n%s", p, err, out)
			continue
		}
		if got := binaryPlatform(t, bin); got != p {
			t.Errorf("built for %s, the file is for %s", p, got)
		}
	}
}

// binaryPlatform reads what system and processor an executable is for.
func binaryPlatform(t *testing.T, path string) string {
	t.Helper()
	if f, err := elf.Open(path); err == nil {
		defer f.Close()
		arch := map[elf.Machine]string{elf.EM_X86_64: "amd64", elf.EM_AARCH64: "arm64"}[f.Machine]
		if f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN {
			return "linux/not-an-executable"
		}
		return "linux/" + arch
	}
	if f, err := macho.Open(path); err == nil {
		defer f.Close()
		arch := map[macho.Cpu]string{macho.CpuAmd64: "amd64", macho.CpuArm64: "arm64"}[f.Cpu]
		if f.Type != macho.TypeExec {
			return "darwin/not-an-executable"
		}
		return "darwin/" + arch
	}
	return "unknown"
}
