#!/bin/sh
# Lays out a SageMaker training tree (/opt/ml as SageMaker lays it out) under $1 for the image
# classifier on the bundled synthetic shapes (data/shapes, written by
# scripts/make_image_datasets.py): `train` and `validation` as application/x-image channels (PNG
# and JPEG files in class folders) with their .lst files in `train_lst` and `validation_lst`,
# and the hyperparameters the SageMaker SDK's ImageClassification estimator sends (every value a
# string): a ResNet-20 on 32×32 RGB images, six classes. Idempotent.
set -eu
root=${1:?usage: scripts/image-training-tree.sh DIR [EPOCHS]}
epochs=${2:-10}
here=$(cd "$(dirname "$0")/.." && pwd)
rm -rf "$root"
mkdir -p "$root/input/config" "$root/input/data/train_lst" "$root/input/data/validation_lst" "$root/model" "$root/output" "$root/checkpoints"
cp -R "$here/data/shapes/train" "$root/input/data/train"
cp -R "$here/data/shapes/validation" "$root/input/data/validation"
cp "$here/data/shapes/train.lst" "$root/input/data/train_lst/train.lst"
cp "$here/data/shapes/validation.lst" "$root/input/data/validation_lst/validation.lst"
cat > "$root/input/config/hyperparameters.json" <<JSON
{"num_classes": "6", "num_training_samples": "1200", "num_layers": "20", "image_shape": "3,32,32",
 "epochs": "$epochs", "mini_batch_size": "32", "learning_rate": "0.05", "lr_scheduler_step": "$((epochs * 3 / 4))",
 "lr_scheduler_factor": "0.1", "augmentation_type": "crop", "top_k": "2", "checkpoint_frequency": "$epochs",
 "_tuning_objective_metric": "validation:accuracy"}
JSON
cat > "$root/input/config/inputdataconfig.json" <<'JSON'
{"train": {"ContentType": "application/x-image", "TrainingInputMode": "File", "S3DistributionType": "FullyReplicated", "RecordWrapperType": "None"},
 "validation": {"ContentType": "application/x-image", "TrainingInputMode": "File", "S3DistributionType": "FullyReplicated", "RecordWrapperType": "None"},
 "train_lst": {"ContentType": "application/x-image", "TrainingInputMode": "File", "S3DistributionType": "FullyReplicated", "RecordWrapperType": "None"},
 "validation_lst": {"ContentType": "application/x-image", "TrainingInputMode": "File", "S3DistributionType": "FullyReplicated", "RecordWrapperType": "None"}}
JSON
cat > "$root/input/config/resourceconfig.json" <<'JSON'
{"current_host": "algo-1", "hosts": ["algo-1"], "network_interface_name": "eth0"}
JSON
