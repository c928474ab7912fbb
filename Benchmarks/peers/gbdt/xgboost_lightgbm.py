#!/usr/bin/env python3
"""Peer for `mlbench gbdt`: XGBoost (hist) and LightGBM binary classifiers on the data mlbench trains on.

Prints one JSON line per implementation in mlbench's result shape (docs/mlbench.md "JSON lines";
keys suite, workload, impl, version, threads, median_s, min_s, max_s, runs, peak_rss_mb, metrics)
and nothing else on stdout:

  impl xgboost-hist  xgb.QuantileDMatrix(x_train, label=y_train, max_bin=--bins, nthread=--threads),
                     then xgb.train({objective: binary:logistic, tree_method: hist,
                     max_depth: --depth, eta: --eta, max_bin: --bins, nthread: --threads,
                     eval_metric: auc, seed: 0}, dtrain, num_boost_round=--rounds), no evals.
                     QuantileDMatrix is XGBoost's fast path for hist: it sketches the quantiles and
                     writes the binned (ELLPACK/GHist) matrix straight from the numpy array,
                     without keeping a float copy as DMatrix does.
  impl lightgbm      lgb.Dataset(x_train, label=y_train, params=P).construct(), then
                     lgb.train(P, dataset, num_boost_round=--rounds), with
                     P = {objective: binary, num_leaves: 63, max_depth: --depth,
                     learning_rate: --eta, max_bin: --bins, num_threads: --threads, verbose: -1,
                     seed: 0, deterministic: True}. The bin boundaries come from
                     bin_construct_sample_cnt rows (LightGBM's default, 200,000, left as is: on
                     more rows than that, binning looks at a sample only). Neither force_row_wise
                     nor force_col_wise is set, so LightGBM's default stands: its first iteration
                     tries both histogram layouts and keeps the faster, inside the timed training.
Every other parameter is the library's default (XGBoost: lambda=1, min_child_weight=1, no
subsampling; LightGBM: min_data_in_leaf=20, lambda_l2=0, no bagging).

Inputs: --dir D holding x_train.npy and x_test.npy (float32 2-D C-order [n, d], rows are samples)
and y_train.npy and y_test.npy (float32 [n], labels 0/1). The arrays are passed as loaded. What is
timed, per run and from scratch: building the training matrix from the numpy arrays (the
QuantileDMatrix, or the LightGBM Dataset's construct(): the binning) plus the whole training.
Nothing is evaluated during training.

The result is checked before timing: the first training (which also counts as the first warm-up
run) must predict finite probabilities on the test set with a test AUC above 0.6, or the script
exits with status 1 and says why on stderr. The metrics carry
  auc                 sklearn.metrics.roc_auc_score(y_test, predictions) of the checked model
  test_logloss        sklearn.metrics.log_loss(y_test, predictions, labels=[0, 1])
  train_s             median of the timed totals (binning + training; the same as median_s)
  binning_s           median time of building the training matrix alone, in the same timed runs
  per_round_s         (train_s - binning_s) / rounds
  predict_rows_per_s  test rows / median time of predicting the whole test set with the checked
                      model, 5 timed repeats (the check's prediction is the warm-up): XGBoost
                      booster.predict(xgb.DMatrix(x_test, nthread=threads)), DMatrix included;
                      LightGBM booster.predict(x_test, num_threads=threads) (from numpy directly)
If the last timed run's test predictions differ from the checked model's (they should not: both
libraries are deterministic here), a warning goes to stderr. Warnings go to stderr, never to stdout.

Threads: OMP/OpenBLAS/MKL variables are set to --threads before numpy is imported, every run is
under threadpoolctl.threadpool_limits(--threads), and both libraries get --threads explicitly
(nthread, num_threads). Both report --threads.

Example:
    .venv/bin/python Benchmarks/peers/gbdt/xgboost_lightgbm.py --dir .mlbench-data/gbdt \
        --rounds 100 --depth 6 --eta 0.1 --bins 256 --threads 2 --workload higgs_like_1m
"""
import argparse
import contextlib
import json
import os
import statistics
import sys
import time
import warnings

IMPLS = ("xgboost-hist", "lightgbm")
PREDICT_REPEATS = 5
MIN_AUC = 0.6


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
    p.add_argument("--dir", required=True,
                   help="directory with x_train.npy, y_train.npy, x_test.npy, y_test.npy "
                        "(X float32 [n, d] C-order, y float32 [n] with labels 0/1)")
    p.add_argument("--rounds", type=int, default=100, help="boosting rounds (trees)")
    p.add_argument("--depth", type=int, default=6, help="max_depth")
    p.add_argument("--eta", type=float, default=0.1, help="learning rate")
    p.add_argument("--bins", type=int, default=256, help="max_bin")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--workload", default="gbdt")
    p.add_argument("--impls", default=",".join(IMPLS), help="comma-separated subset of " + ",".join(IMPLS))
    p.add_argument("--leaves", type=int, default=0,
                   help="leaf-wise growth with this many leaves: XGBoost grow_policy=lossguide, max_leaves, "
                        "max_depth=0; LightGBM num_leaves, max_depth=-1 (0: depth-limited growth)")
    p.add_argument("--shap-rows", type=int, default=0,
                   help="also time XGBoost's pred_contribs (exact TreeSHAP) on this many test rows")
    args = p.parse_args()
    impls = [m.strip() for m in args.impls.split(",") if m.strip()]
    unknown = [m for m in impls if m not in IMPLS]
    if unknown or not impls:
        p.error(f"--impls: unknown {unknown}; choose from {','.join(IMPLS)}")
    if args.threads < 1 or args.repeat < 1 or args.warmup < 0:
        p.error("--threads and --repeat must be >= 1, --warmup >= 0")
    if args.rounds < 1 or args.depth < 1 or args.bins < 2 or not args.eta > 0 or args.leaves < 0 or args.shap_rows < 0:
        p.error("--rounds and --depth must be >= 1, --bins >= 2, --eta > 0")

    threads = str(args.threads)
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = threads

    import numpy as np
    from sklearn.metrics import log_loss, roc_auc_score
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        print("xgboost_lightgbm.py: threadpoolctl missing; relying on the *_NUM_THREADS variables", file=sys.stderr)

        def threadpool_limits(limits=None):
            return contextlib.nullcontext()

    arrays = {}
    for name in ("x_train", "y_train", "x_test", "y_test"):
        path = os.path.join(args.dir, name + ".npy")
        try:
            arrays[name] = np.load(path)
        except OSError as e:
            p.error(f"cannot read {path}: {e}")
    x_train, y_train, x_test, y_test = (arrays[k] for k in ("x_train", "y_train", "x_test", "y_test"))
    if x_train.ndim != 2 or x_test.ndim != 2 or x_train.shape[1] != x_test.shape[1]:
        p.error(f"x_train and x_test must be [n, d] with the same d (got {x_train.shape}, {x_test.shape})")
    if y_train.shape != (x_train.shape[0],) or y_test.shape != (x_test.shape[0],):
        p.error(f"y_train and y_test must be [n] matching their X (got {y_train.shape}, {y_test.shape})")
    for name, y in (("y_train", y_train), ("y_test", y_test)):
        values = np.unique(y)
        if not np.all(np.isin(values, (0, 1))) or values.size != 2:
            p.error(f"{name} must hold both labels 0 and 1 and nothing else (has {values[:5]})")
    for name, a in arrays.items():
        if a.dtype != np.float32:
            print(f"xgboost_lightgbm.py: {name} is {a.dtype}, not float32; passed as loaded", file=sys.stderr)
    n_test = x_test.shape[0]

    def make_xgboost():
        import xgboost as xgb
        params = {"objective": "binary:logistic", "tree_method": "hist", "max_depth": args.depth,
                  "eta": args.eta, "max_bin": args.bins, "nthread": args.threads,
                  "eval_metric": "auc", "seed": 0}
        if args.leaves > 0:
            params.update({"grow_policy": "lossguide", "max_leaves": args.leaves, "max_depth": 0})

        def binning():
            return xgb.QuantileDMatrix(x_train, label=y_train, max_bin=args.bins, nthread=args.threads)

        def train(dtrain):
            return xgb.train(params, dtrain, num_boost_round=args.rounds)

        def predict(booster):
            return booster.predict(xgb.DMatrix(x_test, nthread=args.threads))

        return xgb.__version__, binning, train, predict

    def make_lightgbm():
        import lightgbm as lgb
        params = {"objective": "binary", "num_leaves": args.leaves or 63, "max_depth": -1 if args.leaves else args.depth,
                  "learning_rate": args.eta, "max_bin": args.bins, "num_threads": args.threads,
                  "verbose": -1, "seed": 0, "deterministic": True}

        def binning():
            # The same parameters for the Dataset and the training: LightGBM refuses to train on a
            # constructed Dataset whose binning parameters differ from the training's.
            return lgb.Dataset(x_train, label=y_train, params=dict(params)).construct()

        def train(dataset):
            return lgb.train(dict(params), dataset, num_boost_round=args.rounds)

        def predict(booster):
            return booster.predict(x_test, num_threads=args.threads)

        return lgb.__version__, binning, train, predict

    out = sys.stdout
    for impl in impls:
        # Anything a library prints goes to stderr; only result lines reach stdout.
        with contextlib.redirect_stdout(sys.stderr), threadpool_limits(limits=args.threads):
            version, binning, train, predict = make_xgboost() if impl == "xgboost-hist" else make_lightgbm()

            # Checked training (first warm-up run): check it before timing anything.
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                checked = train(binning())
                pred = np.asarray(predict(checked), dtype=np.float64)
            for w in caught:
                print(f"xgboost_lightgbm.py [{impl}]: {w.category.__name__}: {w.message}", file=sys.stderr)
            if pred.shape != (n_test,) or not np.all(np.isfinite(pred)):
                bad = int(np.sum(~np.isfinite(pred))) if pred.size else 0
                print(f"xgboost_lightgbm.py [{impl}]: bad test predictions (shape {pred.shape}, "
                      f"{bad} not finite)", file=sys.stderr)
                return 1
            auc = float(roc_auc_score(y_test, pred))
            if not auc > MIN_AUC:
                print(f"xgboost_lightgbm.py [{impl}]: test AUC {auc} is not above {MIN_AUC}", file=sys.stderr)
                return 1
            logloss = float(log_loss(y_test, np.clip(pred, 0.0, 1.0), labels=[0, 1]))

            # Prediction throughput of the checked model (the check above was its warm-up).
            predict_times = []
            for _ in range(PREDICT_REPEATS):
                t0 = time.perf_counter()
                predict(checked)
                predict_times.append(time.perf_counter() - t0)

            # Exact TreeSHAP throughput (XGBoost only): pred_contribs on the first --shap-rows test rows.
            shap_times = []
            if args.shap_rows > 0 and impl == "xgboost-hist":
                import xgboost as xgb
                rows = xgb.DMatrix(x_test[:args.shap_rows], nthread=args.threads)
                contribs = checked.predict(rows, pred_contribs=True)
                margins = checked.predict(rows, output_margin=True)
                if not np.allclose(contribs.sum(axis=1), margins, atol=1e-3):
                    print(f"xgboost_lightgbm.py [{impl}]: pred_contribs rows do not add up to the margins", file=sys.stderr)
                    return 1
                for _ in range(PREDICT_REPEATS):
                    t0 = time.perf_counter()
                    checked.predict(rows, pred_contribs=True)
                    shap_times.append(time.perf_counter() - t0)

            times, binning_times = [], []
            last = None
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for _ in range(max(0, args.warmup - 1)):
                    train(binning())
                for _ in range(args.repeat):
                    last = None
                    t0 = time.perf_counter()
                    data = binning()
                    t1 = time.perf_counter()
                    last = train(data)
                    t2 = time.perf_counter()
                    times.append(t2 - t0)
                    binning_times.append(t1 - t0)
                    del data
            last_pred = np.asarray(predict(last), dtype=np.float64)
            if not np.array_equal(last_pred, pred):
                diff = float(np.max(np.abs(last_pred - pred))) if last_pred.shape == pred.shape else float("nan")
                print(f"xgboost_lightgbm.py [{impl}]: the last timed run's test predictions differ from the "
                      f"checked model's (max abs diff {diff})", file=sys.stderr)
            del checked, last

        median = statistics.median(times)
        binning_median = statistics.median(binning_times)
        predict_median = statistics.median(predict_times)
        metrics = {
            "auc": auc,
            "binning_s": binning_median,
            "per_round_s": (median - binning_median) / args.rounds,
            "predict_rows_per_s": n_test / predict_median if predict_median > 0 else float("nan"),
            "test_logloss": logloss,
            "train_s": median,
        }
        if shap_times:
            metrics["shap_rows_per_s"] = min(args.shap_rows, n_test) / statistics.median(shap_times)
        print(json.dumps({
            "suite": "gbdt",
            "workload": args.workload,
            "impl": impl,
            "version": version,
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
