#!/usr/bin/env bash
# The tools the test suite uses, made here from the registries:
#
# - from PyPI, into a private venv: the JUnit XML schema validator
#   `xmlschema`, and the OpenTelemetry SDK with its OTLP/HTTP exporter (a
#   real producer of spans):
#
#     <repo>/target/test-tools/venv
#
# - from crates.io, the example program `traced` (examples/traced, a Rust
#   producer of spans), linked statically so it runs in any container image
#   (busybox, FROM scratch):
#
#     <repo>/target/test-tools/traced/x86_64-unknown-linux-gnu/release/traced
#
# Idempotent: when the venv already has the pinned versions and the binary is
# up to date (cargo's no-op) it does nothing else, in a second or two. Prints
# one line for each, saying what it did.
#
# Use afterwards:
#     target/test-tools/venv/bin/python scripts/validate-junit.py \
#         tests/schemas/junit-10.xsd report.xml...
#
# Environment: PYTHON (default python3) is the interpreter the venv is made
# from; CARGO (default cargo) builds `traced`, with CARGO_BUILD_JOBS as usual.
set -euo pipefail

XMLSCHEMA_VERSION="4.3.2"
ELEMENTPATH_VERSION="5.1.4"   # xmlschema's one dependency, pinned too
# The OpenTelemetry Python SDK and its OTLP/HTTP (protobuf) exporter: a real
# producer of spans for the span receiver's tests.
OTEL_VERSION="1.45.2"

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV_REL="target/test-tools/venv"
VENV="$ROOT/$VENV_REL"
VPY="$VENV/bin/python"
PYTHON="${PYTHON:-python3}"

export PIP_DISABLE_PIP_VERSION_CHECK=1
export PIP_NO_INPUT=1

have_tools() {
    [ -x "$VPY" ] && "$VPY" - "$XMLSCHEMA_VERSION" "$OTEL_VERSION" >/dev/null 2>&1 <<'EOF'
import sys, xmlschema
from opentelemetry.sdk.version import __version__ as otel
import opentelemetry.exporter.otlp.proto.http.trace_exporter
sys.exit(0 if (xmlschema.__version__, otel) == (sys.argv[1], sys.argv[2]) else 1)
EOF
}

python_tools() {
    if have_tools; then
        echo "test-tools: xmlschema $XMLSCHEMA_VERSION and opentelemetry-sdk $OTEL_VERSION already in $VENV_REL"
        return 0
    fi

    if ! command -v "$PYTHON" >/dev/null 2>&1; then
        echo "test-tools: error: '$PYTHON' not found (set PYTHON=/path/to/python3)" >&2
        exit 1
    fi

    # (Re)create the venv from scratch: a half-made or stale one is not trusted.
    rm -rf "$VENV"
    mkdir -p "$(dirname "$VENV")"
    if ! "$PYTHON" -m venv "$VENV" >/dev/null; then
        echo "test-tools: error: '$PYTHON -m venv' failed (on Debian: apt-get install python3-venv)" >&2
        rm -rf "$VENV"
        exit 1
    fi

    if ! "$VPY" -m pip install --quiet --disable-pip-version-check --no-input \
            "xmlschema==$XMLSCHEMA_VERSION" "elementpath==$ELEMENTPATH_VERSION" \
            "opentelemetry-sdk==$OTEL_VERSION" "opentelemetry-exporter-otlp-proto-http==$OTEL_VERSION"; then
        echo "test-tools: error: pip could not install xmlschema==$XMLSCHEMA_VERSION and opentelemetry-sdk==$OTEL_VERSION" >&2
        rm -rf "$VENV"
        exit 1
    fi

    if ! have_tools; then
        echo "test-tools: error: xmlschema $XMLSCHEMA_VERSION or opentelemetry-sdk $OTEL_VERSION not importable after install" >&2
        exit 1
    fi

    echo "test-tools: installed xmlschema $XMLSCHEMA_VERSION and opentelemetry-sdk $OTEL_VERSION into $VENV_REL"
}

# `traced`, static (glibc's static libraries: no musl target is needed), in a
# target folder of its own: the flags differ from the example's usual build.
TRACED_TARGET="x86_64-unknown-linux-gnu"
TRACED_DIR_REL="target/test-tools/traced"
TRACED_BIN_REL="$TRACED_DIR_REL/$TRACED_TARGET/release/traced"
TRACED_BIN="$ROOT/$TRACED_BIN_REL"
CARGO="${CARGO:-cargo}"

traced_binary() {
    if ! command -v "$CARGO" >/dev/null 2>&1; then
        echo "test-tools: error: '$CARGO' not found (install Rust, or set CARGO=/path/to/cargo)" >&2
        exit 1
    fi
    local host
    host="$("${RUSTC:-rustc}" -vV 2>/dev/null | sed -n 's/^host: //p')"
    if [ "$host" != "$TRACED_TARGET" ]; then
        echo "test-tools: error: traced is built for $TRACED_TARGET, and this host is '${host:-unknown}'" >&2
        exit 1
    fi
    local before=""
    [ -x "$TRACED_BIN" ] && before="$(stat -c "%y %s" "$TRACED_BIN")"
    if ! RUSTFLAGS="-C target-feature=+crt-static" "$CARGO" build --quiet --release --locked \
            --manifest-path "$ROOT/examples/traced/Cargo.toml" --target "$TRACED_TARGET" \
            --target-dir "$ROOT/$TRACED_DIR_REL" --bin traced; then
        echo "test-tools: error: cargo could not build traced (examples/traced) for $TRACED_TARGET" >&2
        exit 1
    fi
    if [ ! -x "$TRACED_BIN" ]; then
        echo "test-tools: error: cargo built no $TRACED_BIN_REL" >&2
        exit 1
    fi
    # A static binary asks for no program interpreter (the dynamic loader).
    local headers=""
    if command -v readelf >/dev/null 2>&1; then
        headers="$(LC_ALL=C readelf -l "$TRACED_BIN" 2>&1 || true)"
    fi
    case "$headers" in
        *"program interpreter"*)
            echo "test-tools: error: $TRACED_BIN_REL is dynamically linked, not static" >&2
            exit 1 ;;
    esac
    if [ "$(stat -c "%y %s" "$TRACED_BIN")" = "$before" ]; then
        echo "test-tools: traced (static) already built in $TRACED_BIN_REL"
    else
        echo "test-tools: built traced (static) into $TRACED_BIN_REL"
    fi
}

python_tools
traced_binary
