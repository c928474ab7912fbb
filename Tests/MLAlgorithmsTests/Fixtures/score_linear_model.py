#!/usr/bin/env python3
"""Scores rows with a linear-learner model.safetensors using only numpy and safetensors —
no MLCore — so LinearModelInteropTests can check the artifact is readable outside the project.

Usage: score_linear_model.py MODEL_DIR '[[x11, x12, ...], ...]'
Prints: a JSON list of score lists (one per row).
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
s = x @ m["weight"].astype(np.float64) + m["bias"].astype(np.float64)
kind = meta["predictor_type"]
if kind == "binary_classifier":
    scores = 1.0 / (1.0 + np.exp(-s))
elif kind == "multiclass_classifier":
    e = np.exp(s - s.max(axis=1, keepdims=True))
    scores = e / e.sum(axis=1, keepdims=True)
else:
    scores = s
print(json.dumps(scores.tolist()))
