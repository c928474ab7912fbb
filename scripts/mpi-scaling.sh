#!/usr/bin/env bash
# Training with 1 and 2 MPI processes (one worker thread each) beside 1 and 2 in-process
# workers, for XGBoost and k-means on generated rows: the `training` phase of the job's
# timings.json and the whole command's wall time, medians of REPEAT runs, one JSON line per
# configuration. Checks first that every configuration writes the same model bytes.
#
#   scripts/mpi-scaling.sh                 # 200,000 rows × 32, 3 runs each
#   ROWS=500000 REPEAT=5 scripts/mpi-scaling.sh
#
# Needs mpirun (scripts/setup.sh installs Open MPI) and .venv's numpy to generate the rows once.
set -euo pipefail
cd "$(dirname "$0")/.."
mlc=$PWD/.build/release/mlc
python=${MLBENCH_PYTHON:-$PWD/.venv/bin/python}
rows=${ROWS:-200000}
repeat=${REPEAT:-3}
work=${WORK:-${TMPDIR:-/tmp}/mlc-mpi-scaling-$rows}
[ -x "$mlc" ] || { echo "build first: swift build -c release" >&2; exit 1; }
command -v mpirun >/dev/null || { echo "mpirun not found (scripts/setup.sh installs Open MPI)" >&2; exit 1; }
mkdir -p "$work"

if [ ! -f "$work/train.csv" ]; then
  "$python" - "$work/train.csv" "$rows" <<'EOF'
import sys, numpy as np
path, rows = sys.argv[1], int(sys.argv[2])
r = np.random.default_rng(3)
x = r.standard_normal((rows, 32)).astype(np.float32)
w = r.standard_normal(32)
y = ((x @ w + 0.5 * r.standard_normal(rows)) > 0).astype(np.float32)
np.savetxt(path, np.column_stack([y, x]), delimiter=",", fmt="%.6g")
EOF
fi

# tree ALGORITHM HYPERPARAMETERS CONTENT_TYPE: a fresh /opt/ml tree (no model, no checkpoints).
tree() {
  local root=$work/$1
  rm -rf "$root"
  mkdir -p "$root/input/config" "$root/input/data/train"
  ln -s "$work/train.csv" "$root/input/data/train/train.csv"
  printf '%s' "$2" > "$root/input/config/hyperparameters.json"
  printf '{"train": {"ContentType": "%s"}}' "$3" > "$root/input/config/inputdataconfig.json"
  printf '{"current_host": "algo-1", "hosts": ["algo-1"]}' > "$root/input/config/resourceconfig.json"
  echo "$root"
}

# run ROOT ALGORITHM MODE N → "training_seconds wall_seconds"; MODE is mpi or threads.
run() {
  local root=$1 algorithm=$2 mode=$3 n=$4 start end
  rm -rf "$root/model" "$root/output" "$root/checkpoints"
  start=$(date +%s.%N)
  if [ "$mode" = mpi ]; then
    mpirun --allow-run-as-root --oversubscribe -np "$n" "$mlc" train --algorithm "$algorithm" --root "$root" --workers 1 --no-progress >/dev/null
  else
    "$mlc" train --algorithm "$algorithm" --root "$root" --workers "$n" --no-progress >/dev/null
  fi
  end=$(date +%s.%N)
  "$python" -c 'import json,sys; t=json.load(open(sys.argv[1])); print(next(p["seconds"] for p in t["phases"] if p["name"]=="training"), float(sys.argv[3])-float(sys.argv[2]))' \
    "$root/output/data/timings.json" "$start" "$end"
}

measure() {
  local algorithm=$1 hp=$2 type=$3 root reference
  root=$(tree "$algorithm" "$hp" "$type")
  reference=""
  for config in "threads 1" "threads 2" "mpi 1" "mpi 2"; do
    set -- $config
    run "$root" "$algorithm" "$1" "$2" >/dev/null
    sum=$(cat "$root"/model/* | sha256sum | cut -c1-16)
    if [ -z "$reference" ]; then reference=$sum; elif [ "$sum" != "$reference" ]; then
      echo "error: $algorithm $config wrote another model ($sum, not $reference)" >&2; exit 1
    fi
    trainings=(); walls=()
    for _ in $(seq "$repeat"); do
      read -r t w < <(run "$root" "$algorithm" "$1" "$2")
      trainings+=("$t"); walls+=("$w")
    done
    "$python" -c '
import json, statistics, sys
algorithm, mode, n, rows, model = sys.argv[1:6]
half = len(sys.argv[6:]) // 2
t = [float(v) for v in sys.argv[6:6 + half]]; w = [float(v) for v in sys.argv[6 + half:]]
print(json.dumps({"suite": "mpi-scaling", "workload": f"{algorithm}_{int(rows)//1000}kx32", "impl": f"mlcore-{mode}",
                  "ranks_or_workers": int(n), "training_median_s": statistics.median(t), "training_min_s": min(t),
                  "training_max_s": max(t), "wall_median_s": statistics.median(w), "runs": len(t), "model_sha256_16": model}))
' "$algorithm" "$1" "$2" "$rows" "$sum" "${trainings[@]}" "${walls[@]}"
  done
}

measure xgboost '{"objective": "binary:logistic", "num_round": "30", "max_depth": "6", "eta": "0.3"}' "text/csv"
measure kmeans '{"k": "16", "feature_dim": "33", "mini_batch_size": "5000", "epochs": "3"}' "text/csv;label_size=0"
