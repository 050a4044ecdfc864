#!/usr/bin/env bash
# Build a minimal Debian bookworm base image without any registry: debootstrap --variant=minbase + docker import.
# For hosts that cannot pull from Docker Hub. On a normal host use BASE_IMAGE=python:3.11-slim instead.
#
#   docker/build-base-image.sh [TAG]        (default TAG: sentiment-base:bookworm)
#
# Env: DEBIAN_MIRROR (default http://deb.debian.org/debian), CA_BUNDLE (default /etc/ssl/certs/ca-certificates.crt,
# the host's CA bundle, copied in so that pip can reach the package index over HTTPS from inside the build).
# Needs root (debootstrap) and a running docker engine. Idempotent: does nothing when TAG already exists.
set -euo pipefail

TAG="${1:-sentiment-base:bookworm}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
CA_BUNDLE="${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"

if docker image inspect "$TAG" >/dev/null 2>&1; then
    echo "base image $TAG already exists"
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "error: debootstrap needs root (or pass BASE_IMAGE=python:3.11-slim on a host with Docker Hub)" >&2
    exit 2
fi
command -v debootstrap >/dev/null || { echo "error: debootstrap missing: apt-get install -y debootstrap" >&2; exit 2; }

ROOTFS="$(mktemp -d /tmp/sentiment-rootfs.XXXXXX)"
trap 'rm -rf "$ROOTFS"' EXIT
echo "debootstrap --variant=minbase bookworm -> $ROOTFS (a few minutes)"
debootstrap --variant=minbase bookworm "$ROOTFS" "$MIRROR" >"$ROOTFS.log" 2>&1 || {
    tail -20 "$ROOTFS.log" >&2
    echo "error: debootstrap failed (full log: $ROOTFS.log)" >&2
    exit 1
}
rm -f "$ROOTFS.log"

cat >"$ROOTFS/etc/apt/sources.list" <<SOURCES
deb $MIRROR bookworm main
deb $MIRROR bookworm-updates main
deb ${MIRROR%/debian}/debian-security bookworm-security main
SOURCES
# Keep images small: no docs/man pages/translations from later apt installs.
cat >"$ROOTFS/etc/dpkg/dpkg.cfg.d/01-nodoc" <<'NODOC'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
NODOC
echo 'APT::Install-Recommends "false";' >"$ROOTFS/etc/apt/apt.conf.d/01-norecommends"
if [ -s "$CA_BUNDLE" ]; then
    # Both places: the bundle itself (used as long as the ca-certificates package is absent) and a local CA file
    # that update-ca-certificates merges into the bundle when a later apt install brings ca-certificates in.
    mkdir -p "$ROOTFS/etc/ssl/certs" "$ROOTFS/usr/local/share/ca-certificates"
    cp "$CA_BUNDLE" "$ROOTFS/etc/ssl/certs/ca-certificates.crt"
    cp "$CA_BUNDLE" "$ROOTFS/usr/local/share/ca-certificates/host-ca-bundle.crt"
else
    echo "warning: no CA bundle at $CA_BUNDLE: pip inside the build may fail on HTTPS" >&2
fi
rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/usr/share/doc/* \
    "$ROOTFS"/usr/share/man/* "$ROOTFS"/usr/share/locale/*

tar -C "$ROOTFS" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["/bin/bash"]' \
    - "$TAG" >/dev/null
echo "base image $TAG: $(docker image inspect -f '{{.Size}}' "$TAG" | awk '{printf "%.0f MB", $1/1e6}')"
