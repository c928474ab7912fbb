#!/usr/bin/env bash
# Fuzzes every parser of untrusted input with libFuzzer + AddressSanitizer (docs/reliability.md,
# "Fuzzing").
#   scripts/fuzz.sh [--seconds N] [TARGET...]   fuzz each target (all by default) for N s (default 15)
#   scripts/fuzz.sh --seeds                      regenerate the committed seed corpora in Fuzz/seeds
#   scripts/fuzz.sh --reproduce TARGET FILE...   run the harness on saved inputs (a crash file)
# MLFUZZ_FLAGS adds libFuzzer flags to every target's run (e.g. -use_value_profile=1).
#
# The harness (Fuzz/Sources/mlfuzz) is declared by Package.swift only when MLCORE_FUZZ=1 and is
# built in its own scratch path, .build-fuzz, so the release build in .build is never touched.
# Corpora grow in .build-fuzz/corpus/<target> from one run to the next (seeded from
# Fuzz/seeds/<target>); crashing, hanging or memory-hungry inputs land in
# .build-fuzz/findings/<target>/. Prints one summary line per target; exits 1 if any target found
# something.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=15
mode=fuzz
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=${2:?--seconds needs a value}; shift 2 ;;
    --seeds) mode=seeds; shift ;;
    --reproduce) mode=reproduce; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    -*) printf 'fuzz.sh: unknown option %s\n' "$1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done

scratch=.build-fuzz
# libFuzzer and the sanitizer runtimes come with the Swift toolchain (scripts/setup.sh installs
# everything else the build needs); say so plainly if this toolchain lacks them.
resource_dir=$(dirname "$(command -v swift)")/../lib/clang
if ! ls "$resource_dir"/*/lib/linux/libclang_rt.fuzzer*.a >/dev/null 2>&1; then
  echo "fuzz.sh: this Swift toolchain has no libFuzzer runtime under $resource_dir (-sanitize=fuzzer needs a swift.org Linux toolchain)" >&2
  exit 1
fi
# SwiftPM aliases `main` to the harness's renamed entry point; gold then warns once per ASan
# helper symbol it cannot export. Those warnings are expected in this build only, so they are
# filtered; anything else (errors included) is shown, and a failed build stops here (pipefail)
# rather than leaving an old harness to run.
MLCORE_FUZZ=1 swift build --scratch-path "$scratch" -c debug --product mlfuzz \
  -Xswiftc -sanitize=fuzzer,address 2>&1 \
  | { grep -v -e "warning: Cannot export local symbol '__asan" -e "swift-distributed-tracing" -e "CMakeLists.txt" || true; }
harness="$scratch/debug/mlfuzz"

case "$mode" in
  seeds)
    exec "$harness" --write-seeds Fuzz/seeds ;;
  reproduce)
    [ "${#targets[@]}" -ge 2 ] || { echo "usage: scripts/fuzz.sh --reproduce TARGET FILE..." >&2; exit 2; }
    ASAN_OPTIONS=detect_leaks=0 SWIFT_BACKTRACE=enable=no MLFUZZ_TARGET=${targets[0]} exec "$harness" -rss_limit_mb=2048 -timeout=10 "${targets[@]:1}" ;;
esac

declare -A max_len
while read -r name length _; do max_len[$name]=$length; done < <("$harness" --list)
[ "${#targets[@]}" -gt 0 ] || targets=($("$harness" --list | cut -d' ' -f1))

failed=()
for target in "${targets[@]}"; do
  [ -n "${max_len[$target]:-}" ] || { echo "fuzz.sh: no target $target" >&2; exit 2; }
  corpus="$scratch/corpus/$target" findings="$scratch/findings/$target" log="$scratch/logs/$target.log"
  # Findings are per run (the log keeps the crash report); a fixed one becomes a regression input
  # under Tests/Fixtures/fuzz-regressions/<target>/.
  rm -rf "$findings"
  mkdir -p "$corpus" "$findings" "$(dirname "$log")"
  # -timeout: one input taking 10 s is a hang; -rss_limit_mb / -malloc_limit_mb: a parser must
  # refuse a header that claims more than the input can hold before allocating it. Leak checks
  # are off: the harness builds its models lazily, once, which LeakSanitizer would report.
  # A dictionary (Fuzz/dictionaries/<target>.dict: keys, content types, markers) lets mutations
  # use whole tokens the parser compares against.
  dict=()
  [ -f "Fuzz/dictionaries/$target.dict" ] && dict=(-dict="Fuzz/dictionaries/$target.dict")
  status=0
  # The Swift runtime's backtracer reads the crashed stack, which ASan reports as a second
  # error hiding the first: off, so the report is the trap itself.
  ASAN_OPTIONS=detect_leaks=0 SWIFT_BACKTRACE=enable=no MLFUZZ_TARGET=$target "$harness" -max_total_time="$seconds" -max_len="${max_len[$target]}" \
    -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=2048 -detect_leaks=0 -print_final_stats=1 \
    "${dict[@]}" ${MLFUZZ_FLAGS:-} -artifact_prefix="$findings/" "$corpus" "Fuzz/seeds/$target" >"$log" 2>&1 || status=$?
  # The last status line: "#<runs> DONE cov: <n> ft: <n> corp: <n>/<size> … exec/s: <n> rss: <n>Mb".
  last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
  runs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$log" | tail -1)
  field() { sed -nE "s#.* $1: *([0-9]+).*#\1#p" <<<"$last"; }
  cov=$(field cov) ft=$(field ft) corp=$(sed -nE 's/.* corp: *([0-9]+)\/.*/\1/p' <<<"$last") rate=$(field 'exec/s')
  found=$(find "$findings" -type f | wc -l)
  printf 'fuzz: %-18s runs=%-9s cov=%-6s ft=%-6s corpus=%-5s exec/s=%-7s seconds=%s crashes=%s\n' \
    "$target" "${runs:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "${rate:-?}" "$seconds" "$found"
  if [ "$status" -ne 0 ] || [ "$found" -ne 0 ]; then
    failed+=("$target")
    grep -E 'ERROR: |SUMMARY: |Fatal error|failed: |Test unit written to' "$log" | head -5 | sed 's/^/    /' || true
  fi
done

if [ "${#failed[@]}" -gt 0 ]; then
  echo "fuzz: findings in ${failed[*]} (inputs under $scratch/findings/, logs under $scratch/logs/;" \
       "reproduce with scripts/fuzz.sh --reproduce TARGET FILE)" >&2
  exit 1
fi
