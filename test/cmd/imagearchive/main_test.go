package main

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The agent's Dockerfile builds into a docker-archive whose manifest
// names the tag, whose config runs the agent as the Dockerfile says, and
// whose one layer holds the binary given; a Dockerfile it cannot build
// leaves what was there.
func TestAgentDockerfileArchive(t *testing.T) {
	dir := t.TempDir()
	ctx := filepath.Join(dir, "ctx")
	if err := os.MkdirAll(filepath.Join(ctx, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	agent := []byte("#!not really an agent\n")
	if err := os.WriteFile(filepath.Join(ctx, "bin", "oomdoctor-agent"), agent, 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "agent.tar")
	if err := run("../../../Dockerfile", ctx, "oomdoctor/oomdoctor-agent:t1", out); err != nil {
		t.Fatal(err)
	}
	files := untar(t, mustRead(t, out))
	var manifest []struct {
		Config   string
		RepoTags []string
		Layers   []string
	}
	if err := json.Unmarshal(files["manifest.json"], &manifest); err != nil || len(manifest) != 1 {
		t.Fatalf("manifest.json: %v %s", err, files["manifest.json"])
	}
	m := manifest[0]
	if len(m.RepoTags) != 1 || m.RepoTags[0] != "oomdoctor/oomdoctor-agent:t1" || len(m.Layers) != 1 {
		t.Fatalf("manifest: %+v", m)
	}
	var config struct {
		OS     string
		Config struct {
			Entrypoint []string
			User       string
		}
	}
	if err := json.Unmarshal(files[m.Config], &config); err != nil {
		t.Fatal(err)
	}
	if config.OS != "linux" || strings.Join(config.Config.Entrypoint, " ") != "/oomdoctor-agent" || config.Config.User != "0" {
		t.Errorf("config: %+v", config)
	}
	layer := untar(t, files[m.Layers[0]])
	if !bytes.Equal(layer["oomdoctor-agent"], agent) {
		t.Errorf("the layer's files: %v", keys(layer))
	}
	if st, err := os.Stat(out); err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("the tarball's mode: %v %v", st.Mode(), err)
	}

	// A Dockerfile this cannot build: an error, and the tarball stays.
	bad := filepath.Join(dir, "Dockerfile.bad")
	if err := os.WriteFile(bad, []byte("FROM debian:stable\nENTRYPOINT [\"/x\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	before := mustRead(t, out)
	if err := run(bad, ctx, "x:y", out); err == nil || !strings.Contains(err.Error(), "only scratch") {
		t.Errorf("FROM debian: %v", err)
	}
	if !bytes.Equal(mustRead(t, out), before) {
		t.Error("a failed build changed the tarball")
	}
	if err := run("../../../Dockerfile", ctx, "", out); err == nil {
		t.Error("no tag: no error")
	}
	left, _ := filepath.Glob(filepath.Join(dir, ".imagearchive-*"))
	if len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func untar(t *testing.T, b []byte) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[h.Name] = data
	}
}

func keys(m map[string][]byte) []string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	return k
}
