#!/usr/bin/env bash
# Runs the container suite, the engine-fault checks and the examples several
# times in a row: every run must pass, and after each one no container or
# network of a clnrm run may remain. Then the load checks at small counts
# (the full curve: `cargo bench -p clnrm-benches --bench load`).
#   bash tests/stability.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-5}"

leftovers() {
  echo "$(docker ps -aq --filter label=clnrm.run | wc -l) container(s), $(docker network ls -q --filter label=clnrm.run | wc -l) network(s)"
}

for i in $(seq 1 "$runs"); do
  cargo test -q -p clnrm-tests --test containers >/dev/null
  cargo test -q -p cargo-clnrm --test faults >/dev/null
  # The examples as the README's main job runs them (each crate from its manifest).
  cargo run -q -p cargo-clnrm -- clnrm test -p hello-clnrm >/dev/null 2>&1
  cargo run -q -p cargo-clnrm -- clnrm test --manifest-path examples/traced/Cargo.toml >/dev/null 2>&1
  left=$(leftovers)
  if [ "$left" != "0 container(s), 0 network(s)" ]; then
    echo "run $i: left behind: $left" >&2
    exit 1
  fi
  echo "run $i: passed, nothing left behind"
done
echo "$runs runs: no flaky verdict, no leak"

cargo build -q -p cargo-clnrm
target=$(cargo metadata -q --format-version 1 --no-deps | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
CLNRM_BENCH_BINARY="$target/debug/cargo-clnrm" CLNRM_BENCH_LOAD_COUNTS=25,50 \
  CLNRM_BENCH_PROCESSES=4 CLNRM_BENCH_LOCAL=200 \
  cargo bench -q -p clnrm-benches --bench load
