#!/usr/bin/env python3
"""Export scikit-learn's bundled real data sets as SageMaker CSV train/validation splits.

Writes (no downloads: both data sets ship inside the scikit-learn package):
    data/breast-cancer/train.csv, data/breast-cancer/validation.csv
        load_breast_cancer(): 569 rows, 30 decimal features, label 0 = malignant, 1 = benign
        (scikit-learn's coding, kept as is).
    data/digits/train.csv, data/digits/validation.csv
        load_digits(): 1797 rows, 64 integer features (0-16), labels 0-9.

Format: SageMaker CSV, no header, label in the first column, then the features, comma
separated, "\n" line endings. Labels are written as integers; breast cancer features in their
shortest round-trip decimal form (repr of the float64 scikit-learn holds, so parsing them back
gives exactly the same doubles); digits features as integers.

Each split is also written as RecordIO-protobuf by the SageMaker Python SDK v2's own writer
(sagemaker.amazon.common.write_numpy_to_dense_tensor: one Record per row, float32 features
under "values", float32 label), as data/<set>/<split>.pbr, so the main job and the tests train
from files SageMaker's own tooling produced. (float32 of the CSV's float64 values: the same
floats MLCore's CSV reader parses.)

Split: sklearn.model_selection.train_test_split(test_size=0.2, random_state=0, stratify=y).

Rerun (deterministic, overwrites the files above):
    .venv/bin/python scripts/export_datasets.py
"""
import os
import sys

import numpy as np
os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
from sagemaker.amazon.common import write_numpy_to_dense_tensor
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.model_selection import train_test_split

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def fmt_float(v: float) -> str:
    s = np.format_float_positional(float(v), unique=True, trim="-")
    assert float(s) == float(v), (v, s)
    return s


def fmt_int(v: float) -> str:
    iv = int(v)
    assert iv == v, v
    return str(iv)


def write_csv(path: str, x: np.ndarray, y: np.ndarray, fmt_feature) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", newline="\n") as f:
        for row, label in zip(x, y):
            f.write(",".join([fmt_int(label)] + [fmt_feature(v) for v in row]))
            f.write("\n")


def check_roundtrip(path: str, x: np.ndarray, y: np.ndarray) -> None:
    data = np.loadtxt(path, delimiter=",", dtype=np.float64, ndmin=2)
    assert data.shape == (x.shape[0], x.shape[1] + 1), (path, data.shape)
    assert np.array_equal(data[:, 0], y.astype(np.float64)), path
    assert np.array_equal(data[:, 1:], x.astype(np.float64)), path


def export(name: str, x: np.ndarray, y: np.ndarray, fmt_feature) -> None:
    x_tr, x_va, y_tr, y_va = train_test_split(x, y, test_size=0.2, random_state=0, stratify=y)
    for split, xs, ys in (("train", x_tr, y_tr), ("validation", x_va, y_va)):
        path = os.path.join(ROOT, "data", name, f"{split}.csv")
        write_csv(path, xs, ys, fmt_feature)
        check_roundtrip(path, xs, ys)
        with open(os.path.join(ROOT, "data", name, f"{split}.pbr"), "wb") as f:
            write_numpy_to_dense_tensor(f, xs.astype(np.float32), ys.astype(np.float32))
        counts = np.bincount(ys.astype(np.int64))
        print(f"{os.path.relpath(path, ROOT)}: {xs.shape[0]} rows x {xs.shape[1]} features, "
              f"label counts {counts.tolist()}", file=sys.stderr)


def main() -> int:
    bc = load_breast_cancer()
    export("breast-cancer", bc.data, bc.target, fmt_float)
    digits = load_digits()
    export("digits", digits.data, digits.target, fmt_int)
    return 0


if __name__ == "__main__":
    sys.exit(main())
