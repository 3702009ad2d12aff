# oomdoctor's build. `make test` is the one command that installs what is
# missing (Debian packages, the Kubernetes binaries the tests run) and passes
# every test; .ci/run calls exactly that.
SHELL := /bin/bash
GO ?= go
K8S_VERSION := v1.36.3
CACHE_DIR := $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/oomdoctor
K8S_BIN ?= $(CACHE_DIR)/k8s-$(K8S_VERSION)
export OOMDOCTOR_K8S_BIN := $(K8S_BIN)
# The SARIF 2.1.0 schema lint's SARIF output is validated against, from the
# npm registry.
SARIF_SCHEMA := $(CACHE_DIR)/sarif-2.1.0-rtm.5.json
export OOMDOCTOR_SARIF_SCHEMA := $(SARIF_SCHEMA)
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo v0.0.0-dev)
LDFLAGS := -X github.com/oomdoctor/oomdoctor/internal/version.Version=$(VERSION)
# Debian packages the tests need: etcd for the API server harness;
# containerd, runc and the CNI plugins for the one-node cluster; the JDK for
# the JVM tests; Prometheus and promtool for the usage-history tests;
# Chromium (headless) for the HTML report test.
APT_PACKAGES := etcd-server containerd runc containernetworking-plugins openjdk-17-jdk-headless prometheus chromium gcc iproute2 pre-commit git
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
# helm, built from the Go module proxy once, for the chart's tests.
HELM_VERSION := v3.22.0
HELM ?= $(CACHE_DIR)/bin/helm-$(HELM_VERSION)
export OOMDOCTOR_HELM := $(HELM)

PLATFORMS := linux/amd64 linux/arm64 darwin/amd64 darwin/arm64

.PHONY: all build install dist test unit integration e2e deps apt k8s-bins sarif-schema helm manifests image lint examples bench bench-scan bench-lint bench-fix bench-agent bench-prometheus bench-diagnose bench-families bench-bounds cluster-up cluster-down clean image-archive

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/oomdoctor ./cmd/oomdoctor
	cp bin/oomdoctor bin/kubectl-oomdoctor
	ln -sf kubectl-oomdoctor bin/kubectl_complete-oomdoctor
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w $(LDFLAGS)" -o bin/oomdoctor-agent ./cmd/oomdoctor-agent

# image builds the agent's image (needs a Docker daemon; the DaemonSet of
# deploy/ runs it). image-archive builds the same image without a daemon,
# as a docker-archive tarball (docker/podman load, ctr images import,
# skopeo copy docker-archive:...), as the e2e tests do.
image: build
	docker build -t oomdoctor/oomdoctor-agent:$(VERSION) .

image-archive: build
	$(GO) run ./test/cmd/imagearchive -f Dockerfile -context . -t docker.io/oomdoctor/oomdoctor-agent:$(VERSION) -o bin/oomdoctor-agent-image.tar

# install puts oomdoctor and the kubectl plugin kubectl-oomdoctor in GOBIN,
# and kubectl_complete-oomdoctor, a link kubectl runs to complete the
# plugin's command line (kubectl 1.26+).
install:
	$(GO) install -ldflags "$(LDFLAGS)" ./cmd/oomdoctor
	cp "$$($(GO) env GOPATH)/bin/oomdoctor" "$$($(GO) env GOPATH)/bin/kubectl-oomdoctor"
	ln -sf kubectl-oomdoctor "$$($(GO) env GOPATH)/bin/kubectl_complete-oomdoctor"

# dist builds the release archives the krew manifest points at: one
# kubectl-oomdoctor binary per platform, and their sha256 sums.
dist:
	rm -rf dist && mkdir -p dist
	@set -e; for p in $(PLATFORMS); do os=$${p%/*}; arch=$${p#*/}; \
		d=dist/oomdoctor_$(VERSION)_$${os}_$${arch}; mkdir -p $$d; \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $$d/kubectl-oomdoctor ./cmd/oomdoctor; \
		cp README.md $$d/; tar -C $$d -czf $$d.tar.gz .; rm -rf $$d; echo "built $$d.tar.gz"; done
	cd dist && sha256sum *.tar.gz > SHA256SUMS

deps: apt k8s-bins sarif-schema helm

helm: $(HELM)

$(HELM):
	@mkdir -p "$(CACHE_DIR)/bin"
	tmp=$$(mktemp -d) && GOBIN=$$tmp $(GO) install helm.sh/helm/v3/cmd/helm@$(HELM_VERSION) && mv $$tmp/helm "$(HELM)" && rm -rf $$tmp

# manifests renders the agent's chart into the plain manifests of
# deploy/agent (a test checks they match).
manifests: helm
	{ echo "# The oomdoctor node agent, rendered from deploy/helm/oomdoctor-agent with its default"; \
	  echo "# values by make manifests. Apply: kubectl apply -f deploy/agent/oomdoctor-agent.yaml"; \
	  echo "apiVersion: v1"; echo "kind: Namespace"; echo "metadata:"; echo "  name: oomdoctor"; \
	  echo "  labels:"; echo "    # The agent uses the host's PID namespace and cgroup filesystem, which only this level allows."; \
	  echo "    pod-security.kubernetes.io/enforce: privileged"; \
	  "$(HELM)" template oomdoctor-agent deploy/helm/oomdoctor-agent --namespace oomdoctor; } > deploy/agent/oomdoctor-agent.yaml

sarif-schema: $(SARIF_SCHEMA)

$(SARIF_SCHEMA):
	@mkdir -p "$(CACHE_DIR)"
	@tmp=$$(mktemp -d) && cd $$tmp && npm pack --silent @microsoft/jest-sarif@1.0.0-beta.0 >/dev/null && \
		tar xzf microsoft-jest-sarif-1.0.0-beta.0.tgz package/lib/schemas/sarif-2.1.0-rtm.5.json && \
		mv package/lib/schemas/sarif-2.1.0-rtm.5.json "$(SARIF_SCHEMA)" && rm -rf $$tmp

apt:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing" >&2; \
		if [ "$$(id -u)" != 0 ]; then echo "error: need root to apt-get install$$missing (or install them yourself)" >&2; exit 1; fi; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

k8s-bins:
	test/k8s/build.sh "$(K8S_BIN)"

# The test that builds oomdoctor for every release platform runs alone,
# with time to spare: on a machine whose Go build cache is empty it compiles
# every dependency once per platform (minutes), which must not eat into the
# ten minutes the package's other tests have.
PLATFORMS_TEST := TestEveryReleasePlatformBuilds

# The agent's tests read the kernel's OOM reports, which the kernel
# rate-limits machine-wide (ten full reports in five seconds, then only the
# victim's line): they run alone, not beside the packages whose tests
# OOM-kill processes too, whose reports would crowd theirs out.
# The packages under internal/ run under the race detector (it needs cgo,
# hence gcc); the integration and end-to-end tests, which run the same
# code against real servers, do not, but for fix --apply --parallel's,
# which runs it on several objects at once and is run again under it.
test: deps lint
	$(GO) test -count=1 -race ./internal/agent
	$(GO) test -count=1 -race -skip '^$(PLATFORMS_TEST)$$' $$($(GO) list ./internal/... | grep -v '/internal/agent$$')
	$(GO) test -count=1 -timeout 30m -run '^$(PLATFORMS_TEST)$$' ./internal/cli
	$(GO) test -count=1 $$($(GO) list ./... | grep -v '/internal/')
	$(GO) test -count=1 -race -run '^TestFixApplyParallel$$' ./test/integration

unit: sarif-schema helm k8s-bins
	$(GO) test -count=1 -timeout 30m ./internal/...

integration: deps
	$(GO) test -count=1 ./test/integration/...

# e2e runs real workloads on a real kubelet (root needed); make test runs it
# with everything else.
e2e: deps
	$(GO) test -count=1 ./test/e2e/...

# cluster-up starts the e2e tests' one-node cluster in the background for
# trying oomdoctor by hand; it prints the kubeconfig to use. cluster-down
# stops it and removes everything it made.
cluster-up: deps
	$(GO) build -o bin/localcluster ./test/cmd/localcluster
	bin/localcluster up

cluster-down:
	$(GO) build -o bin/localcluster ./test/cmd/localcluster
	bin/localcluster down

lint:
	@unformatted=$$(gofmt -l cmd internal test bench); if [ -n "$$unformatted" ]; then echo "gofmt would change: $$unformatted" >&2; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

# examples regenerates the bundled snapshots from real servers (an API
# server scenario, and a real kubelet's kills), the workload manifests, then
# the golden files made from them.
examples: deps
	$(GO) run ./test/cmd/mkexamples -workloads examples/workloads -api examples/snapshot -kubelet examples/kubelet-snapshot
	$(GO) test ./internal/cli -run Golden -update

bench: bench-scan bench-lint bench-fix bench-agent bench-prometheus bench-diagnose bench-families bench-bounds

# bench-prometheus backfills 5,000 containers x 14 days into a real
# Prometheus and times recommend against it (about 20 minutes).
bench-prometheus: apt
	$(GO) run ./bench/prometheus -containers 5000 -days 14

# bench-diagnose runs the cause detectors over 5,000 containers x 14 days
# of history read from a CSV file.
bench-diagnose:
	$(GO) run ./bench/diagnose -containers 5000 -days 14

# bench-agent measures the node agent on this kernel (root): latency from
# the kernel's kill to the metric and the Event, a burst of kills, idle cost;
# the kernel log read through syslog(2) as the DaemonSet does (add
# ARGS="-kmsg /dev/kmsg" for the device).
bench-agent: deps
	$(GO) run ./bench/agent $(ARGS)

# bench-families replays every strategy on the synthetic families of
# test/tracegen (README: recommend, "On shapes the trace has few of").
bench-families:
	$(GO) run ./bench/families

# bench-bounds measures, with oracles that know the replayed week, how
# lean any limit set from history can be on the shared trace (README:
# recommend, why the goal is not reached).
bench-bounds:
	$(GO) run ./bench/bounds

bench-fix:
	$(GO) test ./internal/fix -run XXX -bench 1000 -benchmem -count 6

bench-lint:
	$(GO) run ./bench/lint -n 20000 -runs 3

bench-scan: deps
	$(GO) run ./bench/scan -pods 10000 -namespaces 200 -runs 5

clean:
	rm -rf bin dist
