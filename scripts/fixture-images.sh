#!/usr/bin/env bash
# Builds the images the tests and examples use, locally: there is no registry.
#
#   clnrm-busybox:latest  FROM scratch + Debian's busybox-static (about 2 MB)
#
# Where no Docker engine answers and this runs as root, it installs docker.io
# and starts dockerd first. Safe to run again: existing images are kept.
set -euo pipefail

IMAGE="${CLNRM_FIXTURE_IMAGE:-clnrm-busybox:latest}"
# Bump when the image's content changes, so existing machines rebuild it.
FIXTURE_VERSION=2

engine_answers() { docker info >/dev/null 2>&1; }

start_engine() {
  if ! command -v dockerd >/dev/null 2>&1; then
    echo "fixture-images: installing docker.io"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
  fi
  echo "fixture-images: starting dockerd"
  # No iptables: the machine may not allow it, and scenario networks are internal.
  nohup dockerd --iptables=false --ip-masq=false >/tmp/clnrm-dockerd.log 2>&1 &
  for _ in $(seq 1 60); do
    engine_answers && return 0
    sleep 1
  done
  echo "fixture-images: dockerd did not start; see /tmp/clnrm-dockerd.log" >&2
  return 1
}

if ! engine_answers; then
  if [ "$(id -u)" = 0 ]; then
    start_engine
  else
    echo "fixture-images: no Docker engine answers; start one (or run this as root to install it)" >&2
    exit 1
  fi
fi

current=$(docker image inspect -f '{{ index .Config.Labels "clnrm.fixture" }}' "$IMAGE" 2>/dev/null || true)
if [ "$current" = "$FIXTURE_VERSION" ]; then
  echo "fixture-images: $IMAGE exists"
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(
  cd "$work"
  if ! apt-get download busybox-static >/dev/null 2>&1; then
    apt-get update -qq
    apt-get download busybox-static >/dev/null
  fi
  dpkg-deb -x busybox-static_*.deb root
  cp root/bin/busybox busybox
  cat > Dockerfile <<'DOCKERFILE'
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
RUN ["/bin/sh", "-c", "mkdir -p /tmp /srv /root /etc && chmod 1777 /tmp"]
ARG FIXTURE_VERSION
LABEL clnrm.fixture="${FIXTURE_VERSION}"
CMD ["/bin/sh"]
DOCKERFILE
  docker build -q --build-arg "FIXTURE_VERSION=$FIXTURE_VERSION" -t "$IMAGE" . >/dev/null
)
echo "fixture-images: built $IMAGE ($(docker image inspect -f '{{.Size}}' "$IMAGE") bytes)"
