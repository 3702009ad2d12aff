#!/usr/bin/env bash
# build.sh OUTDIR: builds the Kubernetes binaries the tests run, with the real
# version stamped in (otherwise clients see v0.0.0-master). The Go build cache
# makes a second run take seconds.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: build.sh OUTDIR}
mkdir -p "$out"
cd "$here"
ver=$(go list -m -f '{{.Version}}' k8s.io/kubernetes)
minor=$(echo "$ver" | cut -d. -f2)
pkg=k8s.io/component-base/version
ldflags="-s -w -X $pkg.gitVersion=$ver -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
bins=${BINS:-kube-apiserver kubectl kube-controller-manager kube-scheduler kubelet}
for b in $bins; do
	if [ -x "$out/$b" ] && [ "$out/$b" -nt go.mod ] && [ "$out/$b" -nt build.sh ]; then
		continue
	fi
	echo "building $b $ver" >&2
	CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$out/$b.tmp" "k8s.io/kubernetes/cmd/$b"
	mv "$out/$b.tmp" "$out/$b"
done
