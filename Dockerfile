# syntax=docker/dockerfile:1
#
# The spillway controller as a static, non-root image.
#
#   docker build -t spillway:dev .
#   docker run --rm spillway:dev --help
#
# Stage 1 builds one statically linked binary for x86_64-unknown-linux-musl,
# without the default features `simulate` and `demo`: the image carries the
# controller (`run`, `plan`, `validate`), not the simulator's chart stack or
# the fault-injecting ACI emulator (`cargo run -p spillway -- demo` from a
# checkout has them).
# Every dependency is Rust except aws-lc-sys (the TLS crypto provider), which
# the `cc` crate compiles with musl-gcc; there is no OpenSSL. Stage 2 is
# distroless/static: no shell, no package manager, no libc, only CA
# certificates, /etc/passwd with the `nonroot` user (65532) and tzdata.
ARG RUST_VERSION=1.95

FROM docker.io/library/rust:${RUST_VERSION} AS build
ARG TARGET=x86_64-unknown-linux-musl
RUN apt-get update \
 && apt-get install -y --no-install-recommends musl-tools \
 && rm -rf /var/lib/apt/lists/* \
 && rustup target add "${TARGET}"
WORKDIR /src
COPY . .
# The cache mounts keep the registry and the build directory between builds
# (BuildKit); the binary is copied out of the cached target directory.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p spillway --bin spillway --no-default-features --target "${TARGET}" \
 && cp "target/${TARGET}/release/spillway" /spillway \
 && ! ldd /spillway 2>/dev/null | grep -q '=>'

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /spillway /spillway
USER 65532:65532
# /metrics, /healthz, /readyz and /status: config/deploy runs `run --listen=0.0.0.0:9464`.
EXPOSE 9464
ENTRYPOINT ["/spillway"]
CMD ["run"]
