#!/bin/sh
# Lays out a SageMaker training tree (/opt/ml as SageMaker lays it out) under $2 for PCA or
# k-means ($1 = pca | kmeans) on the bundled digits data: the RecordIO-protobuf channels written
# by the SageMaker Python SDK's own writer (their labels are ignored, as SageMaker's unsupervised
# algorithms ignore them), `train` from train.pbr and `test` from validation.pbr. Idempotent.
set -eu
algorithm=${1:?usage: scripts/unsupervised-training-tree.sh pca|kmeans DIR}
root=${2:?usage: scripts/unsupervised-training-tree.sh pca|kmeans DIR}
here=$(cd "$(dirname "$0")/.." && pwd)
rm -rf "$root"
mkdir -p "$root/input/config" "$root/input/data/train" "$root/input/data/test" "$root/model" "$root/output"
cp "$here/data/digits/train.pbr" "$root/input/data/train/part-0.pbr"
cp "$here/data/digits/validation.pbr" "$root/input/data/test/part-0.pbr"
case "$algorithm" in
  pca) echo '{"feature_dim": "64", "num_components": "10", "mini_batch_size": "500", "subtract_mean": "True", "algorithm_mode": "regular"}' ;;
  kmeans) echo '{"feature_dim": "64", "k": "10", "mini_batch_size": "500", "epochs": "5", "init_method": "kmeans++", "eval_metrics": "[\"msd\", \"ssd\"]", "force_dense": "True"}' ;;
  *) echo "unknown algorithm $algorithm (pca or kmeans)" >&2; exit 2 ;;
esac > "$root/input/config/hyperparameters.json"
cat > "$root/input/config/inputdataconfig.json" <<'JSON'
{"train": {"ContentType": "application/x-recordio-protobuf", "TrainingInputMode": "File", "S3DistributionType": "ShardedByS3Key", "RecordWrapperType": "RecordIO"},
 "test": {"ContentType": "application/x-recordio-protobuf", "TrainingInputMode": "File", "S3DistributionType": "FullyReplicated", "RecordWrapperType": "RecordIO"}}
JSON
cat > "$root/input/config/resourceconfig.json" <<'JSON'
{"current_host": "algo-1", "hosts": ["algo-1"], "network_interface_name": "eth0"}
JSON
