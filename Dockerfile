# syntax=docker/dockerfile:1
#
# spawner: the Discord bot daemon, as a small static image.
#
#   docker build -t spawner:local .
#   docker run --rm --env-file .env spawner:local check
#
# The build stage runs on the builder's own platform and cross-compiles for the
# target one (Go needs no emulator), so `docker buildx build --platform
# linux/arm64` works on an amd64 machine. No secret is baked in: configuration
# comes from the environment or from *_FILE secrets at run time.

ARG GO_VERSION=1.26

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-bookworm AS build
ARG TARGETOS
ARG TARGETARCH
WORKDIR /src

# Modules first, in their own layer: it is rebuilt only when go.mod or go.sum change.
COPY go.mod go.sum ./
RUN go mod download

COPY . .
RUN --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} \
    go build -trimpath -ldflags="-s -w -buildid=" -o /out/spawner ./cmd/spawner
# The embedded store's folder (SPAWNER_DATA_DIR=/data in docker-compose.yaml):
# a named volume mounted there starts with this folder's owner, the nonroot user.
RUN mkdir -p /out/data

# distroless/static: CA certificates, /etc/passwd with the nonroot user (65532),
# tzdata, and nothing else: no shell, no package manager.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/spawner /spawner
COPY --from=build --chown=65532:65532 --chmod=700 /out/data /data
WORKDIR /app
USER 65532:65532
# /healthz, /readyz and /metrics listen here, so the healthcheck below works
# without any configuration; set HTTP_ADDR to move it.
ENV HTTP_ADDR=:8080
EXPOSE 8080
# No shell or curl here: the binary checks itself. `spawner health` GETs
# /healthz on the port of HTTP_ADDR and exits 0 on 200, 1 otherwise.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["/spawner", "health"]
ENTRYPOINT ["/spawner"]
CMD ["run"]
