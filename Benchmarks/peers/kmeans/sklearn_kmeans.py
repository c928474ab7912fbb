#!/usr/bin/env python3
"""Peer for `mlbench kmeans`: scikit-learn KMeans (Lloyd) and MiniBatchKMeans on the data mlbench clusters.

Prints one JSON line per implementation in mlbench's result shape (docs/mlbench.md "JSON lines";
keys suite, workload, impl, version, threads, median_s, min_s, max_s, runs, peak_rss_mb, metrics)
and nothing else on stdout:

  impl scikit-learn-lloyd      KMeans(n_clusters=k, init=<--init centres>, n_init=1, max_iter=--iterations,
                               tol=0.0, algorithm='lloyd', random_state=0)
  impl scikit-learn-minibatch  MiniBatchKMeans(n_clusters=k, init='k-means++', n_init=1,
                               batch_size=--batch-size, max_iter=--epochs, random_state=0,
                               compute_labels=True, max_no_improvement=None, tol=0.0)
                               (its own k-means++ init: --init only gives it k)

Inputs are .npy files: X float32 2-D C-order [n, d] (rows are samples) and the initial centres
float32 [k, d]. Both are passed as loaded (float32; scikit-learn keeps float32). Only `fit` is
timed, and every run fits a new estimator from scratch. With tol=0.0 Lloyd still stops early on
strict convergence (no label changed), so n_iter may be below --iterations.

The result is checked before timing: the first fit (which also counts as the first warm-up run)
must give k finite centres and a finite inertia. Its full-data inertia is then recomputed in
float64 against the final cluster_centers_ (sum over rows of the squared distance to the nearest
centre, in row chunks; outside any timing). The metrics carry
  lloyd:     inertia       inertia_ of the checked fit (as scikit-learn reports it)
             inertia_f64   the float64 full-data recomputation
             n_iter        n_iter_, median over the timed runs
             rows_per_s    n * n_iter / median fit time (rows processed, all iterations)
  minibatch: inertia       the float64 full-data recomputation (inertia_ is not comparable:
                           scikit-learn computes it with float32 arithmetic)
             inertia_attr  inertia_ of the checked fit (as scikit-learn reports it)
             n_steps       n_steps_ (minibatch steps), median over the timed runs
             rows_per_s    n * epochs / median fit time
  both:      fit_s         median fit time
Warnings (ConvergenceWarning and others) go to stderr, never to stdout.

Threads: OMP/OpenBLAS/MKL variables are set to --threads before numpy is imported, and every fit
runs under threadpoolctl.threadpool_limits(--threads). Both estimators run their Cython loops on
OpenMP threads (and BLAS), so both report --threads.

Example:
    .venv/bin/python Benchmarks/peers/kmeans/sklearn_kmeans.py --x x.npy --init init.npy \
        --iterations 20 --batch-size 5000 --epochs 1 --threads 4 --workload kmeans_1m_64
"""
import argparse
import contextlib
import json
import os
import statistics
import sys
import time
import warnings

IMPLS = ("lloyd", "minibatch")


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


def full_inertia_f64(np, x, centers) -> float:
    """Sum over rows of the squared distance to the nearest centre, in float64, in row chunks
    of at most ~4M matrix elements. The nearest centre is found from the expanded form
    |x|^2 - 2 x.c + |c|^2; its distance is then summed exactly as |x - c|^2."""
    c = np.asarray(centers, dtype=np.float64)
    c_sq = np.einsum("ij,ij->i", c, c)
    n, d = x.shape
    chunk = max(1, min(n, (1 << 22) // max(c.shape[0], d, 1)))
    total = 0.0
    for start in range(0, n, chunk):
        xc = np.asarray(x[start:start + chunk], dtype=np.float64)
        nearest = np.argmin(c_sq[None, :] - 2.0 * (xc @ c.T), axis=1)
        diff = xc - c[nearest]
        total += float(np.einsum("ij,ij->", diff, diff))
    return total


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--x", required=True, help=".npy, float32 2-D C-order [n, d], rows are samples")
    p.add_argument("--init", required=True, help=".npy, float32 [k, d] initial centres (Lloyd); gives k")
    p.add_argument("--iterations", type=int, default=20, help="Lloyd max_iter")
    p.add_argument("--batch-size", type=int, default=5000, help="MiniBatchKMeans batch_size")
    p.add_argument("--epochs", type=int, default=1, help="MiniBatchKMeans max_iter (passes over the data)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--workload", default="kmeans")
    p.add_argument("--impls", default=",".join(IMPLS), help="comma-separated subset of " + ",".join(IMPLS))
    args = p.parse_args()
    impls = [m.strip() for m in args.impls.split(",") if m.strip()]
    unknown = [m for m in impls if m not in IMPLS]
    if unknown or not impls:
        p.error(f"--impls: unknown {unknown}; choose from {','.join(IMPLS)}")
    if args.threads < 1 or args.repeat < 1 or args.warmup < 0:
        p.error("--threads and --repeat must be >= 1, --warmup >= 0")
    if args.iterations < 1 or args.batch_size < 1 or args.epochs < 1:
        p.error("--iterations, --batch-size and --epochs must be >= 1")

    threads = str(args.threads)
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = threads

    import numpy as np
    import sklearn
    from sklearn.cluster import KMeans, MiniBatchKMeans
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        print("sklearn_kmeans.py: threadpoolctl missing; relying on the *_NUM_THREADS variables", file=sys.stderr)

        def threadpool_limits(limits=None):
            return contextlib.nullcontext()

    x = np.load(args.x)
    init = np.load(args.init)
    if x.ndim != 2 or init.ndim != 2 or x.shape[1] != init.shape[1]:
        p.error(f"X must be [n, d] and init [k, d] (got {x.shape}, {init.shape})")
    n = x.shape[0]
    k = init.shape[0]
    if not 1 <= k <= n:
        p.error(f"k = {k} must be in 1...n = {n}")
    for name, a in (("X", x), ("init", init)):
        if a.dtype != np.float32:
            print(f"sklearn_kmeans.py: {name} is {a.dtype}, not float32; passed as loaded", file=sys.stderr)

    def make(impl):
        if impl == "lloyd":
            return KMeans(n_clusters=k, init=init, n_init=1, max_iter=args.iterations, tol=0.0,
                          algorithm="lloyd", random_state=0)
        return MiniBatchKMeans(n_clusters=k, init="k-means++", n_init=1, batch_size=args.batch_size,
                               max_iter=args.epochs, random_state=0, compute_labels=True,
                               max_no_improvement=None, tol=0.0)

    def steps(impl, estimator) -> int:
        return int(estimator.n_iter_ if impl == "lloyd" else estimator.n_steps_)

    out = sys.stdout
    for impl in impls:
        # Anything a library prints goes to stderr; only result lines reach stdout.
        with contextlib.redirect_stdout(sys.stderr), threadpool_limits(limits=args.threads):
            # Checked fit (first warm-up run): check it before timing anything.
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                checked = make(impl).fit(x)
            for w in caught:
                print(f"sklearn_kmeans.py [{impl}]: {w.category.__name__}: {w.message}", file=sys.stderr)
            centers = np.asarray(checked.cluster_centers_)
            inertia_attr = float(checked.inertia_)
            if centers.shape != (k, x.shape[1]) or not np.all(np.isfinite(centers)) or inertia_attr != inertia_attr:
                print(f"sklearn_kmeans.py [{impl}]: bad fit (centres {centers.shape}, inertia {inertia_attr})",
                      file=sys.stderr)
                return 1
            inertia_f64 = full_inertia_f64(np, x, centers)
            del checked, centers

            times, counts = [], []
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for _ in range(max(0, args.warmup - 1)):
                    make(impl).fit(x)
                for _ in range(args.repeat):
                    estimator = make(impl)
                    t0 = time.perf_counter()
                    estimator.fit(x)
                    times.append(time.perf_counter() - t0)
                    counts.append(steps(impl, estimator))
                    del estimator

        median = statistics.median(times)
        count = float(statistics.median(counts))
        if impl == "lloyd":
            metrics = {
                "inertia": inertia_attr,
                "inertia_f64": inertia_f64,
                "n_iter": count,
                "rows_per_s": n * count / median if median > 0 else float("nan"),
            }
        else:
            metrics = {
                "inertia": inertia_f64,
                "inertia_attr": inertia_attr,
                "n_steps": count,
                "rows_per_s": n * args.epochs / median if median > 0 else float("nan"),
            }
        metrics["fit_s"] = median
        print(json.dumps({
            "suite": "kmeans",
            "workload": args.workload,
            "impl": f"scikit-learn-{impl}",
            "version": sklearn.__version__,
            "threads": args.threads,
            "median_s": median,
            "min_s": min(times),
            "max_s": max(times),
            "runs": len(times),
            "peak_rss_mb": finite_or_none(peak_rss_mb()),
            "metrics": {key: v for key, v in sorted(metrics.items()) if finite_or_none(v) is not None},
        }, allow_nan=False), file=out, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
