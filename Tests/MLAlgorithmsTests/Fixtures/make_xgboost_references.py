#!/usr/bin/env python3
"""XGBoost reference results for the gradient-boosted-trees tests (quality, metrics, model files).

Everything is written to Tests/MLAlgorithmsTests/Fixtures/xgboost/ (created if missing).

A. Quality: XGBoost (tree_method=hist, max_bin=256, nthread=1, seed=0) trained on three datasets;
   our trees must reach the same test metric within 0.002.
     breast_cancer  load_breast_cancer, train_test_split(test_size=0.25, random_state=0,
                    stratify=y); binary:logistic, max_depth 4, eta 0.3, 50 rounds,
                    eval_metric [auc, logloss]
     digits         load_digits, same split; multi:softprob num_class 10, max_depth 4, eta 0.3,
                    40 rounds, eval_metric mlogloss
     regression     make_friedman1(n_samples=4000, noise=1.0, random_state=0); exactly 5% of
                    the feature entries (numpy default_rng(0) choice without replacement) set
                    to NaN (= missing); train_test_split(test_size=0.25, random_state=0);
                    reg:squarederror, max_depth 5, eta 0.1, 100 rounds, eval_metric rmse
   Files: <dataset>_{train,test}_{x,y}.npy (float32; x 2-D C-order, y 1-D; NaN = missing),
          <dataset>_test_pred.npy (XGBoost's default predict output on the test rows, float32;
          2-D [n, 10] for digits), quality_reference.json (params, per-round eval log for
          "train" and "test", final test metrics, learned base_score, xgboost version).

B. Metrics: XGBoost's own value of every eval metric on FIXED predictions (metric_reference.json).
   Each case is a DMatrix whose base_margin is the margin of the intended predictions (logit
   for binary:logistic, log for count:poisson / reg:gamma / reg:tweedie, identity for
   reg:squarederror, log(prob) per class for multi:softprob) and a booster trained 1 round
   with eta=0 (the tree adds exactly 0). The script asserts booster.predict equals the
   intended predictions to 1e-6 (relative for values > 1), then parses booster.eval(dmat).
   The JSON stores XGBoost's float32 predictions exactly (as doubles), so "predictions" are precisely what the metric
   saw. Every XGBoost value is also recomputed here with numpy from the formula in the
   metric's "definition" string (asserted to 1e-7 relative: XGBoost evaluates each row's loss
   in float32 and sums in double, so float64 formulas differ by ~1e-8; auc, aucpr, error and
   merror agree exactly), and for auc / aucpr compared
   with scikit-learn ("sklearn_cross_check").
   "sagemaker_container_metrics" reproduces, with scikit-learn on the same inputs, the
   metrics the SageMaker XGBoost container computes itself (see CONTAINER_RULES below).

C. Models XGBoost writes, for our importer (booster.save_model in JSON and UBJSON):
     model_tiny                breast cancer, binary:logistic, max_depth 2, 1 round
     model_binary              breast cancer, binary:logistic, max_depth 3, 10 rounds
     model_softprob            digits, multi:softprob (10 classes), max_depth 3, 5 rounds
     model_regression_missing  the NaN regression set, reg:squarederror, max_depth 4, 20 rounds
     model_poisson             synthetic counts (default_rng(5), 600 x 5), count:poisson,
                               max_depth 3, 10 rounds
   all tree_method=hist, max_bin=256, seed=0, nthread=1, eta 0.3 (XGBoost's default).
   Files: <name>.json, <name>.ubj, <name>_x.npy (<= 50 test rows, some entries NaN),
          <name>_margin.npy (predict(output_margin=True)), <name>_pred.npy (predict()),
          all float32; models.json lists each model's params and shapes.
   score_xgboost_model.py (next to this script) scores any such model with XGBoost itself.

Rerun (deterministic; needs xgboost-cpu and scikit-learn from Benchmarks/requirements.txt):
    .venv/bin/python Tests/MLAlgorithmsTests/Fixtures/make_xgboost_references.py
"""
import json
import math
import os
import re
import sys

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import numpy as np  # noqa: E402
import scipy.special  # noqa: E402
import sklearn  # noqa: E402
import xgboost as xgb  # noqa: E402
from sklearn.datasets import load_breast_cancer, load_digits, make_friedman1  # noqa: E402
from sklearn.metrics import (  # noqa: E402
    accuracy_score,
    average_precision_score,
    balanced_accuracy_score,
    f1_score,
    mean_absolute_error,
    mean_squared_error,
    precision_score,
    r2_score,
    recall_score,
    roc_auc_score,
)
from sklearn.model_selection import train_test_split  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "xgboost")
COMMON = {"tree_method": "hist", "max_bin": 256, "nthread": 1, "seed": 0}


# --- helpers ------------------------------------------------------------------------------------

def floats(a):
    """Python floats (repr round-trips in JSON) from an array or scalar."""
    a = np.asarray(a, dtype=np.float64)
    return float(a) if a.ndim == 0 else a.tolist()


def save_npy(name, a):
    a = np.ascontiguousarray(a, dtype=np.dtype(np.float32).newbyteorder("<"))
    np.save(os.path.join(OUT, name), a)


def write_json(name, obj):
    with open(os.path.join(OUT, name), "w") as f:
        json.dump(obj, f, indent=1, allow_nan=False)
        f.write("\n")


def header():
    return {
        "generated_by": "Tests/MLAlgorithmsTests/Fixtures/make_xgboost_references.py",
        "xgboost_version": xgb.__version__,
        "sklearn_version": sklearn.__version__,
        "numpy_version": np.__version__,
        "python_version": sys.version.split()[0],
    }


def parse_eval(s):
    """'[0]\\teval-rmse:0.1\\teval-mae:0.2' -> {'rmse': 0.1, 'mae': 0.2} (full double precision)."""
    out = {}
    for part in s.strip().split("\t")[1:]:
        name, value = part.rsplit(":", 1)
        out[name.split("-", 1)[1]] = float(value)
    return out


def learned_base_score(bst):
    raw = json.loads(bst.save_config())["learner"]["learner_model_param"]["base_score"]
    nums = [float(v) for v in re.findall(r"[-+0-9.eE]+", raw)]
    return raw, nums


# --- A. quality ---------------------------------------------------------------------------------

def datasets():
    x, y = load_breast_cancer(return_X_y=True)
    bc = train_test_split(x, y, test_size=0.25, random_state=0, stratify=y)
    x, y = load_digits(return_X_y=True)
    dg = train_test_split(x, y, test_size=0.25, random_state=0, stratify=y)
    x, y = make_friedman1(n_samples=4000, noise=1.0, random_state=0)
    x = x.copy()
    n_missing = int(round(0.05 * x.size))
    flat = np.random.default_rng(0).choice(x.size, n_missing, replace=False)
    x.reshape(-1)[flat] = np.nan
    rg = train_test_split(x, y, test_size=0.25, random_state=0)
    out = {}
    for name, (xtr, xte, ytr, yte) in (("breast_cancer", bc), ("digits", dg), ("regression", rg)):
        d = {k: np.asarray(v, dtype=np.float32) for k, v in
             (("train_x", xtr), ("test_x", xte), ("train_y", ytr), ("test_y", yte))}
        for k, v in d.items():
            save_npy(f"{name}_{k.split('_')[0]}_{k.split('_')[1]}.npy", v)
        out[name] = d
    return out


QUALITY_CASES = {
    "breast_cancer": ({"objective": "binary:logistic", "max_depth": 4, "eta": 0.3,
                       "eval_metric": ["auc", "logloss"]}, 50),
    "digits": ({"objective": "multi:softprob", "num_class": 10, "max_depth": 4, "eta": 0.3,
                "eval_metric": ["mlogloss"]}, 40),
    "regression": ({"objective": "reg:squarederror", "max_depth": 5, "eta": 0.1,
                    "eval_metric": ["rmse"]}, 100),
}


def quality(data):
    out = header()
    out["note"] = ("Datasets in <name>_{train,test}_{x,y}.npy (float32, NaN = missing). base_score is "
                   "in prediction space for binary (probability) and regression (mean), one margin per class "
                   "for multi:softprob (XGBoost >= 3.1 fits a per-class intercept). "
                   "eval_log[split][metric][i] is the value after round i+1 (xgb.train evals_result). "
                   "final_test_metrics = last round on the test split. base_score_raw is the string in "
                   "save_config()['learner']['learner_model_param']['base_score'] (probability / mean "
                   "scale except multi:softprob); base_score its number(s).")
    out["datasets"] = {}
    for name, (params, rounds) in QUALITY_CASES.items():
        d = data[name]
        p = dict(COMMON, **params)
        dtr = xgb.DMatrix(d["train_x"], label=d["train_y"], missing=np.nan, nthread=1)
        dte = xgb.DMatrix(d["test_x"], label=d["test_y"], missing=np.nan, nthread=1)
        log = {}
        bst = xgb.train(p, dtr, rounds, evals=[(dtr, "train"), (dte, "test")], evals_result=log,
                        verbose_eval=False)
        pred = bst.predict(dte)
        save_npy(f"{name}_test_pred.npy", pred)
        # Cross-check the final logged test values against a fresh eval of the final booster.
        final = parse_eval(bst.eval(dte, "test"))
        for m, v in final.items():
            assert math.isclose(v, log["test"][m][-1], rel_tol=1e-12), (name, m)
        raw, nums = learned_base_score(bst)
        extra = {}
        if params["objective"] == "binary:logistic":
            extra["test_accuracy"] = float(np.mean((pred > 0.5) == (d["test_y"] == 1)))
        elif params["objective"] == "multi:softprob":
            extra["test_accuracy"] = float(np.mean(np.argmax(pred, axis=1) == d["test_y"]))
        out["datasets"][name] = {
            "files": {f"{s}_{k}": f"{name}_{s}_{k}.npy" for s in ("train", "test") for k in ("x", "y")},
            "train_shape": list(d["train_x"].shape),
            "test_shape": list(d["test_x"].shape),
            "missing_fraction_train": float(np.isnan(d["train_x"]).mean()),
            "params": p,
            "num_boost_round": rounds,
            "final_test_metrics": final,
            "final_train_metrics": {m: log["train"][m][-1] for m in log["train"]},
            "extra_test_metrics_from_predictions": extra,
            "eval_log": {"train": log["train"], "test": log["test"]},
            "base_score_raw": raw,
            "base_score": nums[0] if len(nums) == 1 else nums,
            "test_pred_file": f"{name}_test_pred.npy",
        }
        if name == "regression":
            # On 3,000 noisy rows the test RMSE moves by ±0.02 with the bin boundaries alone
            # (max_bin 200…512); with max_bin 4096 every distinct value has its own bin, so the
            # cuts no longer depend on XGBoost's sketch and the learners can be compared exactly.
            sweep = {}
            for max_bin in (200, 240, 250, 255, 256, 257, 260, 300, 512, 4096):
                sweep_log = {}
                xgb.train(dict(p, max_bin=max_bin), dtr, rounds, evals=[(dte, "test")], evals_result=sweep_log,
                          verbose_eval=False)
                sweep[str(max_bin)] = sweep_log["test"]["rmse"][-1]
            out["datasets"][name]["max_bin_sweep_test_rmse"] = sweep
        print(f"quality {name}: test {final} base_score {raw}", file=sys.stderr)
    write_json("quality_reference.json", out)
    return out


# --- B. metrics on fixed predictions --------------------------------------------------------------

EPS = 1e-16  # XGBoost's kRtEps-like clamp for logs in logloss / mlogloss / poisson


def np_metric(name, y, p, w):
    """float64 numpy reimplementation of XGBoost's metric (documents the definitions)."""
    y = np.asarray(y, np.float64)
    p = np.asarray(p, np.float64)
    w = np.ones(len(y)) if w is None else np.asarray(w, np.float64)
    W = w.sum()

    def mean(v):
        return float(np.sum(w * v) / W)

    if name == "rmse":
        return math.sqrt(mean((y - p) ** 2))
    if name == "rmsle":
        return math.sqrt(mean((np.log1p(p) - np.log1p(y)) ** 2))
    if name == "mae":
        return mean(np.abs(y - p))
    if name == "mape":
        return mean(np.abs((y - p) / y))
    if name == "mphe":
        return mean(np.sqrt(1 + (y - p) ** 2) - 1)
    if name == "logloss":
        return mean(-y * np.log(np.maximum(p, EPS)) - (1 - y) * np.log(np.maximum(1 - p, EPS)))
    if name.startswith("error"):
        t = float(name.split("@")[1]) if "@" in name else 0.5
        return mean(np.where(p > t, 1 - y, y))
    if name == "merror":
        return mean((np.argmax(p, axis=1) != y).astype(np.float64))
    if name == "mlogloss":
        return mean(-np.log(np.maximum(p[np.arange(len(y)), y.astype(int)], EPS)))
    if name == "poisson-nloglik":
        q = np.maximum(p, EPS)
        return mean(scipy.special.gammaln(y + 1) + q - np.log(q) * y)
    if name == "gamma-nloglik":
        return mean(y / p + np.log(p))
    if name.startswith("tweedie-nloglik"):
        rho = float(name.split("@")[1])
        a = y * np.exp((1 - rho) * np.log(p)) / (1 - rho)
        b = np.exp((2 - rho) * np.log(p)) / (2 - rho)
        return mean(-a + b)
    if name in ("auc", "aucpr") and p.ndim == 1:
        return binary_auc(y, p, w, pr=(name == "aucpr"))
    if name == "auc" and p.ndim == 2:
        # one-vs-rest, each class's AUC weighted by its (weighted) positive count
        tot, acc = 0.0, 0.0
        for c in range(p.shape[1]):
            pos = float(np.sum(w * (y == c)))
            acc += binary_auc((y == c).astype(np.float64), p[:, c], w) * pos
            tot += pos
        return acc / tot
    raise KeyError(name)


def binary_auc(y, p, w, pr=False):
    """XGBoost's BinaryAUC sweep: descending score, one segment per distinct score (ties
    grouped); ROC: trapezoids, normalised by total fp * tp; PR: the interpolated area
    of detail::CalcDeltaPRAUC (Davis & Goadrich), not normalised."""
    order = np.argsort(-p, kind="stable")
    ys, ps, ws = y[order], p[order], w[order]
    total_pos = float(np.sum(w * y))
    fp = tp = fp_prev = tp_prev = 0.0
    area = 0.0

    def seg(fp_prev, fp, tp_prev, tp):
        if not pr:
            return abs(fp_prev - fp) * (tp_prev + tp) * 0.5
        pr_prev, prc = tp_prev / total_pos, tp / total_pos
        if tp == tp_prev:
            a, b = 1.0, 0.0
        else:
            h = (fp - fp_prev) / (tp - tp_prev)
            a, b = h + 1, (fp_prev - h * tp_prev) / total_pos
        if b != 0.0:
            return (prc - pr_prev - b / a * (math.log(a * prc + b) - math.log(a * pr_prev + b))) / a
        return (prc - pr_prev) / a

    for i in range(len(ys)):
        if i > 0 and ps[i] != ps[i - 1]:
            area += seg(fp_prev, fp, tp_prev, tp)
            fp_prev, tp_prev = fp, tp
        fp += (1 - ys[i]) * ws[i]
        tp += ys[i] * ws[i]
    area += seg(fp_prev, fp, tp_prev, tp)
    return area if pr else area / (fp * tp)


DEFINITIONS = {
    "rmse": "sqrt(sum w*(y-p)^2 / sum w)",
    "rmsle": "sqrt(sum w*(log1p(p)-log1p(y))^2 / sum w)   (natural log; p, y > -1)",
    "mae": "sum w*|y-p| / sum w",
    "mape": "sum w*|(y-p)/y| / sum w   (a fraction, not percent; y must be nonzero)",
    "mphe": "sum w*(s^2*(sqrt(1+((y-p)/s)^2)-1)) / sum w, huber_slope s = 1",
    "logloss": "sum w*(-y*log(max(p,1e-16)) - (1-y)*log(max(1-p,1e-16))) / sum w, p = probability",
    "error": "sum w*(p > 0.5 ? 1-y : y) / sum w   (p == 0.5 counts as predicted 0)",
    "error@0.7": "sum w*(p > 0.7 ? 1-y : y) / sum w   (strictly greater than the threshold)",
    "merror": "sum w*[argmax_k p_k != y] / sum w   (argmax: first maximum)",
    "mlogloss": "sum w*(-log(max(p_y, 1e-16))) / sum w",
    "auc": ("binary: rows sorted by descending p; (weighted) fp/tp accumulated, one ROC point per distinct "
            "p (ties grouped), trapezoid area / (total fp * total tp) -- equals sklearn roc_auc_score with "
            "sample_weight. multiclass: one-vs-rest AUC of each class's column, averaged with weights = "
            "the class's weighted positive count"),
    "aucpr": ("binary: same sweep, each segment's area interpolated per Davis & Goadrich "
              "(detail::CalcDeltaPRAUC in src/metric/auc.h); NOT sklearn average_precision_score"),
    "poisson-nloglik": "sum w*(lgamma(y+1) + q - y*log(q)) / sum w, q = max(p, 1e-16), p = exp(margin)",
    "gamma-nloglik": "sum w*(y/p + log(p)) / sum w   (dispersion 1: the lgamma / log(y) terms cancel)",
    "tweedie-nloglik@1.5": ("sum w*(-y*p^(1-rho)/(1-rho) + p^(2-rho)/(2-rho)) / sum w, rho = 1.5 "
                            "(no normalising constant in y)"),
}


def eval_case(objective, margin, labels, weights, metrics, extra_params=None, expected=None):
    """XGBoost's value of `metrics` for predictions whose margin is `margin`."""
    n = len(labels)
    x = np.random.default_rng(99).normal(size=(n, 2)).astype(np.float32)
    dm = xgb.DMatrix(x, label=labels, weight=weights, base_margin=margin, nthread=1)
    params = dict(COMMON, objective=objective, eta=0.0, max_depth=2, eval_metric=metrics)
    params.update(extra_params or {})
    bst = xgb.train(params, dm, 1)
    pred = bst.predict(dm)
    if expected is not None:
        err = np.abs(pred.astype(np.float64) - expected) / np.maximum(1.0, np.abs(expected))
        assert np.max(err) < 1e-6, (objective, np.max(err))
    assert np.array_equal(bst.predict(dm, output_margin=True).reshape(np.shape(margin)),
                          np.asarray(margin, np.float32)), objective
    values = parse_eval(bst.eval(dm))
    assert sorted(values) == sorted(metrics), (values, metrics)
    return pred, values


def metric_case(key, objective, labels, intended, margin, metrics, weights, extra_params=None,
                label_kind=""):
    labels = np.asarray(labels, np.float32)
    weights = np.asarray(weights, np.float32)
    case = {"objective": objective}
    if extra_params:
        case["extra_params"] = extra_params
    case["labels"] = floats(labels)
    pred = None
    for variant, w in (("unweighted", None), ("weighted", weights)):
        p, values = eval_case(objective, margin, labels, w, metrics, extra_params, intended)
        if pred is None:
            pred = p
            case["predictions"] = floats(p)
            case["margins"] = floats(np.asarray(margin, np.float32))
            case["weights"] = floats(weights)
        else:
            assert np.array_equal(p, pred)
        case[variant] = values
        for m, v in values.items():
            mine = np_metric(m, labels, p, w)
            # XGBoost evaluates each row's loss in float32 and sums in double: ~1e-8 relative.
            assert math.isclose(mine, v, rel_tol=1e-7, abs_tol=1e-12), (key, variant, m, mine, v)
    case["definitions"] = {m: DEFINITIONS[m] for m in metrics}
    if label_kind:
        case["labels_are"] = label_kind
    return case, pred


def metric_references():
    rng = np.random.default_rng(2024)
    n = 300
    cases = {}
    w_all = rng.uniform(0.2, 3.0, n)  # one weight vector shared by all weighted variants

    # binary: labels 0/1, probabilities correlated with them
    y = (rng.random(n) < 0.4).astype(np.float32)
    z = rng.normal(size=n) * 1.5 + (y * 2 - 1) * 1.0
    prob = scipy.special.expit(z)
    margin = np.log(prob / (1 - prob)).astype(np.float32)
    case, _ = metric_case("binary", "binary:logistic", y, prob, margin,
                          ["logloss", "error", "error@0.7", "auc", "aucpr"], w_all)
    cases["binary"] = case

    # binary with heavy ties in the predictions (5 distinct probabilities), labels mixed in ties
    yt = (rng.random(n) < 0.5).astype(np.float32)
    level = np.clip(np.round(rng.normal(size=n) + yt * 1.2 + 2.5).astype(int), 0, 4) * 2 + 1
    level[::7] = 5  # some exactly 0.5 (margin exactly 0)
    prob_t = level / 10.0  # 0.1, 0.3, 0.5, 0.7, 0.9
    margin_t = np.log(prob_t / (1 - prob_t)).astype(np.float32)
    case, p_ties = metric_case("binary_ties", "binary:logistic", yt, prob_t, margin_t,
                               ["auc", "aucpr", "logloss", "error"], w_all)
    assert len(np.unique(p_ties)) <= 5
    case["distinct_predictions"] = floats(np.unique(p_ties))
    cases["binary_ties"] = case

    # multiclass, 4 classes: probability rows
    k = 4
    ym = rng.integers(0, k, n).astype(np.float32)
    logits = rng.normal(size=(n, k)) * 1.2
    logits[np.arange(n), ym.astype(int)] += 1.3
    pm = scipy.special.softmax(logits, axis=1)
    margin_m = np.log(pm).astype(np.float32)
    # intended probabilities are softmax of the float32 log-probabilities
    case, _ = metric_case("multiclass", "multi:softprob", ym, scipy.special.softmax(
        margin_m.astype(np.float64), axis=1), margin_m, ["merror", "mlogloss", "auc"], w_all,
        {"num_class": k}, "class indices 0..3")
    case["num_class"] = k
    case["note"] = ("predictions[i] is the probability row of row i; margins[i] = log of the intended "
                    "probabilities (XGBoost applies softmax to them). 'auc' here is XGBoost's multiclass "
                    "one-vs-rest AUC.")
    cases["multiclass"] = case

    # regression (identity link): positive labels and predictions
    yr = rng.gamma(3.0, 2.0, n).astype(np.float32) + 0.1
    pr_ = np.maximum(yr * rng.lognormal(0, 0.3, n) + rng.normal(0, 0.5, n), 0.05)
    margin_r = pr_.astype(np.float32)
    case, _ = metric_case("regression", "reg:squarederror", yr, margin_r.astype(np.float64),
                          margin_r, ["rmse", "rmsle", "mae", "mape", "mphe"], w_all)
    cases["regression"] = case

    # count:poisson (log link): integer counts, positive predicted means
    mu = np.exp(rng.normal(0.5, 0.7, n))
    yc = rng.poisson(mu).astype(np.float32)
    pc = mu * rng.lognormal(0, 0.3, n)
    margin_c = np.log(pc).astype(np.float32)
    case, _ = metric_case("poisson", "count:poisson", yc, pc, margin_c, ["poisson-nloglik"], w_all,
                          None, "nonnegative integer counts")
    cases["poisson"] = case

    # reg:gamma (log link): positive continuous labels
    yg = rng.gamma(2.0, 1.5, n).astype(np.float32) + 0.01
    pg = yg * rng.lognormal(0, 0.4, n) + 0.1
    margin_g = np.log(pg).astype(np.float32)
    case, _ = metric_case("gamma", "reg:gamma", yg, pg, margin_g, ["gamma-nloglik"], w_all)
    cases["gamma"] = case

    # reg:tweedie (log link), variance power 1.5: nonnegative labels with exact zeros
    ytw = np.where(rng.random(n) < 0.3, 0.0, rng.gamma(2.0, 2.0, n)).astype(np.float32)
    ptw = np.maximum(ytw, 0.5) * rng.lognormal(0, 0.4, n)
    margin_tw = np.log(ptw).astype(np.float32)
    case, _ = metric_case("tweedie", "reg:tweedie", ytw, ptw, margin_tw, ["tweedie-nloglik@1.5"], w_all,
                          {"tweedie_variance_power": 1.5}, "nonnegative, 30% exactly 0")
    cases["tweedie"] = case

    # scikit-learn cross-checks for auc / aucpr
    for key in ("binary", "binary_ties"):
        c = cases[key]
        yy, pp, ww = np.array(c["labels"]), np.array(c["predictions"]), np.array(c["weights"])
        c["sklearn_cross_check"] = {
            "roc_auc_score": float(roc_auc_score(yy, pp)),
            "roc_auc_score_weighted": float(roc_auc_score(yy, pp, sample_weight=ww)),
            "average_precision_score": float(average_precision_score(yy, pp)),
            "average_precision_score_weighted": float(average_precision_score(yy, pp, sample_weight=ww)),
            "note": "XGBoost auc == sklearn roc_auc_score (also weighted, also with ties); "
                    "XGBoost aucpr != sklearn average_precision_score (different interpolation).",
        }
        assert math.isclose(c["sklearn_cross_check"]["roc_auc_score"], c["unweighted"]["auc"], rel_tol=1e-9)
        assert math.isclose(c["sklearn_cross_check"]["roc_auc_score_weighted"], c["weighted"]["auc"],
                            rel_tol=1e-7)
    yy, pp, ww = (np.array(cases["multiclass"][k]) for k in ("labels", "predictions", "weights"))
    cases["multiclass"]["sklearn_cross_check"] = {
        "roc_auc_score_ovr_weighted": float(roc_auc_score(yy, pp, multi_class="ovr", average="weighted")),
        "note": "unweighted XGBoost multiclass auc == sklearn roc_auc_score(multi_class='ovr', "
                "average='weighted') (prevalence-weighted one-vs-rest)",
    }

    out = header()
    out["method"] = (
        "For each case and variant XGBoost evaluated eval_metric on a DMatrix(label, weight, base_margin="
        "margins) after 1 round of training with eta=0, so its predictions are exactly 'predictions' "
        "(float32 values stored as doubles; these are the inputs to use). 'unweighted' has no weights; "
        "'weighted' uses 'weights' (same vector for all cases). Values parsed from booster.eval() "
        "(printed with 17 significant digits). Each value was re-derived here with numpy per "
        "'definitions' (to 1e-7 relative; XGBoost computes each row's loss in float32 and sums in double, "
        "so a float64 implementation differs by up to ~2e-8 relative; auc/aucpr/error/merror agree exactly).")
    out["cases"] = cases
    out["sagemaker_container_metrics"] = container_metrics(cases)
    write_json("metric_reference.json", out)
    for k, c in cases.items():
        print(f"metrics {k}: {c['unweighted']} | weighted {c['weighted']}", file=sys.stderr)


# The SageMaker XGBoost container (aws/sagemaker-xgboost-container,
# src/sagemaker_xgboost_container/metrics/custom_metrics.py, current version with
# margin_to_class_label) computes these itself with scikit-learn, passed to xgb.train as
# `feval=` (algorithm_mode/train.py). With `feval` (XGBoost 1.6-2.x: CallbackContainer(...,
# output_margin=callable(obj) or metric_fn is feval)) the function receives RAW MARGINS:
#   margin_to_class_label(preds):
#       "if type(preds[0]) is np.ndarray: return np.argmax(preds, axis=-1)
#        else: return (preds > 0.0).astype(int)"
#   -> binary: class 1 iff margin > 0 (iff probability > 0.5, strictly); multiclass: argmax of
#      the margin row (== argmax of the probabilities, first maximum on ties).
#   compute_multiclass_and_binary_metrics(metricfunc, preds, dtrain):
#       "labels = dtrain.get_label(); pred_labels = margin_to_class_label(preds);
#        score = metricfunc(labels, pred_labels)"   (0.0 if preds is empty)
#   Weights are NEVER passed (no sample_weight anywhere), so weighted == unweighted.
CONTAINER_RULES = {
    "accuracy": "accuracy_score(labels, pred_labels)",
    "balanced_accuracy": "balanced_accuracy_score(labels, pred_labels)",
    "f1": "f1_score(labels, pred_labels, average='macro')   (NOTE: macro, even for binary)",
    "f1_binary": "f1_score(labels, pred_labels, average='binary')   (pos_label=1)",
    "f1_macro": "f1_score(labels, pred_labels, average='macro')",
    "precision": "precision_score(labels, pred_labels)   (default average='binary', pos_label=1)",
    "precision_macro": "precision_score(labels, pred_labels, average='macro')",
    "precision_micro": "precision_score(labels, pred_labels, average='micro')",
    "recall": "recall_score(labels, pred_labels)   (default average='binary', pos_label=1)",
    "recall_macro": "recall_score(labels, pred_labels, average='macro')",
    "recall_micro": "recall_score(labels, pred_labels, average='micro')",
    "mse": "mean_squared_error(labels, preds)   (preds = raw margin; == prediction for reg:squarederror)",
    "r2": "r2_score(labels, preds)   (preds = raw margin)",
    "mae": "mean_absolute_error(labels, preds)   (newest version only; replaces XGBoost's own mae)",
    "rmse": ("mean_squared_error(labels, preds, squared=False)   (newest version only; replaces XGBoost's "
             "own rmse; 'squared=' was removed in scikit-learn 1.6, value here = sqrt(mse))"),
}
CLASSIFICATION = ["accuracy", "balanced_accuracy", "f1", "f1_binary", "f1_macro", "precision",
                  "precision_macro", "precision_micro", "recall", "recall_macro", "recall_micro"]
BINARY_ONLY = {"f1_binary", "precision", "recall"}


def container_metrics(cases):
    def classification(key):
        c = cases[key]
        labels = np.asarray(c["labels"], np.float32)  # dtrain.get_label() is float32
        margins = np.asarray(c["margins"], np.float32)
        pred_labels = np.argmax(margins, axis=-1) if margins.ndim == 2 else (margins > 0.0).astype(int)
        out = {"pred_labels": pred_labels.tolist()}
        vals = {}
        for m in CLASSIFICATION:
            fn = {
                "accuracy": accuracy_score,
                "balanced_accuracy": balanced_accuracy_score,
                "f1": lambda a, b: f1_score(a, b, average="macro"),
                "f1_binary": lambda a, b: f1_score(a, b, average="binary"),
                "f1_macro": lambda a, b: f1_score(a, b, average="macro"),
                "precision": precision_score,
                "precision_macro": lambda a, b: precision_score(a, b, average="macro"),
                "precision_micro": lambda a, b: precision_score(a, b, average="micro"),
                "recall": recall_score,
                "recall_macro": lambda a, b: recall_score(a, b, average="macro"),
                "recall_micro": lambda a, b: recall_score(a, b, average="micro"),
            }[m]
            if margins.ndim == 2 and m in BINARY_ONLY:
                try:
                    fn(labels, pred_labels)
                    raise AssertionError(m)
                except ValueError as e:
                    vals[m] = None
                    out.setdefault("errors", {})[m] = f"ValueError: {e}"
                continue
            vals[m] = float(fn(labels, pred_labels))
        out["values"] = vals
        return out

    def regression(key):
        c = cases[key]
        labels = np.asarray(c["labels"], np.float32)
        preds = np.asarray(c["margins"], np.float32)
        vals = {
            "mse": float(mean_squared_error(labels, preds)),
            "r2": float(r2_score(labels, preds)),
            "mae": float(mean_absolute_error(labels, preds)),
            "rmse": float(np.sqrt(mean_squared_error(labels, preds))),
        }
        l64, p64 = labels.astype(np.float64), preds.astype(np.float64)
        vals64 = {
            "mse": float(mean_squared_error(l64, p64)),
            "r2": float(r2_score(l64, p64)),
            "mae": float(mean_absolute_error(l64, p64)),
            "rmse": float(np.sqrt(mean_squared_error(l64, p64))),
        }
        for m in vals:
            assert math.isclose(vals[m], vals64[m], rel_tol=1e-5), m
        return {"values": vals, "values_float64": vals64,
                "note": "values: sklearn on the float32 arrays the container sees (float32 arithmetic); "
                        "values_float64: the same in float64. They agree to ~1e-7 relative."}

    out = {
        "source": ("aws/sagemaker-xgboost-container, src/sagemaker_xgboost_container/metrics/custom_metrics.py "
                   "(version defining margin_to_class_label and compute_multiclass_and_binary_metrics), used "
                   "via xgb.train(..., feval=configured_feval) in algorithm_mode/train.py; train_utils."
                   "get_eval_metrics_and_feval removes these names from XGBoost's eval_metric list."),
        "how_predictions_become_labels": (
            "feval gets RAW MARGINS (XGBoost 1.6-2.x: output_margin = callable(obj) or metric_fn is feval). "
            "margin_to_class_label: 2-D (multi:softprob/softmax) -> np.argmax(preds, axis=-1); 1-D -> "
            "(preds > 0.0).astype(int), i.e. probability > 0.5 strictly. Regression metrics use the raw "
            "margin as the prediction."),
        "weights": "never passed to scikit-learn: weighted datasets give the unweighted values",
        "rules": CONTAINER_RULES,
        "binary": classification("binary"),
        "binary_ties": classification("binary_ties"),
        "multiclass": classification("multiclass"),
        "regression": regression("regression"),
    }
    out["binary_ties"]["note"] = ("rows with probability exactly 0.5 have margin exactly 0.0 -> class 0 "
                                  "(margin > 0 is strict)")
    out["multiclass"]["note"] = ("f1_binary / precision / recall raise ValueError for multiclass labels "
                                 "(average='binary'); stored as null")
    return out


# --- C. models ----------------------------------------------------------------------------------

def inject_nan(x, frac, seed):
    x = np.array(x, dtype=np.float32, copy=True)
    rng = np.random.default_rng(seed)
    x.reshape(-1)[rng.random(x.size) < frac] = np.nan
    return x


def json_model_margin(path, x):
    """Margins computed from the saved JSON alone (checks the format notes in models.json)."""
    with open(path) as f:
        learner = json.load(f)["learner"]
    raw = learner["learner_model_param"]["base_score"]
    base = np.array(json.loads(raw) if raw.startswith("[") else [float(raw)], dtype=np.float64)
    objective = learner["objective"]["name"]
    if objective == "binary:logistic":
        base = np.log(base / (1 - base))
    elif objective in ("count:poisson", "reg:gamma", "reg:tweedie"):
        base = np.log(base)
    model = learner["gradient_booster"]["model"]
    groups = max(1, int(learner["learner_model_param"]["num_class"]))
    out = np.zeros((x.shape[0], groups)) + base
    for tree, group in zip(model["trees"], model["tree_info"]):
        left, right = tree["left_children"], tree["right_children"]
        index, cond, default_left = tree["split_indices"], tree["split_conditions"], tree["default_left"]
        for r in range(x.shape[0]):
            node = 0
            while left[node] != -1:
                v = x[r, index[node]]
                if np.isnan(v):
                    node = left[node] if default_left[node] else right[node]
                else:
                    node = left[node] if v < np.float32(cond[node]) else right[node]
            out[r, group] += cond[node]
    return out


def models(data):
    rng = np.random.default_rng(5)
    xp = rng.normal(size=(600, 5)).astype(np.float32)
    yp = rng.poisson(np.exp(0.5 + 0.4 * xp[:, 0] - 0.3 * xp[:, 1] + 0.2 * (xp[:, 2] > 0))).astype(np.float32)
    poisson = {"train_x": xp[:500], "train_y": yp[:500], "test_x": xp[500:]}

    specs = {
        "model_tiny": (data["breast_cancer"], {"objective": "binary:logistic", "max_depth": 2}, 1, 0.03),
        "model_binary": (data["breast_cancer"], {"objective": "binary:logistic", "max_depth": 3}, 10, 0.03),
        "model_softprob": (data["digits"], {"objective": "multi:softprob", "num_class": 10, "max_depth": 3},
                           5, 0.03),
        "model_regression_missing": (data["regression"], {"objective": "reg:squarederror", "max_depth": 4},
                                     20, 0.0),
        "model_poisson": (poisson, {"objective": "count:poisson", "max_depth": 3}, 10, 0.05),
    }
    out = header()
    out["note"] = ("<name>.json / <name>.ubj = booster.save_model; <name>_x.npy = first 50 test rows "
                   "(float32, NaN = missing; extra NaNs injected at 'injected_nan_fraction' with "
                   "default_rng(17)); _margin = predict(output_margin=True), _pred = predict(), float32 "
                   "(2-D [rows, 10] for softprob).")
    out["format_notes"] = {
        "base_score": ("learner_model_param.base_score is a STRING holding a bracketed list, one entry per "
                       "output group, e.g. '[6.2676054E-1]' (XGBoost >= 3.1; 1.x/2.x wrote a bare '5E-1'; "
                       "3.2 still reads the bare form, applying it to every group)."),
        "base_score_to_margin": ("binary:logistic: logit(base_score); count:poisson / reg:gamma / reg:tweedie: "
                                 "log(base_score); reg:squarederror: identity; multi:softprob: identity (the "
                                 "10-vector is already per-class margin)."),
        "margin": ("margin[row, group] = base_margin(group) + sum of the leaf value (split_conditions[leaf]) of "
                   "every tree with tree_info == group; a row goes left iff x[split_index] < split_condition "
                   "(float32 compare), NaN goes left iff default_left. XGBoost sums in float32, so an "
                   "independent float64 sum differs by ~1e-6 on 20-tree regressions (margins ~14)."),
    }
    out["models"] = {}
    for name, (d, params, rounds, nan_frac) in specs.items():
        p = dict(COMMON, **params)
        dtr = xgb.DMatrix(d["train_x"], label=d["train_y"], missing=np.nan, nthread=1)
        bst = xgb.train(p, dtr, rounds)
        bst.save_model(os.path.join(OUT, f"{name}.json"))
        bst.save_model(os.path.join(OUT, f"{name}.ubj"))
        x = d["test_x"][:50]
        if nan_frac:
            x = inject_nan(x, nan_frac, 17)
        dx = xgb.DMatrix(x, missing=np.nan, nthread=1)
        margin = bst.predict(dx, output_margin=True)
        pred = bst.predict(dx)
        save_npy(f"{name}_x.npy", x)
        save_npy(f"{name}_margin.npy", margin)
        save_npy(f"{name}_pred.npy", pred)
        # Both saved formats load back to identical predictions.
        for ext in ("json", "ubj"):
            b2 = xgb.Booster(model_file=os.path.join(OUT, f"{name}.{ext}"))
            b2.set_param({"nthread": 1})
            assert np.array_equal(b2.predict(dx, output_margin=True), margin), (name, ext)
        mine = json_model_margin(os.path.join(OUT, f"{name}.json"), x)
        assert np.allclose(mine, margin.reshape(mine.shape), rtol=1e-6, atol=1e-5), name
        raw, nums = learned_base_score(bst)
        out["models"][name] = {
            "params": p, "num_boost_round": rounds, "num_features": int(d["train_x"].shape[1]),
            "x_rows": int(x.shape[0]), "x_nan_count": int(np.isnan(x).sum()),
            "injected_nan_fraction": nan_frac,
            "margin_shape": list(margin.shape), "pred_shape": list(pred.shape),
            "base_score_raw": raw,
        }
    write_json("models.json", out)


def main():
    os.makedirs(OUT, exist_ok=True)
    data = datasets()
    quality(data)
    metric_references()
    models(data)
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print(f"wrote {len(os.listdir(OUT))} files, {total / 1e6:.2f} MB, to {OUT}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
