package cluster

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
)

// TestImage is the image of test/testapp that test nodes import: pods run
// it with arguments to use memory, and containerd runs it without
// arguments as the pod sandbox.
const TestImage = "docker.io/oomdoctor/testapp:e2e"

// Image is what a one-layer image holds: its files by path (no leading
// slash; a path ending in / is a folder) and the config the runtime reads.
type Image struct {
	Tag        string
	Files      map[string][]byte
	Entrypoint []string
	Env        []string
	User       string
}

// buildTestImage compiles test/testapp as a static binary and packs it as
// a docker-archive tarball (manifest.json, config, one layer) in dir.
func buildTestImage(dir string) (string, error) {
	exe, err := BuildStatic(dir, "testapp", "github.com/oomdoctor/oomdoctor/test/testapp")
	if err != nil {
		return "", fmt.Errorf("building the test image's program: %w", err)
	}
	return Image{
		Tag:        TestImage,
		Files:      map[string][]byte{"tmp/": nil, "etc/": nil, "proc/": nil, "sys/": nil, "dev/": nil, "testapp": exe},
		Entrypoint: []string{"/testapp"},
		Env:        []string{"PATH=/"},
	}.Write(filepath.Join(dir, "testapp-image.tar"))
}

// BuildStatic compiles pkg (an import path of this module) without cgo
// into dir/name and returns the executable, extra flags before the package
// (for example -ldflags).
func BuildStatic(dir, name, pkg string, flags ...string) ([]byte, error) {
	_, here, _, _ := runtime.Caller(0)
	bin := filepath.Join(dir, name)
	args := append(append([]string{"build", "-trimpath", "-o", bin}, flags...), pkg)
	cmd := exec.Command("go", args...)
	cmd.Dir = filepath.Dir(here)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return os.ReadFile(bin)
}

// Write packs the image as a docker-archive tarball at path, as `ctr
// images import` takes it, and returns path.
func (im Image) Write(path string) (string, error) {
	var layer bytes.Buffer
	tw := tar.NewWriter(&layer)
	names := make([]string, 0, len(im.Files))
	for name := range im.Files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		h := &tar.Header{Name: name, Mode: 0o755, Typeflag: tar.TypeDir}
		if !strings.HasSuffix(name, "/") {
			h = &tar.Header{Name: name, Mode: 0o755, Size: int64(len(im.Files[name])), Typeflag: tar.TypeReg}
		}
		if err := tw.WriteHeader(h); err != nil {
			return "", err
		}
		if _, err := tw.Write(im.Files[name]); err != nil {
			return "", err
		}
	}
	if err := tw.Close(); err != nil {
		return "", err
	}
	layerSum := sha256.Sum256(layer.Bytes())
	cfg := map[string]any{"Entrypoint": im.Entrypoint, "Env": im.Env}
	if im.User != "" {
		cfg["User"] = im.User
	}
	config, err := json.Marshal(map[string]any{
		"architecture": runtime.GOARCH,
		"os":           "linux",
		"config":       cfg,
		"rootfs":       map[string]any{"type": "layers", "diff_ids": []string{"sha256:" + hex.EncodeToString(layerSum[:])}},
	})
	if err != nil {
		return "", err
	}
	configSum := sha256.Sum256(config)
	configName := hex.EncodeToString(configSum[:]) + ".json"
	manifest, err := json.Marshal([]map[string]any{{
		"Config": configName, "RepoTags": []string{im.Tag}, "Layers": []string{"layer.tar"},
	}})
	if err != nil {
		return "", err
	}

	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	out := tar.NewWriter(f)
	for _, e := range []struct {
		name string
		data []byte
	}{{"layer.tar", layer.Bytes()}, {configName, config}, {"manifest.json", manifest}} {
		if err := out.WriteHeader(&tar.Header{Name: e.name, Mode: 0o644, Size: int64(len(e.data)), Typeflag: tar.TypeReg}); err != nil {
			return "", err
		}
		if _, err := out.Write(e.data); err != nil {
			return "", err
		}
	}
	if err := out.Close(); err != nil {
		return "", err
	}
	return path, f.Close()
}

// FromDockerfile reads a Dockerfile that builds on scratch (FROM scratch,
// COPY, USER, ENTRYPOINT in exec form; comments) as an Image: COPY's
// sources are read from contextDir. Any other instruction is an error, so
// that a Dockerfile this cannot build is not tested as something else.
func FromDockerfile(path, contextDir, tag string) (Image, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Image{}, err
	}
	im := Image{Tag: tag, Files: map[string][]byte{}}
	from := false
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		instr, rest, _ := strings.Cut(line, " ")
		rest = strings.TrimSpace(rest)
		where := fmt.Sprintf("%s:%d", path, i+1)
		switch strings.ToUpper(instr) {
		case "FROM":
			if rest != "scratch" {
				return Image{}, fmt.Errorf("%s: FROM %s: only scratch can be built here (no registry)", where, rest)
			}
			from = true
		case "COPY":
			f := strings.Fields(rest)
			if len(f) != 2 || strings.HasPrefix(f[0], "--") {
				return Image{}, fmt.Errorf("%s: COPY %s: want COPY SOURCE DEST", where, rest)
			}
			b, err := os.ReadFile(filepath.Join(contextDir, f[0]))
			if err != nil {
				return Image{}, fmt.Errorf("%s: %w", where, err)
			}
			im.Files[strings.TrimPrefix(f[1], "/")] = b
		case "USER":
			im.User = rest
		case "ENTRYPOINT":
			if err := json.Unmarshal([]byte(rest), &im.Entrypoint); err != nil {
				return Image{}, fmt.Errorf("%s: ENTRYPOINT %s: want the exec form [\"...\"]: %v", where, rest, err)
			}
		default:
			return Image{}, fmt.Errorf("%s: %s is not an instruction this test builds", where, instr)
		}
	}
	if !from || len(im.Entrypoint) == 0 {
		return Image{}, fmt.Errorf("%s: want FROM scratch and an ENTRYPOINT", path)
	}
	return im, nil
}

// ImportImage imports a docker-archive tarball into the node's containerd,
// where the kubelet finds it (pods then need no pull).
func (n *Node) ImportImage(path string) error {
	imp := exec.Command(n.ctr, "--address", n.containerdSock, "--namespace", "k8s.io", "images", "import", path)
	if out, err := imp.CombinedOutput(); err != nil {
		return fmt.Errorf("importing %s into containerd: %v\n%s", path, err, out)
	}
	return nil
}
