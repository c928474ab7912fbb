#!/bin/sh
# Lays out a SageMaker training tree (/opt/ml as SageMaker lays it out) under $1 for the linear
# learner on the bundled breast-cancer data, so `mlc train --root $1` runs the container contract
# locally. The channels are RecordIO-protobuf files written by the SageMaker Python SDK's own
# writer (scripts/export_datasets.py); hyperparameters.json and inputdataconfig.json are exactly
# what the SDK v2 sends for `LinearLearner(...).fit(record_sets)` (Tests/Fixtures/sdk-hyperparameters,
# case main-job-breast-cancer). Idempotent: the tree is rebuilt from scratch each time.
set -eu
root=${1:?usage: scripts/local-training-tree.sh DIR}
here=$(cd "$(dirname "$0")/.." && pwd)
sdk="$here/Tests/Fixtures/sdk-hyperparameters"
rm -rf "$root"
mkdir -p "$root/input/config" "$root/input/data/train" "$root/input/data/validation" "$root/model" "$root/output"
cp "$here/data/breast-cancer/train.pbr" "$root/input/data/train/part-0.pbr"
cp "$here/data/breast-cancer/validation.pbr" "$root/input/data/validation/part-0.pbr"
cp "$sdk/main-job-breast-cancer.json" "$root/input/config/hyperparameters.json"
cp "$sdk/main-job-breast-cancer.inputdataconfig.json" "$root/input/config/inputdataconfig.json"
cat > "$root/input/config/resourceconfig.json" <<'JSON'
{"current_host": "algo-1", "hosts": ["algo-1"], "network_interface_name": "eth0"}
JSON
