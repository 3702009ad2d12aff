// Command imagearchive builds an image from a Dockerfile that builds on
// scratch (the agent's) without a Docker daemon, as a docker-archive
// tarball: `docker load`, `podman load`, `ctr images import` and
// `skopeo copy docker-archive:FILE docker://REGISTRY/...` take it. The e2e
// tests build the agent's image the same way.
//
//	imagearchive -f Dockerfile -context . -t docker.io/oomdoctor/oomdoctor-agent:v1 -o bin/agent-image.tar
//
// `make image-archive` runs it after `make build`.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/oomdoctor/oomdoctor/test/cluster"
)

func main() {
	dockerfile := flag.String("f", "Dockerfile", "the Dockerfile (FROM scratch, COPY, USER, ENTRYPOINT)")
	contextDir := flag.String("context", ".", "the folder COPY reads from")
	tag := flag.String("t", "", "the image's reference, e.g. docker.io/oomdoctor/oomdoctor-agent:v1 (the registry spelled out, as containerd's CRI names images)")
	out := flag.String("o", "", "the tarball to write")
	flag.Parse()
	if err := run(*dockerfile, *contextDir, *tag, *out); err != nil {
		fmt.Fprintln(os.Stderr, "imagearchive:", err)
		os.Exit(1)
	}
}

func run(dockerfile, contextDir, tag, out string) error {
	if tag == "" || out == "" {
		return errors.New("-t NAME:TAG and -o FILE are needed")
	}
	im, err := cluster.FromDockerfile(dockerfile, contextDir, tag)
	if err != nil {
		return err
	}
	// Written beside, then renamed: a failed build leaves no half tarball
	// under the name, nor takes an older one away.
	tmp, err := os.CreateTemp(filepath.Dir(out), ".imagearchive-*.tar")
	if err != nil {
		return err
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	if _, err := im.Write(tmp.Name()); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote %s (%s)\n", out, tag)
	return nil
}
