#!/usr/bin/env bash
# Kills `mlc train` at random points and checks that nothing is lost (docs/reliability.md, "Faults").
#
# For each algorithm, on a small bundled data set:
#   - one uninterrupted run: the reference model bytes;
#   - kill -9 trials: start `mlc train`, SIGKILL it after a random delay (up to --kills times per
#     trial), then restart it until it finishes; the final model directory must hold exactly the
#     reference files, byte for byte, and no hidden temporary file may be left in the model or the
#     checkpoint directory; no restart may skip a damaged checkpoint;
#   - SIGTERM trials: SIGTERM after a random delay; `mlc train` must exit 0 with a model that
#     `mlc predict` loads and uses; a restart then ends with the reference bytes.
# Delays are drawn uniformly from [0, 1.1 × the reference run's time], seeded (--seed), so a
# failing trial can be replayed. Prints one summary row per algorithm and exits 1 if any trial
# failed; the failing trial's directory is kept under the work directory.
#
# usage: scripts/fault-kill.sh [--trials N] [--term-trials N] [--kills N] [--seed S]
#                              [--algorithms "linear-learner pca kmeans xgboost image-classification"]
#                              [--mlc PATH] [--work DIR] [--quick]
# --quick: 2 kill -9 trials and 1 SIGTERM trial per algorithm, the image classifier on 2 epochs
# (about two minutes on 2 cores); the default (make test-long) runs 20 and 5.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
trials=20 term_trials=5 kills=3 seed=13 image_epochs=3
algorithms="linear-learner pca kmeans xgboost image-classification"
mlc="$here/.build/release/mlc"
work=""
while [ $# -gt 0 ]; do
  case "$1" in
    --trials) trials=$2; shift 2 ;;
    --term-trials) term_trials=$2; shift 2 ;;
    --kills) kills=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --algorithms) algorithms=$2; shift 2 ;;
    --mlc) mlc=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --quick) trials=2 term_trials=1 kills=2 image_epochs=2; shift ;;
    *) echo "unknown option $1 (see the header of $0)" >&2; exit 2 ;;
  esac
done
[ -x "$mlc" ] || { echo "no mlc at $mlc: build it first (swift build -c release) or pass --mlc" >&2; exit 2; }
if [ -z "$work" ]; then work=$(mktemp -d "${TMPDIR:-/tmp}/mlc-fault-kill.XXXXXX"); fi
mkdir -p "$work"
RANDOM=$seed

# A SageMaker tree for $1 under $2, small enough that a run takes seconds.
make_tree() {
  local algorithm=$1 root=$2
  case "$algorithm" in
    linear-learner)
      "$here/scripts/local-training-tree.sh" "$root"
      # More epochs than the SDK's example so kills land inside training, not only in the read.
      python3 - "$root/input/config/hyperparameters.json" <<'PY' 2>/dev/null || sed -i 's/"epochs": "[0-9]*"/"epochs": "30"/' "$root/input/config/hyperparameters.json"
import json, sys
p = sys.argv[1]; h = json.load(open(p)); h["epochs"] = "30"; h.pop("early_stopping_patience", None)
json.dump(h, open(p, "w"))
PY
      ;;
    pca|kmeans)
      "$here/scripts/unsupervised-training-tree.sh" "$algorithm" "$root"
      # The digits several times over (PCA 16 files, 23k rows; k-means 4): runs long enough for
      # kills to land inside them.
      copies=$([ "$algorithm" = pca ] && echo 15 || echo 3)
      for i in $(seq 1 "$copies"); do cp "$root/input/data/train/part-0.pbr" "$root/input/data/train/part-$i.pbr"; done ;;
    xgboost)
      "$here/scripts/xgboost-training-tree.sh" "$root"
      # The model on SIGTERM too (SageMaker XGBoost writes it only when asked), and more rounds.
      sed -i 's/"num_round": "50"/"num_round": "200"/; s/"early_stopping_rounds": "10", //; s/{"num_round"/{"save_model_on_termination": "true", "num_round"/' \
        "$root/input/config/hyperparameters.json" ;;
    image-classification) "$here/scripts/image-training-tree.sh" "$root" "$image_epochs" ;;
  esac
  mkdir -p "$root/checkpoints"
}

validation_input() {
  case "$1" in
    image-classification) echo "$here/data/shapes/validation/star" ;;
    pca|kmeans) echo "$here/data/digits/validation.csv" ;;
    linear-learner|xgboost) echo "$here/data/breast-cancer/validation.csv" ;;
  esac
}

run_to_end() { "$mlc" train --algorithm "$1" --root "$2" --no-progress >>"$2/runs.log" 2>&1; }

# Hidden or temporary files a write left behind (Foundation's atomic writes use .dat.nosync*).
leftovers() { find "$1/model" "$1/checkpoints" -mindepth 1 \( -name '.*' -o -name '*.tmp' -o -name '*~' \) 2>/dev/null | sed "s|$1/||"; }

# Whether $1/model holds exactly the reference's files with the reference's bytes.
same_model() {
  local root=$1 ref=$2
  [ "$(cd "$ref/model" && ls -A | sort)" = "$(cd "$root/model" && ls -A | sort)" ] || return 1
  local f
  for f in $(cd "$ref/model" && ls -A); do cmp -s "$ref/model/$f" "$root/model/$f" || return 1; done
}

delay() { awk -v r=$RANDOM -v t="$1" 'BEGIN { printf "%.3f", r / 32768 * t * 1.1 }'; }

# Waits (at most 5 s) until process $1 handles SIGTERM: mlc installs its handler first thing in
# main, but a signal in the milliseconds before that (the loader, the Swift runtime) takes the
# kernel's default action, exit 143, with nothing written. SIGTERM delays count from here.
wait_for_handler() {
  local pid=$1 i mask ignored caught
  for i in $(seq 1 500); do
    # SIGTERM (bit 15) ignored or caught: mlc ignores it, then libdispatch's source catches it.
    mask=$(awk '/^Sig(Ign|Cgt):/ { printf "%s ", $2 }' "/proc/$pid/status" 2>/dev/null) || return 0
    read -r ignored caught <<<"$mask"
    [ -n "$caught" ] || return 0
    (( (0x$ignored | 0x$caught) & 0x4000 )) && return 0
    sleep 0.01
  done
}

summary=()
failed=0
for algorithm in $algorithms; do
  ref="$work/$algorithm-reference"
  make_tree "$algorithm" "$ref"
  start=$(date +%s.%N)
  run_to_end "$algorithm" "$ref" || { echo "$algorithm: the uninterrupted run failed (see $ref/runs.log)" >&2; exit 1; }
  seconds=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.2f", e - s }')
  echo "$algorithm: uninterrupted run ${seconds}s; model: $(cd "$ref/model" && ls -A | tr '\n' ' ')"

  identical=0 killed=0 leftover_mid=0 bad=0
  for t in $(seq 1 "$trials"); do
    root="$work/$algorithm-kill-$t"
    make_tree "$algorithm" "$root"
    trial_kills=$(( RANDOM % kills + 1 ))
    for k in $(seq 1 "$trial_kills"); do
      "$mlc" train --algorithm "$algorithm" --root "$root" --no-progress >>"$root/runs.log" 2>&1 &
      pid=$!
      sleep "$(delay "$seconds")"
      if kill -9 "$pid" 2>/dev/null; then killed=$((killed + 1)); fi
      wait "$pid" 2>/dev/null || true
      # A kill in the middle of a write may leave the writer's temporary file; the next run must clear it.
      [ -z "$(leftovers "$root")" ] || leftover_mid=$((leftover_mid + 1))
    done
    problem=""
    run_to_end "$algorithm" "$root" || problem="the restart failed"
    [ -n "$problem" ] || same_model "$root" "$ref" || problem="the final model differs from the uninterrupted run's"
    [ -n "$problem" ] || [ -z "$(leftovers "$root")" ] || problem="left behind: $(leftovers "$root" | tr '\n' ' ')"
    [ -n "$problem" ] || ! grep -q "Skipping checkpoint" "$root/runs.log" || problem="a restart found a damaged checkpoint: $(grep -m1 'Skipping checkpoint' "$root/runs.log")"
    if [ -z "$problem" ]; then
      identical=$((identical + 1)); rm -rf "$root"
    else
      bad=$((bad + 1)); failed=1; echo "FAIL $algorithm kill trial $t ($trial_kills kills): $problem (kept: $root)" >&2
    fi
  done

  term_ok=0 term_bad=0
  for t in $(seq 1 "$term_trials"); do
    root="$work/$algorithm-term-$t"
    make_tree "$algorithm" "$root"
    "$mlc" train --algorithm "$algorithm" --root "$root" --no-progress >>"$root/runs.log" 2>&1 &
    pid=$!
    wait_for_handler "$pid"
    sleep "$(delay "$seconds")"
    kill -TERM "$pid" 2>/dev/null || true
    status=0; wait "$pid" || status=$?
    problem=""
    [ "$status" -eq 0 ] || problem="exit status $status after SIGTERM"
    if [ -z "$problem" ]; then
      rm -rf "$root/predictions"
      "$mlc" predict --model "$root/model" --input "$(validation_input "$algorithm")" --output "$root/predictions" \
        $( [ "$algorithm" = image-classification ] || echo --content-type "text/csv;label_size=1" ) >>"$root/runs.log" 2>&1 \
        || problem="the model written on SIGTERM does not predict"
    fi
    [ -n "$problem" ] || [ -z "$(leftovers "$root")" ] || problem="left behind after SIGTERM: $(leftovers "$root" | tr '\n' ' ')"
    [ -n "$problem" ] || run_to_end "$algorithm" "$root" || problem="the restart after SIGTERM failed"
    [ -n "$problem" ] || same_model "$root" "$ref" || problem="the restart after SIGTERM ends with a different model"
    if [ -z "$problem" ]; then
      term_ok=$((term_ok + 1)); rm -rf "$root"
    else
      term_bad=$((term_bad + 1)); failed=1; echo "FAIL $algorithm SIGTERM trial $t: $problem (kept: $root)" >&2
    fi
  done
  summary+=("$(printf '| %-20s | %6ss | %6d | %5d | %9d/%-3d | %11d | %8d/%-3d |' \
    "$algorithm" "$seconds" "$trials" "$killed" "$identical" "$trials" "$leftover_mid" "$term_ok" "$term_trials")")
  rm -rf "$ref"
done

echo
echo "| algorithm            | run     | kill-9 trials | kills | identical | temp files seen mid-way | SIGTERM ok |"
echo "| -------------------- | ------- | ------ | ----- | ------------- | ----------- | ------------ |"
printf '%s\n' "${summary[@]}"
if [ "$failed" -ne 0 ]; then echo "some trials failed; kept under $work" >&2; exit 1; fi
rmdir "$work" 2>/dev/null || true
echo "all trials: the final model byte-identical to the uninterrupted run's, nothing left behind"
