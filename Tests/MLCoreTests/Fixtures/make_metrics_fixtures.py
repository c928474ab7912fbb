#!/usr/bin/env python3
"""Reference values for Tests/MLCoreTests/MetricsTests.swift, computed by scikit-learn.

Regenerate (from the repository root, after scripts/setup.sh):

    .venv/bin/python Tests/MLCoreTests/Fixtures/make_metrics_fixtures.py

writes Tests/MLCoreTests/Fixtures/metrics.json. The data is deterministic (numpy PCG64 with a
fixed seed) and the script is idempotent: running it twice gives the same file for the same
scikit-learn / numpy versions, which are recorded in the JSON.

Conventions the Swift API uses, and how each sklearn call below is made to follow them:
  * binary labels and predictions are 0.0 / 1.0 (positive class 1); log_loss gets labels=[0, 1]
    so that a single-class y_true is still defined;
  * multiclass labels are class indices 0..<K stored as floats; "all_classes" variants pass
    labels=range(K) (the Swift `classCount:` argument), the others let sklearn infer the classes
    from y_true ∪ y_pred (the Swift default);
  * score / probability matrices are stored flat, row-major (samples × classes).
Every float input is a float64 whose shortest repr round-trips, so Swift parses the same bits.
"""

import json
import platform
import sys
import warnings
from pathlib import Path

import numpy as np
import sklearn
from sklearn import metrics as skm
from sklearn.exceptions import UndefinedMetricWarning

SEED = 20240611
OUT = Path(__file__).resolve().parent / "metrics.json"


def floats(a):
    return [float(x) for x in np.asarray(a, dtype=np.float64).ravel()]


def maybe(w):
    return None if w is None else floats(w)


# ----------------------------------------------------------------------------------------------
# binary


def binary_case(name, y, pred, scores, proba, w, note):
    y = np.asarray(y, dtype=np.float64)
    pred = np.asarray(pred, dtype=np.float64)
    scores = np.asarray(scores, dtype=np.float64)
    proba = np.asarray(proba, dtype=np.float64)
    case = {
        "name": name,
        "note": note,
        "labels": floats(y),
        "predictions": floats(pred),
        "scores": floats(scores),
        "probabilities": floats(proba),
        "weights": maybe(w),
        "accuracy": float(skm.accuracy_score(y, pred, sample_weight=w)),
        "precision": float(skm.precision_score(y, pred, sample_weight=w)),
        "precision_zero_division_1": float(
            skm.precision_score(y, pred, sample_weight=w, zero_division=1.0)
        ),
        "recall": float(skm.recall_score(y, pred, sample_weight=w)),
        "f1": float(skm.f1_score(y, pred, sample_weight=w)),
        "f_beta": [
            {"beta": b, "value": float(skm.fbeta_score(y, pred, beta=b, sample_weight=w))}
            for b in (0.5, 2.0, 3.0)
        ],
        "balanced_accuracy": float(skm.balanced_accuracy_score(y, pred, sample_weight=w)),
        "log_loss": float(skm.log_loss(y, proba, sample_weight=w, labels=[0, 1])),
        "roc_auc": None,
    }
    if len(np.unique(y)) == 2:
        case["roc_auc"] = float(skm.roc_auc_score(y, scores, sample_weight=w))
    return case


def binary_cases(rng):
    cases = []

    # Scores on a 0.1 grid: many ties, including ties across the two classes.
    n = 40
    y = (rng.random(n) < 0.45).astype(np.float64)
    scores = np.round(np.clip(0.3 * y + rng.random(n) * 0.7, 0, 1), 1)
    pred = (scores >= 0.5).astype(np.float64)
    proba = np.round(rng.random(n), 3)
    proba[:4] = [0.0, 1.0, 0.0, 1.0]  # exercise the eps clipping on both sides
    y[:4] = [1.0, 0.0, 0.0, 1.0]
    cases.append(binary_case("ties_unweighted", y, pred, scores, proba, None,
                             "0.1-grid scores (ties), probabilities 0 and 1 for clipping"))

    # The same kind of data with real-valued weights, some of them zero.
    n = 57
    y = (rng.random(n) < 0.5).astype(np.float64)
    scores = np.round(rng.normal(size=n) + 0.8 * y, 1)
    pred = (scores > 0.3).astype(np.float64)
    proba = np.round(1 / (1 + np.exp(-scores)), 6)
    w = np.round(rng.uniform(0, 3, size=n), 4)
    w[[3, 10, 11]] = 0.0
    cases.append(binary_case("ties_weighted", y, pred, scores, proba, w,
                             "ties, real weights with zeros"))

    # Integer weights: equal to repeating each sample w times (checked independently in Swift).
    n = 31
    y = (rng.random(n) < 0.4).astype(np.float64)
    scores = rng.integers(-3, 4, size=n).astype(np.float64)
    pred = (scores > 0).astype(np.float64)
    proba = np.round(rng.uniform(0.01, 0.99, size=n), 2)
    w = rng.integers(0, 5, size=n).astype(np.float64)
    w[0] = 2.0
    cases.append(binary_case("integer_weights", y, pred, scores, proba, w,
                             "integer scores in -3...3, integer weights 0...4"))

    # Every score tied: the ROC curve is one diagonal step, AUC = 0.5.
    n = 12
    y = np.array([0, 1, 1, 0, 1, 0, 0, 0, 1, 1, 0, 1], dtype=np.float64)
    scores = np.full(n, 0.25)
    pred = np.zeros(n)
    proba = np.full(n, 0.5)
    cases.append(binary_case("all_scores_tied", y, pred, scores, proba, None,
                             "no predicted positives: precision and F are zero_division"))

    # Perfect separation, weighted.
    y = np.array([0, 0, 0, 1, 1, 1, 1, 0], dtype=np.float64)
    scores = np.array([-2.0, -1.5, 0.1, 0.2, 3.0, 0.2, 5.0, 0.0])
    pred = y.copy()
    proba = np.array([0.1, 0.2, 0.3, 0.7, 0.9, 0.8, 0.99, 0.4])
    w = np.array([1.0, 2.0, 0.5, 0.25, 1.0, 3.0, 1.0, 1.0])
    cases.append(binary_case("perfect_separation_weighted", y, pred, scores, proba, w,
                             "AUC 1, accuracy 1"))

    # Only positives in y_true: AUC is undefined (Swift throws), the rest is defined.
    y = np.ones(6)
    pred = np.array([1, 0, 1, 1, 0, 1], dtype=np.float64)
    scores = np.array([0.9, 0.1, 0.8, 0.7, 0.4, 0.6])
    proba = scores.copy()
    cases.append(binary_case("single_class_true", y, pred, scores, proba, None,
                             "y_true has one class; balanced accuracy is the recall of it"))

    # Larger, continuous scores with a few ties.
    n = 1000
    y = (rng.random(n) < 0.3).astype(np.float64)
    scores = np.round(rng.normal(size=n) + 1.2 * y, 3)
    pred = (scores > 0.6).astype(np.float64)
    proba = 1 / (1 + np.exp(-(scores - 0.5)))
    w = rng.exponential(1.0, size=n)
    cases.append(binary_case("large_weighted", y, pred, scores, proba, w,
                             "n=1000, 3-decimal scores, exponential weights"))
    return cases


# ----------------------------------------------------------------------------------------------
# regression


def regression_case(name, y, pred, w, note):
    y = np.asarray(y, dtype=np.float64)
    pred = np.asarray(pred, dtype=np.float64)
    return {
        "name": name,
        "note": note,
        "labels": floats(y),
        "predictions": floats(pred),
        "weights": maybe(w),
        "mse": float(skm.mean_squared_error(y, pred, sample_weight=w)),
        "rmse": float(skm.root_mean_squared_error(y, pred, sample_weight=w)),
        "mae": float(skm.mean_absolute_error(y, pred, sample_weight=w)),
        "r2": float(skm.r2_score(y, pred, sample_weight=w)),
    }


def regression_cases(rng):
    cases = []
    n = 50
    y = rng.normal(3.0, 2.0, size=n)
    pred = y + rng.normal(0, 0.7, size=n)
    cases.append(regression_case("gaussian_unweighted", y, pred, None, "n=50"))

    n = 80
    y = rng.normal(-1.0, 5.0, size=n)
    pred = 0.8 * y + rng.normal(0, 2.0, size=n)
    w = rng.uniform(0, 2, size=n)
    w[:5] = 0.0
    cases.append(regression_case("gaussian_weighted", y, pred, w, "real weights with zeros"))

    y = np.full(10, 2.5)
    pred = np.linspace(2.0, 3.0, 10)
    cases.append(regression_case("constant_true_imperfect", y, pred, None,
                                 "constant y_true, imperfect prediction: R2 = 0"))

    y = np.full(7, -1.25)
    pred = y.copy()
    cases.append(regression_case("constant_true_perfect", y, pred, None,
                                 "constant y_true, perfect prediction: R2 = 1"))

    y = np.array([1.0, 2.0, 4.0, 8.0, 16.0])
    pred = y.copy()
    cases.append(regression_case("perfect", y, pred, None, "numerator 0: R2 = 1"))

    # y_true varies only where the weight is zero: the weighted denominator is exactly 0
    # (2.5 and integer weights keep the weighted mean exact), so R2 = 0.
    y = np.array([2.5, 2.5, 7.0, 2.5, -3.0, 2.5])
    pred = np.array([2.0, 3.0, 7.0, 2.5, 0.0, 2.25])
    w = np.array([1.0, 2.0, 0.0, 3.0, 0.0, 1.0])
    cases.append(regression_case("constant_where_weighted", y, pred, w,
                                 "y_true constant on the positive-weight samples"))

    y = np.array([3.0, -0.5, 2.0, 7.0])
    pred = np.array([2.5, 0.0, 2.0, 8.0])
    cases.append(regression_case("sklearn_docstring", y, pred, None,
                                 "the r2_score / mean_squared_error docstring example"))
    return cases


# ----------------------------------------------------------------------------------------------
# multiclass


def softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def multiclass_case(name, k, y, pred, scores, proba, w, note):
    y = np.asarray(y, dtype=np.float64)
    pred = np.asarray(pred, dtype=np.float64)
    scores = np.asarray(scores, dtype=np.float64).reshape(len(y), k)
    proba = np.asarray(proba, dtype=np.float64).reshape(len(y), k)
    all_labels = list(range(k))

    def prf(fn, **kw):
        return float(fn(y, pred, average="macro", sample_weight=w, **kw))

    return {
        "name": name,
        "note": note,
        "class_count": k,
        "labels": floats(y),
        "predictions": floats(pred),
        "scores": floats(scores),
        "probabilities": floats(proba),
        "weights": maybe(w),
        "accuracy": float(skm.accuracy_score(y, pred, sample_weight=w)),
        "balanced_accuracy": float(skm.balanced_accuracy_score(y, pred, sample_weight=w)),
        "macro_precision": prf(skm.precision_score),
        "macro_recall": prf(skm.recall_score),
        "macro_f1": prf(skm.f1_score),
        "macro_f_beta": [
            {"beta": b, "value": prf(skm.fbeta_score, beta=b)} for b in (0.5, 2.0)
        ],
        "macro_precision_all_classes": prf(skm.precision_score, labels=all_labels),
        "macro_recall_all_classes": prf(skm.recall_score, labels=all_labels),
        "macro_f1_all_classes": prf(skm.f1_score, labels=all_labels),
        "macro_precision_zero_division_1": prf(skm.precision_score, labels=all_labels,
                                               zero_division=1.0),
        "macro_recall_zero_division_1": prf(skm.recall_score, labels=all_labels,
                                            zero_division=1.0),
        "macro_precision_zero_division_nan": prf(skm.precision_score, labels=all_labels,
                                                 zero_division=np.nan),
        "macro_f1_zero_division_nan": prf(skm.f1_score, labels=all_labels,
                                          zero_division=np.nan),
        "top_k": [
            {
                "k": kk,
                "value": float(skm.top_k_accuracy_score(
                    y, scores, k=kk, labels=all_labels, sample_weight=w)),
            }
            for kk in (1, 2, 3, k)
        ],
        "log_loss": float(skm.log_loss(y, proba, labels=all_labels, sample_weight=w)),
    }


def multiclass_cases(rng):
    cases = []
    k = 5

    # Scores on a 0.5 grid: ties between classes in most rows, so top-k tie-breaking matters.
    n = 60
    y = rng.integers(0, k, size=n).astype(np.float64)
    raw = rng.normal(size=(n, k))
    raw[np.arange(n), y.astype(int)] += 1.0
    scores = np.round(raw * 2) / 2
    pred = np.argmax(raw, axis=1).astype(np.float64)
    proba = softmax(raw)
    proba[0] = [0.0, 0.5, 0.5, 0.0, 0.0]  # true-class probability 0 → clipped at eps
    y[0] = 0.0
    cases.append(multiclass_case("five_classes_ties", k, y, pred, scores, proba, None,
                                 "0.5-grid scores (ties), one zero true-class probability"))

    n = 73
    y = rng.integers(0, k, size=n).astype(np.float64)
    raw = rng.normal(size=(n, k))
    raw[np.arange(n), y.astype(int)] += 0.7
    scores = np.round(raw, 1)
    pred = np.argmax(scores, axis=1).astype(np.float64)
    proba = softmax(raw * 1.5)
    w = np.round(rng.uniform(0, 4, size=n), 3)
    w[[1, 2]] = 0.0
    cases.append(multiclass_case("five_classes_weighted", k, y, pred, scores, proba, w,
                                 "0.1-grid scores, real weights with zeros"))

    # Class 4 never occurs in y_true but is predicted (macro precision includes it,
    # balanced accuracy drops it); class 3 never occurs anywhere (only the all-classes
    # variants count it, as a zero-division class).
    n = 25
    y = rng.choice([0, 1, 2], size=n).astype(np.float64)
    pred = y.copy()
    flip = rng.random(n) < 0.4
    pred[flip] = rng.choice([0, 1, 2, 4], size=int(flip.sum()))
    pred[0] = 4.0
    scores = rng.integers(0, 3, size=(n, k)).astype(np.float64)  # heavy ties
    proba = softmax(scores)
    cases.append(multiclass_case("absent_classes", k, y, pred, scores, proba, None,
                                 "class 4 only predicted, class 3 absent everywhere"))

    # All scores in a row tied: top-k takes the k highest class indices (sklearn's stable
    # argsort reversed).
    y = np.array([0, 1, 2, 3, 4, 4, 3, 2], dtype=np.float64)
    pred = np.array([4, 4, 4, 4, 4, 4, 4, 4], dtype=np.float64)
    scores = np.zeros((8, k))
    proba = np.full((8, k), 0.2)
    cases.append(multiclass_case("all_tied_rows", k, y, pred, scores, proba, None,
                                 "every row tied: hit iff label >= K - k"))
    return cases


def arbitrary_label_case():
    """Integer labels that are not 0..<K (negative, gaps) for the class-inferring functions
    (accuracy, balanced accuracy, macro averages). sklearn calls non-integral floats
    "continuous" and rejects them; so does the Swift code."""
    y = np.array([-1.0, 2.0, 3.0, 2.0, -1.0, 3.0, 3.0, 2.0, -1.0, 2.0])
    pred = np.array([-1.0, 2.0, 2.0, 2.0, 3.0, 3.0, -1.0, 2.0, -1.0, 7.0])
    w = np.array([1.0, 0.5, 2.0, 1.0, 1.0, 3.0, 0.25, 1.0, 2.0, 1.0])
    out = {"labels": floats(y), "predictions": floats(pred), "weights": floats(w)}
    for tag, ww in (("", None), ("_weighted", w)):
        out["accuracy" + tag] = float(skm.accuracy_score(y, pred, sample_weight=ww))
        out["balanced_accuracy" + tag] = float(skm.balanced_accuracy_score(y, pred, sample_weight=ww))
        out["macro_precision" + tag] = float(skm.precision_score(y, pred, average="macro", sample_weight=ww))
        out["macro_recall" + tag] = float(skm.recall_score(y, pred, average="macro", sample_weight=ww))
        out["macro_f1" + tag] = float(skm.f1_score(y, pred, average="macro", sample_weight=ww))
    return out


# ----------------------------------------------------------------------------------------------
# float32 log-loss: sklearn clips at float32 eps (2**-23) and computes in float32.


def float32_cases():
    eps32 = float(np.finfo(np.float32).eps)
    p = np.array([0.0, 1.0, 1.0 - 2.0**-24, 2.0**-30, 0.25, 0.7, 1.0, 0.0, 0.5], dtype=np.float32)
    y = np.array([1, 0, 0, 1, 1, 0, 1, 0, 1], dtype=np.float64)
    w = np.array([1, 2, 1, 1, 0.5, 1, 3, 1, 1], dtype=np.float32)
    binary = {
        "labels": floats(y),
        "probabilities": floats(p),
        "weights": floats(w),
        "log_loss": float(skm.log_loss(y, p, labels=[0, 1])),
        "log_loss_weighted": float(skm.log_loss(y, p, labels=[0, 1], sample_weight=w)),
    }
    P = np.array([[0.0, 0.5, 0.5], [1.0, 0.0, 0.0], [0.2, 0.3, 0.5], [0.1, 0.1, 0.8]],
                 dtype=np.float32)
    ym = np.array([0, 0, 2, 1], dtype=np.float64)
    multiclass = {
        "class_count": 3,
        "labels": floats(ym),
        "probabilities": floats(P),
        "log_loss": float(skm.log_loss(ym, P, labels=[0, 1, 2])),
    }
    return {"eps": eps32, "binary": binary, "multiclass": multiclass}


def main():
    # The zero-division and absent-class cases warn by design; a probability row that does not
    # sum to one would be rejected by the Swift code, so it must not slip into the fixtures.
    warnings.filterwarnings("ignore", category=UndefinedMetricWarning)
    warnings.filterwarnings("ignore", message="y_pred contains classes not in y_true")
    warnings.filterwarnings("error", message="The y_prob values do not sum to one")
    rng = np.random.default_rng(SEED)
    data = {
        "generator": "Tests/MLCoreTests/Fixtures/make_metrics_fixtures.py",
        "sklearn_version": sklearn.__version__,
        "numpy_version": np.__version__,
        "python_version": platform.python_version(),
        "seed": SEED,
        "binary": binary_cases(rng),
        "regression": regression_cases(rng),
        "multiclass": multiclass_cases(rng),
        "arbitrary_labels": arbitrary_label_case(),
        "float32": float32_cases(),
    }
    text = json.dumps(data, indent=1, allow_nan=False)
    OUT.write_text(text + "\n")
    print(f"wrote {OUT} (sklearn {sklearn.__version__}, numpy {np.__version__})", file=sys.stderr)


if __name__ == "__main__":
    main()
