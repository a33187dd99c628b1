#!/usr/bin/env bash
# The images the examples and the tests use, on this machine's engine.
#
#   debian:trixie-slim    the default runner image: pulled where a registry answers,
#                         else a local stand-in (busybox, glibc's loader and libraries)
#   busybox:1.37          the examples' service image: pulled, else a stand-in
#   clnrm-busybox:latest  the tests' own image, always built here
#
# Stand-ins are built FROM scratch out of Debian's packages (busybox-static,
# libc6, libgcc-s1) and carry the label `clnrm.stand-in`; `--pull always` (or
# `docker pull`) replaces one with the real image once a registry answers.
#
# Where no Docker engine answers and this runs as root, it installs docker.io
# and starts dockerd first. Safe to run again: existing images are kept.
set -euo pipefail

FIXTURE_IMAGE="${CLNRM_FIXTURE_IMAGE:-clnrm-busybox:latest}"
# Bump when an image's content changes, so existing machines rebuild it.
FIXTURE_VERSION=4

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

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Debian's packages, unpacked once into $work/root.
unpacked=false
unpack() {
  $unpacked && return 0
  (
    cd "$work"
    if ! apt-get download "$@" >/dev/null 2>&1; then
      apt-get update -qq
      apt-get download "$@" >/dev/null
    fi
    for deb in *.deb; do dpkg-deb -x "$deb" root; done
  )
  unpacked=true
}

label() { docker image inspect -f "{{ index .Config.Labels \"$2\" }}" "$1" 2>/dev/null || true; }

# build NAME KIND LABEL_KEY LABEL_VALUE: busybox alone (KIND=busybox) or with
# glibc's loader and libraries (KIND=glibc), FROM scratch.
build() {
  local name=$1 kind=$2 key=$3 value=$4
  local context="$work/$kind"
  unpack busybox-static libc6 libgcc-s1
  rm -rf "$context" && mkdir -p "$context/rootfs/bin"
  cp "$work/root/bin/busybox" "$context/rootfs/bin/busybox"
  if [ "$kind" = glibc ]; then
    # The loader and the libraries an ordinary Rust binary links against.
    mkdir -p "$context/rootfs/lib/x86_64-linux-gnu" "$context/rootfs/lib64"
    cp -a "$work"/root/lib/x86_64-linux-gnu/{ld-linux-x86-64.so.2,libc.so.6,libm.so.6,libpthread.so.0,libdl.so.2,librt.so.1,libgcc_s.so.1} \
      "$context/rootfs/lib/x86_64-linux-gnu/"
    ln -s /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$context/rootfs/lib64/ld-linux-x86-64.so.2"
  fi
  # As close to the real image as busybox gets: busybox's has no /srv;
  # Debian's slim image has /srv but no network tools (no wget, no httpd),
  # so a scenario that needs them fails here as it would there. The tests'
  # own image keeps everything.
  local EXTRA_DIRS="/srv" DROP=""
  case "$name" in
    busybox:*) EXTRA_DIRS="" ;;
    debian:*) DROP="wget httpd nc telnet ftpget ftpput tftp udhcpc ifconfig route ip ping" ;;
  esac
  cat > "$context/Dockerfile" <<DOCKERFILE
FROM scratch
COPY rootfs/ /
RUN ["/bin/busybox", "--install", "-s", "/bin"]
RUN ["/bin/sh", "-c", "mkdir -p /tmp /root /etc /home /usr/bin /var $EXTRA_DIRS && chmod 1777 /tmp && cd /bin && rm -f $DROP"]
LABEL $key="$value"
CMD ["/bin/sh"]
DOCKERFILE
  # The legacy builder's deprecation notice is noise here; a failure shows all.
  if ! docker build -q -t "$name" "$context" >"$work/build.log" 2>&1; then
    cat "$work/build.log" >&2
    return 1
  fi
  echo "fixture-images: built $name ($(docker image inspect -f '{{.Size}}' "$name") bytes)"
}

# public NAME KIND: the real image where it is here or a registry gives it,
# else a stand-in under the same name.
public() {
  local name=$1 kind=$2 stand_in="stand-in for $1, built from Debian packages (v$FIXTURE_VERSION)"
  if docker image inspect "$name" >/dev/null 2>&1; then
    case "$(label "$name" clnrm.stand-in)" in
      "") echo "fixture-images: $name exists"; return 0 ;;
      "$stand_in") echo "fixture-images: $name exists (a stand-in)"; return 0 ;;
    esac
  fi
  if timeout 120 docker pull -q "$name" >/dev/null 2>&1; then
    echo "fixture-images: pulled $name"
    return 0
  fi
  echo "fixture-images: $name cannot be pulled (no registry answers); building a stand-in"
  build "$name" "$kind" clnrm.stand-in "$stand_in"
}

public debian:trixie-slim glibc
public busybox:1.37 busybox
if [ "$(label "$FIXTURE_IMAGE" clnrm.fixture)" = "$FIXTURE_VERSION" ]; then
  echo "fixture-images: $FIXTURE_IMAGE exists"
else
  build "$FIXTURE_IMAGE" busybox clnrm.fixture "$FIXTURE_VERSION"
fi
