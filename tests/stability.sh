#!/usr/bin/env bash
# Runs the container suite five times in a row: every run must pass, and after
# each one no container or network of a clnrm run may remain.
#   bash tests/stability.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-5}"

leftovers() {
  echo "$(docker ps -aq --filter label=clnrm.run | wc -l) container(s), $(docker network ls -q --filter label=clnrm.run | wc -l) network(s)"
}

for i in $(seq 1 "$runs"); do
  cargo test -q -p clnrm-tests --test containers >/dev/null
  cargo run -q -p cargo-clnrm -- clnrm run examples --message-format json >/dev/null
  left=$(leftovers)
  if [ "$left" != "0 container(s), 0 network(s)" ]; then
    echo "run $i: left behind: $left" >&2
    exit 1
  fi
  echo "run $i: passed, nothing left behind"
done
echo "$runs runs: no flaky verdict, no leak"
