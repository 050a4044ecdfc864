#!/usr/bin/env bash
# Make sure a docker engine answers; on a bare Debian machine (root, no engine) install and start one.
#   docker/start-engine.sh PIDFILE LOGFILE
# Prints "started" when it started dockerd itself (its pid is then in PIDFILE), "running" when one already answered.
set -euo pipefail
PIDFILE="${1:?pidfile}"
LOGFILE="${2:?logfile}"

if docker info >/dev/null 2>&1; then
    echo running
    exit 0
fi
need=()
command -v dockerd >/dev/null || need+=(docker.io)
command -v docker >/dev/null || need+=(docker.io)
command -v docker-compose >/dev/null || docker compose version >/dev/null 2>&1 || need+=(docker-compose)
command -v debootstrap >/dev/null || need+=(debootstrap)
if [ "${#need[@]}" -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
        echo "error: no docker engine answers and ${need[*]} cannot be installed here (needs root + apt)" >&2
        exit 2
    fi
    echo "installing ${need[*]} with apt-get" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends docker.io docker-compose debootstrap >&2
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "error: no docker engine answers (start one, or run as root to let this script start dockerd)" >&2
    exit 2
fi
mkdir -p "$(dirname "$PIDFILE")" "$(dirname "$LOGFILE")"
nohup dockerd >"$LOGFILE" 2>&1 &
echo $! >"$PIDFILE"
for _ in $(seq 120); do
    if docker info >/dev/null 2>&1; then
        echo started
        exit 0
    fi
    if ! kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
        tail -20 "$LOGFILE" >&2
        echo "error: dockerd exited (log: $LOGFILE)" >&2
        exit 1
    fi
    sleep 0.5
done
echo "error: dockerd did not answer within 60 s (log: $LOGFILE)" >&2
exit 1
