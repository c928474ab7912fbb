#!/bin/sh
# Lays out a SageMaker training tree (/opt/ml as SageMaker lays it out) under $1 for the
# linear learner on the bundled breast-cancer data, so `mlc train --root $1` runs the container
# contract locally. Idempotent: the tree is rebuilt from scratch each time.
set -eu
root=${1:?usage: scripts/local-training-tree.sh DIR}
here=$(cd "$(dirname "$0")/.." && pwd)
rm -rf "$root"
mkdir -p "$root/input/config" "$root/input/data/train" "$root/input/data/validation" "$root/model" "$root/output"
cp "$here/data/breast-cancer/train.csv" "$root/input/data/train/part-0.csv"
cp "$here/data/breast-cancer/validation.csv" "$root/input/data/validation/part-0.csv"
# Every value a string, as SageMaker writes hyperparameters.json.
cat > "$root/input/config/hyperparameters.json" <<'JSON'
{"predictor_type": "binary_classifier", "mini_batch_size": "32", "epochs": "40", "feature_dim": "30"}
JSON
cat > "$root/input/config/inputdataconfig.json" <<'JSON'
{"train": {"ContentType": "text/csv", "TrainingInputMode": "File", "S3DistributionType": "FullyReplicated", "RecordWrapperType": "None"},
 "validation": {"ContentType": "text/csv", "TrainingInputMode": "File", "S3DistributionType": "FullyReplicated", "RecordWrapperType": "None"}}
JSON
cat > "$root/input/config/resourceconfig.json" <<'JSON'
{"current_host": "algo-1", "hosts": ["algo-1"], "network_interface_name": "eth0"}
JSON
