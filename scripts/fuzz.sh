#!/usr/bin/env bash
# Coverage-guided fuzzing of clnrm's readers with cargo-fuzz (libFuzzer):
# seeds every target's corpus from the project's fixtures, runs each target
# for a set time, and prints what each one ran and found (docs/testing.md).
#
#   bash scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#
# SECONDS_PER_TARGET defaults to 300; without TARGETs every target runs, one
# after the other. Settings, from the environment:
#   FUZZ_SANITIZER  address (default; falls back to none when it cannot be
#                   built) or none
#   FUZZ_TIMEOUT    seconds one input may take before it counts as a hang
#                   (default 10: five times the 2 s render budget)
#   FUZZ_RSS_MB     memory one run may use before it counts as out of memory
#                   (default 2048)
#   CARGO_TARGET_DIR  where cargo builds (default fuzz/target)
#
# Exit status: 0 when nothing was found, 1 when a target crashed, hung or ran
# out of memory (its input is in fuzz/artifacts/TARGET/), 2 on a setup error.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
fuzz="$root/fuzz"
seconds=${1:-300}
shift || true
case $seconds in '' | *[!0-9]*)
    echo "usage: $0 [SECONDS_PER_TARGET] [TARGET...]" >&2
    exit 2
    ;;
esac
sanitizer=${FUZZ_SANITIZER:-address}
timeout=${FUZZ_TIMEOUT:-10}
rss_mb=${FUZZ_RSS_MB:-2048}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$fuzz/target}
# cargo-fuzz passes -Z flags (the sanitizers, coverage options) to rustc:
# allowed on a stable toolchain this way.
export RUSTC_BOOTSTRAP=1
# The shared folder of the project's documents sits beside the clone.
shared=${CLNRM_SHARED:-$root/../shared}

all_targets=(scenario_parse render pipeline spans_protobuf spans_json span_lines span_file)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")
for t in "${targets[@]}"; do
    case " ${all_targets[*]} " in *" $t "*) ;; *)
        echo "unknown target \`$t\`; the targets are: ${all_targets[*]}" >&2
        exit 2
        ;;
    esac
done

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo install cargo-fuzz --locked || {
        echo "cannot install cargo-fuzz (cargo install cargo-fuzz)" >&2
        exit 2
    }
fi

echo "== building the targets (sanitizer: $sanitizer)"
mkdir -p "$fuzz/logs"
for t in "${targets[@]}"; do
    # cargo-fuzz builds one named target a call; the rest is shared.
    if ! cargo fuzz build --fuzz-dir "$fuzz" -O --debug-assertions --sanitizer "$sanitizer" "$t" \
        >"$fuzz/logs/build-$t.log" 2>&1; then
        if [ "$sanitizer" = address ]; then
            echo "the address sanitizer does not build here; fuzzing without it" >&2
            sanitizer=none
            cargo fuzz build --fuzz-dir "$fuzz" -O --debug-assertions --sanitizer none "$t" \
                >"$fuzz/logs/build-$t.log" 2>&1 || { tail -30 "$fuzz/logs/build-$t.log" >&2; exit 2; }
        else
            tail -30 "$fuzz/logs/build-$t.log" >&2
            exit 2
        fi
    fi
done

# --- seeds -------------------------------------------------------------------
# Copied into fuzz/corpus/TARGET under their content's hash (as libFuzzer
# names what it adds), so seeding again adds nothing twice.

add_seed() { # target, then the seed on standard input
    local dir="$fuzz/corpus/$1" tmp
    mkdir -p "$dir"
    tmp=$(mktemp "$dir/.seed.XXXXXX")
    cat >"$tmp"
    if [ -s "$tmp" ]; then
        mv "$tmp" "$dir/$(sha1sum "$tmp" | cut -c1-40)"
    else
        rm -f "$tmp"
    fi
}

add_files() { # target, files...
    local target=$1 f
    shift
    for f in "$@"; do
        [ -f "$f" ] && add_seed "$target" <"$f"
    done
    return 0
}

scenario_files() {
    {
        find tests examples -path '*/target' -prune -o -type f \
            \( -name '*.clnrm.toml' -o -name '*.clnrm.toml.tera' \) -print
        [ -d "$shared/compat" ] && find "$shared/compat" -type f -name '*.clnrm.toml*'
    } | sort
}

# The ```toml blocks of the documentation: every table the format has.
doc_blocks() { # target
    local doc
    for doc in docs/*.md; do
        awk -v out="$fuzz/logs/.doc-block" '
            /^```toml/ { inside = 1; n++; file = out "." n; printf "" > file; next }
            /^```/ && inside { inside = 0; close(file); next }
            inside { print >> file }' "$doc"
        for block in "$fuzz/logs/.doc-block".*; do
            if [ -f "$block" ]; then
                add_seed "$1" <"$block"
                rm -f "$block"
            fi
        done
    done
}

# A scenario followed (after NUL bytes) by the local macro library beside it,
# in the render and pipeline targets' input form (see fuzz/src/lib.rs).
with_local_library() { # target
    local scenario library
    while read -r scenario; do
        library="$(dirname "$scenario")/_macros.toml.tera"
        [ -f "$library" ] || continue
        { cat "$scenario"; printf '\0\0'; cat "$library"; } | add_seed "$1"
    done < <(scenario_files | grep '\.tera$')
}

span_files() { # extensions...
    local args=(-name "*.$1") ext
    shift
    for ext in "$@"; do args+=(-o -name "*.$ext"); done
    find tests examples -path '*/target' -prune -o \( "${args[@]}" \) -type f -print | sort
}

seed() {
    local target=$1 f
    case $target in
    scenario_parse)
        mapfile -t files < <(scenario_files)
        add_files "$target" "${files[@]}"
        doc_blocks "$target"
        ;;
    pipeline)
        mapfile -t files < <(scenario_files)
        add_files "$target" "${files[@]}"
        doc_blocks "$target"
        with_local_library "$target"
        ;;
    render)
        mapfile -t files < <(scenario_files | grep '\.tera$')
        add_files "$target" "${files[@]}" clnrm-core/src/render/_macros.toml.tera
        with_local_library "$target"
        ;;
    spans_protobuf)
        # Protobuf is binary: each body is a seed of its own.
        for f in tests/fixtures/spans/recorded/*.body; do
            grep -qi 'x-protobuf' "${f%.body}.headers" || continue
            if grep -qi 'content-encoding: gzip' "${f%.body}.headers"; then
                gzip -dc <"$f" | add_seed "$target"
            else
                add_seed "$target" <"$f"
            fi
        done
        mapfile -t files < <(span_files pb)
        add_files "$target" "${files[@]}"
        ;;
    spans_json | span_lines | span_file)
        for f in tests/fixtures/spans/recorded/*.body; do
            grep -qi 'application/json' "${f%.body}.headers" || continue
            add_seed "$target" <"$f"
        done
        mapfile -t files < <(span_files json jsonl ndjson)
        add_files "$target" "${files[@]}"
        if [ "$target" = spans_json ]; then
            # One document a seed: each line of the JSON-lines files.
            for f in "${files[@]}"; do
                case $f in *.json) continue ;; esac
                while IFS= read -r line; do
                    [ -n "$line" ] && printf '%s' "$line" | add_seed "$target"
                done <"$f"
            done
        fi
        ;;
    esac
    if [ -d "$fuzz/seeds/$target" ]; then
        add_files "$target" "$fuzz/seeds/$target"/*
    fi
}

dict_of() {
    case $1 in
    scenario_parse | render | pipeline) echo "-dict=$fuzz/dicts/scenario.dict" ;;
    spans_json | span_lines | span_file) echo "-dict=$fuzz/dicts/spans.dict" ;;
    esac
}

# --- runs --------------------------------------------------------------------

found_any=0
summary=()
for t in "${targets[@]}"; do
    seed "$t"
    corpus="$fuzz/corpus/$t"
    artifacts="$fuzz/artifacts/$t"
    mkdir -p "$artifacts"
    marker=$(mktemp)
    log="$fuzz/logs/$t.log"
    seeds=$(find "$corpus" -type f | wc -l)
    echo "== $t: $seconds s from $seeds inputs (log: ${log#"$root"/})"
    started=$(date +%s)
    set +e
    # shellcheck disable=SC2046
    cargo fuzz run --fuzz-dir "$fuzz" -O --debug-assertions --sanitizer "$sanitizer" "$t" "$corpus" -- \
        -max_total_time="$seconds" -timeout="$timeout" -rss_limit_mb="$rss_mb" \
        -max_len=65536 -print_final_stats=1 -artifact_prefix="$artifacts/" \
        $(dict_of "$t") >"$log" 2>&1
    status=$?
    set -e
    # libFuzzer's own count of its running time (the build before it is not).
    ran=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
    [ -n "$ran" ] || ran=$(($(date +%s) - started))
    stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -1; }
    execs=$(stat number_of_executed_units)
    slowest=$(stat slowest_unit_time_sec)
    peak=$(stat peak_rss_mb)
    [ -n "$execs" ] || execs=$(grep -o '^#[0-9]*' "$log" | tail -1 | tr -d '#')
    corpus_now=$(find "$corpus" -type f | wc -l)
    new=$(find "$artifacts" -type f -newer "$marker" \
        \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' -o -name 'leak-*' \) | sort)
    rm -f "$marker"
    if [ -n "$new" ] || [ $status -ne 0 ]; then
        found_any=1
        # The first report, and for a panic its message on the next line.
        what=$(grep -m1 -A1 -E 'ERROR: libFuzzer|ERROR: AddressSanitizer|^thread .* panicked' "$log" |
            tr '\n' ' ' | cut -c1-300 || true)
        [ -n "$what" ] || what="exit status $status"
        findings="FOUND: ${what}; input: $(echo "$new" | tr '\n' ' ')"
    else
        findings="nothing"
    fi
    line=$(printf '%-15s %6ss %10s execs  corpus %5s -> %-5s  slowest %3ss  peak %5s MB  %s' \
        "$t" "$ran" "${execs:-?}" "$seeds" "$corpus_now" "${slowest:-?}" "${peak:-?}" "$findings")
    echo "$line"
    summary+=("$line")
done

echo
echo "== summary (sanitizer: $sanitizer, -timeout=$timeout, -rss_limit_mb=$rss_mb)"
printf '%s\n' "${summary[@]}"
if [ $found_any -ne 0 ]; then
    echo "reproduce one with: RUSTC_BOOTSTRAP=1 cargo fuzz run --fuzz-dir fuzz TARGET fuzz/artifacts/TARGET/FILE"
    exit 1
fi
