#!/usr/bin/env python3
"""Reproduces a PCA or k-means model's predictions from its model.safetensors with only numpy and
safetensors — no MLCore — so UnsupervisedModelInteropTests can check the artifact is readable
outside the project.

Usage: score_unsupervised_model.py MODEL_DIR '[[x11, x12, ...], ...]'
Prints, as JSON:
  pca:    a list of projections, (x - mean) @ components, one list of num_components per row
  kmeans: a list of [closest_cluster, distance_to_cluster] (Euclidean) per row
"""
import json
import sys

import numpy as np
from safetensors.numpy import load_file

model_dir, rows = sys.argv[1], json.loads(sys.argv[2])
with open(f"{model_dir}/model.json") as f:
    meta = json.load(f)
m = load_file(f"{model_dir}/model.safetensors")
x = np.asarray(rows, dtype=np.float64)
if meta["algorithm"] == "pca":
    out = (x - m["mean"].astype(np.float64)) @ m["components"].astype(np.float64)
    print(json.dumps(out.tolist()))
elif meta["algorithm"] == "kmeans":
    c = m["centroids"].astype(np.float64)
    d = np.sqrt(((x[:, None, :] - c[None, :, :]) ** 2).sum(axis=2))
    print(json.dumps([[int(d[i].argmin()), float(d[i].min())] for i in range(len(x))]))
else:
    sys.exit(f"unknown algorithm {meta['algorithm']}")
