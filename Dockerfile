# The hostwatch image: one static binary on an empty base, so the image holds
# nothing to patch but hostwatch itself. The binary is built beforehand, as
# node_exporter's release images are, so building the image pulls nothing:
#
#   cargo build --release --locked --target x86_64-unknown-linux-musl
#   podman build -t hostwatch:0.1.0 .
#
# For arm64 build with --target aarch64-unknown-linux-musl, then
#   podman build --platform linux/arm64 --build-arg TARGET=aarch64-unknown-linux-musl -t hostwatch:0.1.0-arm64 .
FROM scratch

ARG TARGET=x86_64-unknown-linux-musl
ARG VERSION=0.1.0
ARG REVISION=unknown

LABEL org.opencontainers.image.title="hostwatch" \
      org.opencontainers.image.description="Linux node metrics agent, drop-in compatible with prometheus/node_exporter" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0"

COPY target/${TARGET}/release/hostwatch /bin/hostwatch

EXPOSE 9100
# nobody:nogroup by number: scratch has no /etc/passwd to look names up in.
USER 65534:65534
ENTRYPOINT ["/bin/hostwatch"]
