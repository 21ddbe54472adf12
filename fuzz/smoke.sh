#!/usr/bin/env bash
# A short smoke run of every fuzz target (CI): build them all, then run each for
# FUZZ_SMOKE_SECS seconds (20 unless set) on a scratch copy of its seeds and kept
# crashes, so the committed corpus is left as it is. Fails on any finding.
set -euo pipefail
cd "$(dirname "$0")"
SECS="${FUZZ_SMOKE_SECS:-20}"
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked --quiet
fi
export RUSTC_BOOTSTRAP=1
cargo fuzz build -O
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for target in $(cargo fuzz list); do
    mkdir -p "$scratch/$target"
    cp corpus/"$target"/* "$scratch/$target"/
    if [ -d regressions/"$target" ]; then cp regressions/"$target"/* "$scratch/$target"/; fi
    echo "--- $target, ${SECS}s"
    rc=0
    cargo fuzz run -O "$target" "$scratch/$target" -- \
        -max_total_time="$SECS" -max_len=4096 -malloc_limit_mb=512 -timeout=10 \
        -print_final_stats=1 -artifact_prefix="$scratch/" >"$scratch/$target.log" 2>&1 || rc=$?
    grep -E "INITED|DONE|stat::average_exec_per_sec" "$scratch/$target.log" || true
    if [ "$rc" != 0 ]; then
        tail -n 40 "$scratch/$target.log"
        mkdir -p artifacts-ci
        cp "$scratch"/crash-* "$scratch"/leak-* "$scratch"/timeout-* "$scratch"/oom-* artifacts-ci/ 2>/dev/null || true
        echo "fuzz target $target failed (exit $rc); its input is kept in fuzz/artifacts-ci/"
        exit 1
    fi
done
