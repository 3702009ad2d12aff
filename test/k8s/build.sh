#!/usr/bin/env bash
# build.sh OUTDIR: builds the Kubernetes binaries the tests run (kube-apiserver,
# kubectl, kube-controller-manager, kube-scheduler, kubelet) from the
# k8s.io/kubernetes module named in go.mod, with the real version stamped in
# (otherwise clients see v0.0.0-master). A stamp of go.mod, go.sum and this
# script in OUTDIR skips the build when nothing changed; the Go build cache
# makes a rebuild after a fresh clone a matter of linking.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: build.sh OUTDIR}
mkdir -p "$out"
cd "$here"
bins=${BINS:-kube-apiserver kubectl kube-controller-manager kube-scheduler kubelet}
stamp=$(cat go.mod go.sum build.sh | sha256sum | cut -d' ' -f1)
fresh=1
for b in $bins; do [ -x "$out/$b" ] || fresh=0; done
if [ "$fresh" = 1 ] && [ "$(cat "$out/.stamp" 2>/dev/null)" = "$stamp" ]; then
	exit 0
fi
ver=$(go list -m -f '{{.Version}}' k8s.io/kubernetes)
minor=$(echo "$ver" | cut -d. -f2)
pkg=k8s.io/component-base/version
ldflags="-s -w -X $pkg.gitVersion=$ver -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
for b in $bins; do
	echo "building $b $ver into $out (about 10 minutes for all of them the first time, seconds once cached)" >&2
	CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$out/$b.tmp" "k8s.io/kubernetes/cmd/$b"
	mv "$out/$b.tmp" "$out/$b"
done
echo "$stamp" > "$out/.stamp"
