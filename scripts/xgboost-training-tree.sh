#!/bin/sh
# Lays out a SageMaker training tree (/opt/ml as SageMaker lays it out) under $1 for the XGBoost
# algorithm on the bundled breast-cancer data: `train` and `validation` as text/csv (label
# first, no header, as SageMaker XGBoost reads CSV) with the hyperparameters the SageMaker SDK's
# XGBoost estimator sends (every value a string). Idempotent.
set -eu
root=${1:?usage: scripts/xgboost-training-tree.sh DIR}
here=$(cd "$(dirname "$0")/.." && pwd)
rm -rf "$root"
mkdir -p "$root/input/config" "$root/input/data/train" "$root/input/data/validation" "$root/model" "$root/output" "$root/checkpoints"
cp "$here/data/breast-cancer/train.csv" "$root/input/data/train/train.csv"
cp "$here/data/breast-cancer/validation.csv" "$root/input/data/validation/validation.csv"
cat > "$root/input/config/hyperparameters.json" <<'JSON'
{"num_round": "50", "objective": "binary:logistic", "max_depth": "4", "eta": "0.3", "eval_metric": "auc,logloss",
 "early_stopping_rounds": "10", "_tuning_objective_metric": "validation:auc"}
JSON
cat > "$root/input/config/inputdataconfig.json" <<'JSON'
{"train": {"ContentType": "text/csv", "TrainingInputMode": "File", "S3DistributionType": "FullyReplicated", "RecordWrapperType": "None"},
 "validation": {"ContentType": "text/csv", "TrainingInputMode": "File", "S3DistributionType": "FullyReplicated", "RecordWrapperType": "None"}}
JSON
cat > "$root/input/config/resourceconfig.json" <<'JSON'
{"current_host": "algo-1", "hosts": ["algo-1"], "network_interface_name": "eth0"}
JSON
