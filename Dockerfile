# The hostwatch image: one static binary on an empty base, so the image holds
# nothing to patch but hostwatch itself. The binary is built beforehand, as
# node_exporter's release images are, so building the image pulls nothing
# (no base image, no toolchain image: it builds where no registry is
# reachable). One command builds both:
#
#   scripts/build-image [TAG]        (scripts/build-dist, then podman or docker)
#
# For arm64 nodes: scripts/build-dist aarch64-unknown-linux-gnu (with
# Debian's gcc-aarch64-linux-gnu and libc6-dev-arm64-cross installed), then
#   podman build --platform linux/arm64 -t hostwatch:0.1.0-arm64 .
FROM scratch

ARG VERSION=0.1.0
ARG REVISION=unknown

LABEL org.opencontainers.image.title="hostwatch" \
      org.opencontainers.image.description="Linux node metrics agent, drop-in compatible with prometheus/node_exporter" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0"

# An empty base has no shell to test for the binary and explain its absence,
# so the reason comes just before the COPY that fails without it: podman,
# buildah and docker's classic builder print this step, BuildKit prints
# these lines around the error.
ARG NO_BINARY_HINT="target/image/hostwatch missing? Run scripts/build-image: it builds the binary (scripts/build-dist), then this image"
COPY target/image/hostwatch /bin/hostwatch

EXPOSE 9100
# nobody:nogroup by number: scratch has no /etc/passwd to look names up in.
USER 65534:65534
ENTRYPOINT ["/bin/hostwatch"]
