package nodecheck

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

var semverRe = regexp.MustCompile(`(\d+)\.(\d+)\.(\d+)(?:-rc\.?(\d+))?`)

// semver is a version with an optional release candidate number (0: none).
type semver struct{ major, minor, patch, rc int }

func parseSemver(s string) (semver, bool) {
	m := semverRe.FindStringSubmatch(s)
	if m == nil {
		return semver{}, false
	}
	var v semver
	v.major, _ = strconv.Atoi(m[1])
	v.minor, _ = strconv.Atoi(m[2])
	v.patch, _ = strconv.Atoi(m[3])
	if m[4] != "" {
		v.rc, _ = strconv.Atoi(m[4])
	}
	return v, true
}

// less orders versions; a release candidate comes before its release.
func (a semver) less(b semver) bool {
	if a.major != b.major {
		return a.major < b.major
	}
	if a.minor != b.minor {
		return a.minor < b.minor
	}
	if a.patch != b.patch {
		return a.patch < b.patch
	}
	ar, br := a.rc, b.rc
	if ar == 0 {
		ar = 1 << 30
	}
	if br == 0 {
		br = 1 << 30
	}
	return ar < br
}

func (a semver) String() string {
	s := fmt.Sprintf("%d.%d.%d", a.major, a.minor, a.patch)
	if a.rc > 0 {
		s += fmt.Sprintf("-rc%d", a.rc)
	}
	return s
}

// runtimes and the least version Kubernetes' cgroup v2 support needs.
var runtimes = []struct {
	program string
	v2      semver
	kind    string
}{
	{"containerd", semver{1, 4, 0, 0}, "CRI runtime"},
	{"crio", semver{1, 20, 0, 0}, "CRI runtime"},
	{"runc", semver{1, 0, 0, 91}, "OCI runtime"},
	{"crun", semver{0, 0, 0, 0}, "OCI runtime"},
}

// HostVersion runs program --version from the usual folders under root.
func HostVersion(root string) func(string) (string, error) {
	return func(program string) (string, error) {
		for _, dir := range []string{"/usr/bin", "/usr/local/bin", "/usr/sbin", "/bin", "/usr/local/sbin"} {
			p := filepath.Join(root, dir, program)
			if _, err := exec.LookPath(p); err != nil {
				continue
			}
			out, err := exec.Command(p, "--version").CombinedOutput()
			if err != nil {
				return "", fmt.Errorf("%s --version: %v", p, err)
			}
			return string(out), nil
		}
		return "", fmt.Errorf("%s not found", program)
	}
}

func init() {
	registerLocal("container-runtime", func(l *local) []Result {
		if l.Version == nil {
			return nil
		}
		var out []Result
		for _, rt := range runtimes {
			text, err := l.Version(rt.program)
			if err != nil {
				continue
			}
			line := firstLine(strings.TrimSpace(text))
			v, ok := parseSemver(text)
			r := Result{ID: "container-runtime", Status: Pass, Evidence: []string{rt.program + " --version: " + line}}
			if !ok {
				r.Status, r.Summary = Info, rt.program+" (version not understood)"
				out = append(out, r)
				continue
			}
			r.Summary = fmt.Sprintf("%s %s (%s)", rt.program, v, rt.kind)
			if l.cgroupVersion == 2 && v.less(rt.v2) {
				r.Status = Fail
				r.Advice = fmt.Sprintf("Kubernetes on cgroup v2 needs %s %s or later: upgrade it.", rt.program, rt.v2)
			}
			if rt.program == "containerd" && r.Status == Pass {
				r.Status = Info
				r.Advice = "containerd had a race in which a container's exit beat its OOM event, so an OOM kill was reported as Error with exit code 137 (containerd issues 8180 and 12260, fixed by PR 12714 in December 2025). With an older release, cross-check Error+137 with the oomdoctor agent's kernel counts."
			}
			out = append(out, r)
		}
		if len(out) == 0 {
			out = append(out, Result{ID: "container-runtime", Status: Info, Summary: "no container runtime found",
				Evidence: []string{"none of containerd, crio, runc, crun under " + l.Root + "{/usr/bin,/usr/local/bin,/usr/sbin,/bin}"}})
		}
		return out
	})
}
