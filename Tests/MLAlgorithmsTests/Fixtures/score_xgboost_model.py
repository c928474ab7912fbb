#!/usr/bin/env python3
"""Scores rows with an XGBoost model file using XGBoost itself (no MLCore), so tests can check
that a model our exporter writes loads in XGBoost and predicts what we predict.

Usage: score_xgboost_model.py MODEL_PATH X_NPY OUT_NPY [--margin]
  MODEL_PATH  a model saved as JSON (.json) or UBJSON (.ubj), loaded with
              xgboost.Booster(model_file=MODEL_PATH)
  X_NPY       2-D float array [rows, features]; NaN = missing
  OUT_NPY     written as float32: booster.predict() (probabilities / values; 2-D [rows, classes]
              for multi:softprob), or the raw margin with --margin
Exit status 0 on success; XGBoost's error message on stderr and status 1 otherwise.
Single-threaded (nthread=1).
"""
import sys

import numpy as np
import xgboost as xgb


def main(argv):
    args = [a for a in argv if a != "--margin"]
    if len(args) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    model_path, x_path, out_path = args
    try:
        booster = xgb.Booster(params={"nthread": 1}, model_file=model_path)
        x = np.asarray(np.load(x_path), dtype=np.float32)
        if x.ndim != 2:
            raise ValueError(f"X must be 2-D, got shape {x.shape}")
        dmat = xgb.DMatrix(x, missing=np.nan, nthread=1)
        pred = booster.predict(dmat, output_margin="--margin" in argv)
        with open(out_path, "wb") as f:  # a file object: numpy adds no ".npy" suffix
            np.save(f, np.ascontiguousarray(pred, dtype=np.float32))
    except Exception as e:  # noqa: BLE001 - report any load/predict failure to the caller
        print(f"score_xgboost_model.py: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
