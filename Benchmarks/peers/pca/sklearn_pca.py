#!/usr/bin/env python3
"""Peer for `mlbench pca`: scikit-learn PCA fits on the data mlbench decomposes.

Prints one JSON line per solver in mlbench's result shape (docs/mlbench.md "JSON lines"; keys
suite, workload, impl, version, threads, median_s, min_s, max_s, runs, peak_rss_mb, metrics)
and nothing else on stdout:

  impl scikit-learn-covariance_eigh  PCA(n_components=N, svd_solver='covariance_eigh', random_state=0)
  impl scikit-learn-full             PCA(n_components=N, svd_solver='full', random_state=0)
  impl scikit-learn-randomized       PCA(n_components=N, svd_solver='randomized', random_state=0),
                                     iterated_power and n_oversamples left at their defaults

Input is a .npy file: X float32 2-D C-order, rows are samples. X is passed to `fit` as loaded
(float32; scikit-learn keeps float32 for all three solvers). Only `fit` is timed, and every run
fits a new estimator from scratch.

The result is checked before timing: the first fit (which also counts as the first warm-up run)
must give N finite, non-negative explained variances, and the metrics carry
  explained_variance_sum        sum of explained_variance_ (float64) of the checked fit
  explained_variance_ratio_sum  sum of explained_variance_ratio_ (float64)
  first_explained_variance      explained_variance_[0]
  last_explained_variance       explained_variance_[-1]
  fit_s                         median fit time
  rows_per_s                    n_samples / median fit time
With --save-explained-variance DIR the checked fit's explained_variance_ is also written to
DIR/explained_variance_<solver>.npy (float64), for a component-by-component comparison.
Warnings go to stderr, never to stdout.

Threads: OMP/OpenBLAS/MKL variables are set to --threads before numpy is imported, and every fit
runs under threadpoolctl.threadpool_limits(--threads). All three solvers spend their time in
BLAS/LAPACK and report --threads.

Example:
    .venv/bin/python Benchmarks/peers/pca/sklearn_pca.py --x x.npy --components 50 --threads 4 \
        --workload pca_1m_256 --save-explained-variance .mlbench-data/pca
"""
import argparse
import contextlib
import json
import os
import statistics
import sys
import time
import warnings

SOLVERS = ("covariance_eigh", "full", "randomized")


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
    p.add_argument("--x", required=True, help=".npy, float32 2-D C-order, rows are samples")
    p.add_argument("--components", type=int, default=50)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--workload", default="pca")
    p.add_argument("--solvers", default=",".join(SOLVERS), help="comma-separated subset of " + ",".join(SOLVERS))
    p.add_argument("--save-explained-variance", metavar="DIR", default=None,
                   help="write DIR/explained_variance_<solver>.npy (float64) from the checked fit")
    args = p.parse_args()
    solvers = [s.strip() for s in args.solvers.split(",") if s.strip()]
    unknown = [s for s in solvers if s not in SOLVERS]
    if unknown or not solvers:
        p.error(f"--solvers: unknown {unknown}; choose from {','.join(SOLVERS)}")
    if args.threads < 1 or args.repeat < 1 or args.warmup < 0 or args.components < 1:
        p.error("--threads, --repeat and --components must be >= 1, --warmup >= 0")

    threads = str(args.threads)
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = threads

    import numpy as np
    import sklearn
    from sklearn.decomposition import PCA
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        print("sklearn_pca.py: threadpoolctl missing; relying on the *_NUM_THREADS variables", file=sys.stderr)

        def threadpool_limits(limits=None):
            return contextlib.nullcontext()

    x = np.load(args.x)
    if x.ndim != 2:
        p.error(f"--x must be 2-D (got shape {x.shape})")
    n, d = x.shape
    if args.components > min(n, d):
        p.error(f"--components {args.components} exceeds min(n_samples, n_features) = {min(n, d)}")
    if x.dtype != np.float32:
        print(f"sklearn_pca.py: X is {x.dtype}, not float32; passed as loaded", file=sys.stderr)
    if args.save_explained_variance:
        os.makedirs(args.save_explained_variance, exist_ok=True)

    def make(solver):
        return PCA(n_components=args.components, svd_solver=solver, random_state=0)

    out = sys.stdout
    for solver in solvers:
        # Anything a library prints goes to stderr; only result lines reach stdout.
        with contextlib.redirect_stdout(sys.stderr), threadpool_limits(limits=args.threads):
            # Checked fit (first warm-up run): check it before timing anything.
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                checked = make(solver).fit(x)
            for w in caught:
                print(f"sklearn_pca.py [{solver}]: {w.category.__name__}: {w.message}", file=sys.stderr)
            ev = np.asarray(checked.explained_variance_, dtype=np.float64)
            evr = np.asarray(checked.explained_variance_ratio_, dtype=np.float64)
            if ev.shape != (args.components,) or not np.all(np.isfinite(ev)) or np.any(ev < 0):
                print(f"sklearn_pca.py [{solver}]: bad explained_variance_ {ev}", file=sys.stderr)
                return 1
            if args.save_explained_variance:
                np.save(os.path.join(args.save_explained_variance, f"explained_variance_{solver}.npy"), ev)
            del checked

            times = []
            for _ in range(max(0, args.warmup - 1)):
                make(solver).fit(x)
            for _ in range(args.repeat):
                estimator = make(solver)
                t0 = time.perf_counter()
                estimator.fit(x)
                times.append(time.perf_counter() - t0)
                del estimator

        median = statistics.median(times)
        metrics = {
            "explained_variance_ratio_sum": float(evr.sum()),
            "explained_variance_sum": float(ev.sum()),
            "first_explained_variance": float(ev[0]),
            "fit_s": median,
            "last_explained_variance": float(ev[-1]),
            "rows_per_s": n / median if median > 0 else float("nan"),
        }
        print(json.dumps({
            "suite": "pca",
            "workload": args.workload,
            "impl": f"scikit-learn-{solver}",
            "version": sklearn.__version__,
            "threads": args.threads,
            "median_s": median,
            "min_s": min(times),
            "max_s": max(times),
            "runs": len(times),
            "peak_rss_mb": finite_or_none(peak_rss_mb()),
            "metrics": {k: v for k, v in sorted(metrics.items()) if finite_or_none(v) is not None},
        }, allow_nan=False), file=out, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
