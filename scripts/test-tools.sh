#!/usr/bin/env bash
# Install the Python tools the test suite uses, from PyPI, into a private
# venv: the JUnit XML schema validator `xmlschema`, and the OpenTelemetry SDK
# with its OTLP/HTTP exporter (a real producer of spans):
#
#     <repo>/target/test-tools/venv
#
# Idempotent: when the venv already has the pinned versions it does nothing
# (well under a second). Prints one line saying what it did.
#
# Use afterwards:
#     target/test-tools/venv/bin/python scripts/validate-junit.py \
#         tests/schemas/junit-10.xsd report.xml...
#
# Environment: PYTHON (default python3) is the interpreter the venv is made from.
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

if have_tools; then
    echo "test-tools: xmlschema $XMLSCHEMA_VERSION and opentelemetry-sdk $OTEL_VERSION already in $VENV_REL"
    exit 0
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
