# The node agent's image: the static oomdoctor-agent binary alone.
#   make image    (or: CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o bin/oomdoctor-agent ./cmd/oomdoctor-agent && docker build .)
FROM scratch
COPY bin/oomdoctor-agent /oomdoctor-agent
USER 0
ENTRYPOINT ["/oomdoctor-agent"]
