#!/usr/bin/env python3
"""Peer for `mlbench linear`: scikit-learn binary logistic regression on the data mlbench trains on.

Prints one JSON line per model in mlbench's result shape (docs/mlbench.md "JSON lines"; keys
suite, workload, impl, version, threads, median_s, min_s, max_s, runs, peak_rss_mb, metrics)
and nothing else on stdout:

  impl scikit-learn-lbfgs  LogisticRegression(solver='lbfgs', C=1.0, max_iter=1000), default tol
  impl scikit-learn-sgd    SGDClassifier(loss='log_loss', random_state=0), defaults otherwise

Inputs are .npy files: X float32 2-D C-order, y 1-D with labels 0/1. X is passed to `fit` as
loaded (float32; scikit-learn keeps float32 for both solvers). Only `fit` is timed, and every
run fits a new estimator from scratch.

The result is checked before timing: the first fit (which also counts as the first warm-up run)
is scored on the validation set, and the metrics carry
  validation_logloss   sklearn.metrics.log_loss(y, predict_proba(X), labels=[0, 1])
  validation_accuracy  accuracy of predict(X)
  iterations           n_iter_ (lbfgs iterations; SGD epochs), median over the timed runs
  rows_per_s           n_train * iterations / median fit time (rows processed, all passes)
  fit_s                median fit time
  converged            1 if n_iter_ < max_iter in the checked fit, else 0
A ConvergenceWarning is reported once on stderr, never on stdout.

Threads: OMP/OpenBLAS/MKL variables are set to --threads before numpy is imported, and every fit
runs under threadpoolctl.threadpool_limits(--threads). lbfgs spends its time in BLAS and reports
--threads; SGDClassifier's binary solver is single-threaded Cython whatever the limit, so it
reports 1.

Example:
    .venv/bin/python Benchmarks/peers/linear/sklearn_logistic.py --train-x tx.npy --train-y ty.npy \
        --validation-x vx.npy --validation-y vy.npy --threads 4 --workload logistic_1m
"""
import argparse
import json
import os
import statistics
import sys
import time
import warnings

MODELS = ("lbfgs", "sgd")


def peak_rss_mb() -> float:
    """This process's own peak RSS (VmHWM). ru_maxrss would report mlbench's peak: Linux keeps
    the parent's high-water mark across fork and exec."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


def finite_or_none(x: float):
    return x if x == x and abs(x) != float("inf") else None


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--train-x", required=True)
    p.add_argument("--train-y", required=True)
    p.add_argument("--validation-x", required=True)
    p.add_argument("--validation-y", required=True)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--workload", default="logistic")
    p.add_argument("--models", default="lbfgs,sgd", help="comma-separated subset of " + ",".join(MODELS))
    args = p.parse_args()
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in models if m not in MODELS]
    if unknown or not models:
        p.error(f"--models: unknown {unknown}; choose from {','.join(MODELS)}")
    if args.threads < 1 or args.repeat < 1 or args.warmup < 0:
        p.error("--threads and --repeat must be >= 1, --warmup >= 0")

    threads = str(args.threads)
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = threads

    import numpy as np
    import sklearn
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression, SGDClassifier
    from sklearn.metrics import accuracy_score, log_loss
    from threadpoolctl import threadpool_limits

    x_train = np.load(args.train_x)
    y_train = np.load(args.train_y)
    x_val = np.load(args.validation_x)
    y_val = np.load(args.validation_y)
    for name, x, y in (("train", x_train, y_train), ("validation", x_val, y_val)):
        if x.ndim != 2 or y.ndim != 1 or x.shape[0] != y.shape[0]:
            p.error(f"{name}: X must be 2-D and y 1-D with as many rows (got {x.shape}, {y.shape})")
        if not np.all((y == 0) | (y == 1)):
            p.error(f"{name}: labels must be 0 or 1")
    if x_train.shape[1] != x_val.shape[1]:
        p.error(f"train has {x_train.shape[1]} features, validation {x_val.shape[1]}")
    n_train = x_train.shape[0]

    def make(model):
        if model == "lbfgs":
            return LogisticRegression(solver="lbfgs", C=1.0, max_iter=1000)
        return SGDClassifier(loss="log_loss", random_state=0)

    def n_iter(estimator) -> int:
        return int(np.max(np.asarray(estimator.n_iter_)))

    for model in models:
        with threadpool_limits(limits=args.threads):
            # Checked fit (first warm-up run): score it before timing anything.
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", ConvergenceWarning)
                checked = make(model).fit(x_train, y_train)
            for w in caught:
                if issubclass(w.category, ConvergenceWarning):
                    print(f"sklearn_logistic.py [{model}]: ConvergenceWarning: {w.message}", file=sys.stderr)
                    break
                warnings.showwarning(w.message, w.category, w.filename, w.lineno)
            proba = checked.predict_proba(x_val)[:, 1]
            val_logloss = float(log_loss(y_val, proba, labels=[0, 1]))
            val_accuracy = float(accuracy_score(y_val, checked.predict(x_val)))
            converged = 1.0 if n_iter(checked) < checked.max_iter else 0.0
            del checked

            times, iterations = [], []
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                for _ in range(max(0, args.warmup - 1)):
                    make(model).fit(x_train, y_train)
                for _ in range(args.repeat):
                    estimator = make(model)
                    t0 = time.perf_counter()
                    estimator.fit(x_train, y_train)
                    times.append(time.perf_counter() - t0)
                    iterations.append(n_iter(estimator))
                    del estimator

        median = statistics.median(times)
        its = float(statistics.median(iterations))
        metrics = {
            "converged": converged,
            "fit_s": median,
            "iterations": its,
            "rows_per_s": n_train * its / median if median > 0 else float("nan"),
            "validation_accuracy": val_accuracy,
            "validation_logloss": val_logloss,
        }
        print(json.dumps({
            "suite": "linear",
            "workload": args.workload,
            "impl": f"scikit-learn-{model}",
            "version": sklearn.__version__,
            "threads": args.threads if model == "lbfgs" else 1,
            "median_s": median,
            "min_s": min(times),
            "max_s": max(times),
            "runs": len(times),
            "peak_rss_mb": finite_or_none(peak_rss_mb()),
            "metrics": {k: v for k, v in sorted(metrics.items()) if finite_or_none(v) is not None},
        }, allow_nan=False), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
