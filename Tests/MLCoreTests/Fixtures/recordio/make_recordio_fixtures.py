#!/usr/bin/env python3
"""Writes the RecordIO-protobuf fixtures RecordIOProtobufTests reads, with the SageMaker Python
SDK v2's own writers, into Fixtures/recordio/.

Run from the repository root:
    .venv/bin/python Tests/MLCoreTests/Fixtures/recordio/make_recordio_fixtures.py

Each NAME.pbr is written by sagemaker.amazon.common.write_numpy_to_dense_tensor or
write_spmatrix_to_sparse_tensor; NAME.json beside it holds the arrays the file was made from
(as Python floats, so float32 values are exact and float64 ones round to Float exactly as the
Swift reader rounds them). Seeds are fixed, so rerunning rewrites the same bytes.

Note the SDK's dtype rules (serializer_utils._resolve_type): float32 -> Float32Tensor,
float64 -> Float64Tensor, and numpy's default int (int64) -> Int32Tensor; an int32 array is
rejected by the SDK, so the int fixture starts from int64 values that fit in int32.
"""
import io
import json
import os
import warnings

os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
warnings.filterwarnings("ignore")

import numpy as np  # noqa: E402
import scipy.sparse  # noqa: E402
import sagemaker  # noqa: E402
from sagemaker.amazon.common import (  # noqa: E402
    write_numpy_to_dense_tensor,
    write_spmatrix_to_sparse_tensor,
)

out = os.path.dirname(os.path.abspath(__file__))


def save(name, writer, array, labels, description):
    buffer = io.BytesIO()
    writer(buffer, array, labels)
    with open(os.path.join(out, name + ".pbr"), "wb") as f:
        f.write(buffer.getvalue())
    expected = {
        "description": description,
        "dtype": str(array.dtype),
        "labels": None if labels is None else [float(x) for x in labels],
        "label_dtype": None if labels is None else str(labels.dtype),
    }
    if scipy.sparse.issparse(array):
        csr = array.tocsr()
        expected["sparse"] = {
            "rows": int(csr.shape[0]),
            "columns": int(csr.shape[1]),
            "indptr": [int(x) for x in csr.indptr],
            "indices": [int(x) for x in csr.indices],
            "data": [float(x) for x in csr.data],
        }
    else:
        expected["dense"] = [[float(x) for x in row] for row in array]
    with open(os.path.join(out, name + ".json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")


rng = np.random.default_rng(20240517)

# float32 features and float32 labels (binary 0/1), the Linear Learner training layout.
save("dense_f32_labels", write_numpy_to_dense_tensor,
     rng.standard_normal((6, 4)).astype(np.float32),
     rng.integers(0, 2, 6).astype(np.float32),
     "dense float32 6x4, float32 labels")

# float64 features and float64 labels: Float64Tensor, rounded to Float by the reader.
save("dense_f64_labels", write_numpy_to_dense_tensor,
     rng.standard_normal((4, 3)) * 1000.0,
     rng.standard_normal(4),
     "dense float64 4x3, float64 labels")

# int (int64) features and int labels: Int32Tensor for both.
save("dense_i32_labels", write_numpy_to_dense_tensor,
     rng.integers(-100_000, 100_000, (3, 5)),
     rng.integers(0, 10, 3),
     "dense int64->Int32Tensor 3x5, int labels (Int32Tensor)")

# Features without labels (inference requests, unsupervised training).
save("dense_f32_nolabels", write_numpy_to_dense_tensor,
     rng.standard_normal((5, 2)).astype(np.float32),
     None,
     "dense float32 5x2, no labels")

# Sparse CSR with empty rows (first, middle and last), float32 labels.
dense = np.zeros((7, 12), dtype=np.float32)
for r in (1, 2, 4, 5):
    columns = rng.choice(12, size=rng.integers(1, 5), replace=False)
    dense[r, columns] = rng.standard_normal(len(columns)).astype(np.float32)
save("sparse_f32_labels", write_spmatrix_to_sparse_tensor,
     scipy.sparse.csr_matrix(dense),
     rng.integers(0, 3, 7).astype(np.float32),
     "sparse CSR float32 7x12, rows 0, 3 and 6 empty, float32 labels")

# Sparse float64 without labels.
dense64 = np.zeros((3, 40))
dense64[0, [0, 39]] = [1.5, -2.25]
dense64[2, [7, 8, 20]] = rng.standard_normal(3)
save("sparse_f64_nolabels", write_spmatrix_to_sparse_tensor,
     scipy.sparse.csr_matrix(dense64),
     None,
     "sparse CSR float64 3x40, row 1 empty, no labels")

files = sorted(f for f in os.listdir(out) if f.endswith((".pbr", ".json")))
total = sum(os.path.getsize(os.path.join(out, f)) for f in files)
print(f"wrote {len(files)} files, {total} bytes, sagemaker {sagemaker.__version__}, numpy {np.__version__}")
