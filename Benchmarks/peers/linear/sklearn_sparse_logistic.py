#!/usr/bin/env python3
"""Peer for `mlbench linear-sparse`: scikit-learn SGDClassifier(log_loss) on the same CSR rows.

Reads the split files `mlbench` writes (LinearSparseWorkload): `<split>_indptr.npy` (float64),
`<split>_indices.npy` (float32, exact integers), `<split>_data.npy` (float32), `<split>_y.npy`,
builds scipy.sparse.csr_matrix (float32 data, int32 indices; the build is not timed), and times
`SGDClassifier(loss='log_loss', random_state=0).fit` from scratch, defaults otherwise
(max_iter=1000, tol=1e-3, 5 epochs without improvement stop it). SGDClassifier's binary solver
is single-threaded Cython, so it reports 1 thread.

Prints one JSON line in mlbench's result shape (docs/mlbench.md) with metrics
  validation_logloss, validation_accuracy, iterations (epochs run), fit_s, rows_per_s, converged.
The first fit is the checked one, scored before timing.

Example:
    .venv/bin/python Benchmarks/peers/linear/sklearn_sparse_logistic.py --directory DIR --features 100000
"""
import argparse
import json
import statistics
import sys
import time
import warnings

# The script's own directory is on sys.path: share the dense peer's RSS probe.
from sklearn_logistic import peak_rss_mb


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--directory", required=True)
    p.add_argument("--features", type=int, required=True)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--warmup", type=int, default=0)
    p.add_argument("--workload", default="sparse_logistic")
    args = p.parse_args()

    import numpy as np
    import scipy.sparse as sp
    import sklearn
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import SGDClassifier
    from sklearn.metrics import accuracy_score, log_loss

    def load(split):
        d = args.directory
        indptr = np.load(f"{d}/{split}_indptr.npy").astype(np.int64)
        indices = np.load(f"{d}/{split}_indices.npy").astype(np.int32)
        data = np.load(f"{d}/{split}_data.npy").astype(np.float32)
        y = np.load(f"{d}/{split}_y.npy")
        x = sp.csr_matrix((data, indices, indptr), shape=(len(indptr) - 1, args.features))
        if x.shape[0] != y.shape[0] or not np.all((y == 0) | (y == 1)):
            p.error(f"{split}: {x.shape[0]} rows, {y.shape[0]} labels, labels must be 0/1")
        return x, y

    x_train, y_train = load("train")
    x_val, y_val = load("validation")

    def make():
        return SGDClassifier(loss="log_loss", random_state=0)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        checked = make().fit(x_train, y_train)
    if any(issubclass(w.category, ConvergenceWarning) for w in caught):
        print("sklearn_sparse_logistic.py: ConvergenceWarning", file=sys.stderr)
    val_logloss = float(log_loss(y_val, checked.predict_proba(x_val)[:, 1], labels=[0, 1]))
    val_accuracy = float(accuracy_score(y_val, checked.predict(x_val)))
    converged = 1.0 if checked.n_iter_ < checked.max_iter else 0.0
    times, iterations = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for _ in range(args.warmup):
            make().fit(x_train, y_train)
        for _ in range(args.repeat):
            estimator = make()
            t0 = time.perf_counter()
            estimator.fit(x_train, y_train)
            times.append(time.perf_counter() - t0)
            iterations.append(int(estimator.n_iter_))
    median = statistics.median(times)
    its = float(statistics.median(iterations))
    metrics = {
        "converged": converged, "fit_s": median, "iterations": its,
        "rows_per_s": x_train.shape[0] * its / median if median > 0 else float("nan"),
        "validation_accuracy": val_accuracy, "validation_logloss": val_logloss,
    }
    print(json.dumps({
        "suite": "linear-sparse", "workload": args.workload, "impl": "scikit-learn-sgd", "version": sklearn.__version__,
        "threads": 1, "median_s": median, "min_s": min(times), "max_s": max(times), "runs": len(times),
        "peak_rss_mb": peak_rss_mb(),
        "metrics": {k: v for k, v in sorted(metrics.items()) if v == v},
    }), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
