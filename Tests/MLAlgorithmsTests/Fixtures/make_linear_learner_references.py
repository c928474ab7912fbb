#!/usr/bin/env python3
"""scikit-learn reference solutions for the Linear Learner trainer's end-to-end tests.

Our trainer standardizes features with statistics of the training set (mean and population
standard deviation, ddof=0; a feature whose standard deviation is 0 keeps scale 1), and
minimizes, in that standardized space,

    mean over training rows of loss + wd/2 * ||W||^2        (bias not penalized)

with loss = logistic (binary), softmax cross-entropy over K classes with K full weight rows
(multiclass), or (s - y)^2 / 2 on standardized labels (regression). scikit-learn solves the
same problems with a different scaling of the penalty:

    LogisticRegression(C): C * sum(loss) + ||W||^2 / 2   ->  wd = 1 / (C * n_train)
    Ridge(alpha):  ||y - Xw - b||^2 + alpha * ||w||^2    ->  wd = alpha / n_train

Every case fits scikit-learn on the standardized training features (validation standardized
with the training statistics), records the `wd` above so the Swift tests can use it as is, and
asserts that sklearn's solution is a stationary point of OUR objective with that `wd`
(max |gradient| < 1e-6), which pins the mapping down.

Cases (keys of "cases" in the JSON):
  breast_cancer_logistic  data/breast-cancer/{train,validation}.csv (scripts/export_datasets.py)
  synthetic_logistic      5000 x 10 generated here (seed 7); 4000 train / 1000 validation
  ridge                   2000 x 8 generated here (seed 11); 1600 train / 400 validation
  digits_softmax          data/digits/{train,validation}.csv, 10 classes

Writes, next to this script:
  linear_learner_references.json
  synthetic_logistic_{train,validation}_{x,y}.npy   (x float32 C-order 2-D, y float32 1-D)
  ridge_{train,validation}_{x,y}.npy                (same layout)

The "sensitivity" entries bound how far a validation metric can move for a given excess of the
training objective over its minimum (first order, worst direction):
|delta validation log-loss| <= k * sqrt(objective gap), k = sqrt(2 g^T H^-1 g) with H the
Hessian of the training objective and g the gradient of the validation log-loss, both at the
optimum. Use it to choose test tolerances for an iterative trainer that stops near the optimum.

Rerun (deterministic; needs only numpy and scikit-learn, after scripts/export_datasets.py):
    .venv/bin/python Tests/MLAlgorithmsTests/Fixtures/make_linear_learner_references.py
"""
import json
import os
import sys

# One BLAS/OpenMP thread: with several, summation order varies from run to run and lbfgs carries
# the last-bit differences into the 10th digit of the digits solution. With one the JSON is
# byte-identical on rerun (same library versions and machine).
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import numpy as np  # noqa: E402
import sklearn  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402
from sklearn.linear_model import LogisticRegression, Ridge  # noqa: E402
from sklearn.metrics import accuracy_score, log_loss, mean_squared_error  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
GRADIENT_TOLERANCE = 1e-6
LOGISTIC_SETTINGS = dict(C=1.0, solver="lbfgs", max_iter=10000, tol=1e-10)


# --- helpers ------------------------------------------------------------------------------------

def floats(a):
    """Python floats (repr round-trips in JSON) from an array or scalar."""
    a = np.asarray(a, dtype=np.float64)
    return float(a) if a.ndim == 0 else a.tolist()


def standardizer(x_train):
    """Training mean and scale: population std, 1 where the std is 0."""
    x = np.asarray(x_train, dtype=np.float64)
    mean = x.mean(axis=0)
    std = x.std(axis=0)  # ddof=0
    scale = np.where(std > 0, std, 1.0)
    return mean, std, scale


def load_csv(name, split):
    path = os.path.join(ROOT, "data", name, f"{split}.csv")
    data = np.loadtxt(path, delimiter=",", dtype=np.float64, ndmin=2)
    return data[:, 1:], data[:, 0]


def save_npy(name, a):
    np.save(os.path.join(HERE, name), np.ascontiguousarray(a, dtype=np.float32))


def sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # stable for large |z|


def softmax(s):
    s = s - s.max(axis=1, keepdims=True)
    e = np.exp(s)
    return e / e.sum(axis=1, keepdims=True)


def augmented(x):
    return np.hstack([x, np.ones((x.shape[0], 1))])


def binary_objective(xs, y, w, b, wd):
    """Mean logistic loss + wd/2 ||w||^2, its gradient [dw, db] and Hessian (d+1 x d+1)."""
    z = xs @ w + b
    loss = np.mean(np.logaddexp(0.0, z) - y * z)
    p = sigmoid(z)
    xa = augmented(xs)
    n = xs.shape[0]
    grad = xa.T @ (p - y) / n
    grad[:-1] += wd * w
    hess = (xa * (p * (1 - p))[:, None]).T @ xa / n
    hess[np.arange(len(w)), np.arange(len(w))] += wd
    return loss + 0.5 * wd * float(w @ w), grad, hess


def binary_validation_gradient(xv, yv, w, b):
    p = sigmoid(xv @ w + b)
    return augmented(xv).T @ (p - yv) / xv.shape[0]


def softmax_objective(xs, y, coef, intercept, wd, classes, hessian=True):
    """Mean softmax cross-entropy + wd/2 ||W||^2 over K full rows; parameters laid out as the
    K x (d+1) matrix [W | b] flattened row by row."""
    n, d = xs.shape
    s = xs @ coef.T + intercept
    p = softmax(s)
    onehot = np.eye(classes)[y.astype(np.int64)]
    shifted = s - s.max(axis=1, keepdims=True)
    loss = np.mean(np.log(np.exp(shifted).sum(axis=1)) - (shifted * onehot).sum(axis=1))
    xa = augmented(xs)
    grad = (p - onehot).T @ xa / n  # K x (d+1)
    grad[:, :d] += wd * coef
    hess = None
    if hessian:
        m = d + 1
        hess = np.zeros((classes * m, classes * m))
        for k in range(classes):
            for l in range(classes):
                a = p[:, k] * ((k == l) - p[:, l])
                hess[k * m:(k + 1) * m, l * m:(l + 1) * m] = (xa * a[:, None]).T @ xa / n
        pen = np.zeros((classes, m))
        pen[:, :d] = wd
        hess[np.diag_indices_from(hess)] += pen.ravel()
    return loss + 0.5 * wd * float((coef * coef).sum()), grad.ravel(), hess


def softmax_validation_gradient(xv, yv, coef, intercept, classes):
    p = softmax(xv @ coef.T + intercept)
    onehot = np.eye(classes)[yv.astype(np.int64)]
    return ((p - onehot).T @ augmented(xv) / xv.shape[0]).ravel()


def sensitivity(hess, g_val):
    """k with |delta validation metric| <= k sqrt(objective gap), to first order."""
    # pinv: the softmax Hessian is singular along a common shift of the intercepts, a direction
    # that changes no prediction (g_val is orthogonal to it).
    k = float(np.sqrt(2.0 * g_val @ np.linalg.pinv(hess, rcond=1e-12, hermitian=True) @ g_val))
    eig = np.linalg.eigvalsh(hess)
    positive = eig[eig > 1e-12 * eig.max()]
    return {
        "k": k,
        "delta_validation_logloss_at_gap": {gap: k * np.sqrt(float(gap)) for gap in ("1e-8", "1e-6", "1e-4")},
        "hessian_eigenvalue_min": float(positive.min()),
        "hessian_eigenvalue_max": float(eig.max()),
    }


def fix_gap_keys(d):
    d["delta_validation_logloss_at_gap"] = {key: float(v) for key, v in d["delta_validation_logloss_at_gap"].items()}
    return d


def assert_stationary(case, grad):
    worst = float(np.max(np.abs(grad)))
    assert worst < GRADIENT_TOLERANCE, f"{case}: max |gradient| {worst} at sklearn's solution"
    return worst


# --- cases --------------------------------------------------------------------------------------

def binary_logistic_case(case, x_tr, y_tr, x_va, y_va, source):
    mean, std, scale = standardizer(x_tr)
    xs_tr = (np.asarray(x_tr, np.float64) - mean) / scale
    xs_va = (np.asarray(x_va, np.float64) - mean) / scale
    y_tr = np.asarray(y_tr, np.float64)
    y_va = np.asarray(y_va, np.float64)
    n = xs_tr.shape[0]
    model = LogisticRegression(**LOGISTIC_SETTINGS).fit(xs_tr, y_tr)
    w, b = model.coef_[0].astype(np.float64), float(model.intercept_[0])
    wd = 1.0 / (LOGISTIC_SETTINGS["C"] * n)
    objective, grad, hess = binary_objective(xs_tr, y_tr, w, b, wd)
    worst = assert_stationary(case, grad)
    p_va = model.predict_proba(xs_va)[:, 1]
    p_tr = model.predict_proba(xs_tr)[:, 1]
    # predict_proba must agree with our sigmoid of the recorded parameters.
    assert np.allclose(p_va, sigmoid(xs_va @ w + b), rtol=0, atol=1e-12)
    sens = fix_gap_keys(sensitivity(hess, binary_validation_gradient(xs_va, y_va, w, b)))
    return {
        "source": source,
        "model": "sklearn.linear_model.LogisticRegression(C=1.0, solver='lbfgs', max_iter=10000, tol=1e-10)",
        "predictor_type": "binary_classifier",
        "n_train": n,
        "n_validation": int(xs_va.shape[0]),
        "features": int(xs_tr.shape[1]),
        "C": LOGISTIC_SETTINGS["C"],
        "wd": wd,
        "sklearn_iterations": int(model.n_iter_[0]),
        "max_abs_gradient_at_solution": worst,
        "train_objective": objective,
        "train_logloss": float(log_loss(y_tr, p_tr, labels=[0, 1])),
        "train_accuracy": float(accuracy_score(y_tr, (p_tr > 0.5).astype(np.float64))),
        "validation_logloss": float(log_loss(y_va, p_va, labels=[0, 1])),
        "validation_accuracy": float(accuracy_score(y_va, model.predict(xs_va))),
        "validation_probabilities_head": floats(p_va[:5]),
        "standardized_coefficients": floats(w),
        "standardized_intercept": b,
        "raw_coefficients": floats(w / scale),
        "raw_intercept": float(b - np.sum(w * mean / scale)),
        "feature_mean": floats(mean),
        "feature_std": floats(std),
        "sensitivity": sens,
    }


def breast_cancer_logistic():
    x_tr, y_tr = load_csv("breast-cancer", "train")
    x_va, y_va = load_csv("breast-cancer", "validation")
    return binary_logistic_case("breast_cancer_logistic", x_tr, y_tr, x_va, y_va,
                                "data/breast-cancer/{train,validation}.csv (label 1 = benign)")


def synthetic_logistic():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((5000, 10), dtype=np.float32)
    w_true = rng.standard_normal(10)
    b_true = 0.3
    z = x.astype(np.float64) @ w_true + b_true
    y = (rng.random(5000) < sigmoid(z)).astype(np.float32)
    parts = {"train": slice(0, 4000), "validation": slice(4000, 5000)}
    for split, rows in parts.items():
        save_npy(f"synthetic_logistic_{split}_x.npy", x[rows])
        save_npy(f"synthetic_logistic_{split}_y.npy", y[rows])
    out = binary_logistic_case("synthetic_logistic", x[parts["train"]], y[parts["train"]],
                               x[parts["validation"]], y[parts["validation"]],
                               "synthetic_logistic_{train,validation}_{x,y}.npy")
    out["generator"] = ("rng = np.random.default_rng(7); x = rng.standard_normal((5000, 10), dtype=float32); "
                        "w = rng.standard_normal(10); y = rng.random(5000) < sigmoid(x @ w + 0.3); "
                        "rows 0..3999 train, 4000..4999 validation")
    out["true_coefficients"] = floats(w_true)
    out["true_intercept"] = b_true
    return out


def ridge():
    rng = np.random.default_rng(11)
    n_rows, d = 2000, 8
    x = rng.standard_normal((n_rows, d), dtype=np.float32)
    x = (x * np.arange(1, d + 1, dtype=np.float32) + np.arange(d, dtype=np.float32)).astype(np.float32)
    w_true = rng.standard_normal(d)
    b_true = 2.0
    y = (x.astype(np.float64) @ w_true + b_true + 0.5 * rng.standard_normal(n_rows)).astype(np.float32)
    parts = {"train": slice(0, 1600), "validation": slice(1600, 2000)}
    for split, rows in parts.items():
        save_npy(f"ridge_{split}_x.npy", x[rows])
        save_npy(f"ridge_{split}_y.npy", y[rows])
    x_tr = x[parts["train"]].astype(np.float64)
    y_tr = y[parts["train"]].astype(np.float64)
    x_va = x[parts["validation"]].astype(np.float64)
    y_va = y[parts["validation"]].astype(np.float64)
    n = x_tr.shape[0]
    alpha = 10.0

    mean, std, scale = standardizer(x_tr)
    xs_tr = (x_tr - mean) / scale
    xs_va = (x_va - mean) / scale
    y_mean, y_std = float(y_tr.mean()), float(y_tr.std())
    ys_tr = (y_tr - y_mean) / y_std

    # The reference: standardized labels, as our trainer does (normalize_label, unbias_label).
    model = Ridge(alpha=alpha, solver="cholesky").fit(xs_tr, ys_tr)
    w, b = model.coef_.astype(np.float64), float(model.intercept_)
    wd = alpha / n
    resid = xs_tr @ w + b - ys_tr
    grad = np.concatenate([xs_tr.T @ resid / n + wd * w, [resid.mean()]])
    worst = assert_stationary("ridge", grad)
    objective = float(np.mean(0.5 * resid ** 2) + 0.5 * wd * w @ w)
    raw_coef = y_std * w / scale
    raw_intercept = y_std * (b - np.sum(w * mean / scale)) + y_mean
    pred_va = x_va @ raw_coef + raw_intercept
    assert np.allclose(pred_va, y_std * model.predict(xs_va) + y_mean, rtol=0, atol=1e-10)

    # Raw labels, same alpha: ||y - Xw - b||^2 and alpha ||w||^2 both scale by sigma_y^2 when y
    # does, so the raw-space solution must be the same (label scaling needs no change of alpha).
    model_raw = Ridge(alpha=alpha, solver="cholesky").fit(xs_tr, y_tr)
    raw_coef_2 = model_raw.coef_ / scale
    raw_intercept_2 = float(model_raw.intercept_ - np.sum(model_raw.coef_ * mean / scale))
    raw_label_difference = float(max(np.max(np.abs(raw_coef_2 - raw_coef)), abs(raw_intercept_2 - raw_intercept)))
    assert raw_label_difference < 1e-9, raw_label_difference

    return {
        "source": "ridge_{train,validation}_{x,y}.npy",
        "generator": ("rng = np.random.default_rng(11); x = rng.standard_normal((2000, 8), dtype=float32) * (j+1) + j "
                      "(column j, float32); w = rng.standard_normal(8); "
                      "y = float32(x @ w + 2 + 0.5 * rng.standard_normal(2000)); rows 0..1599 train, 1600..1999 validation"),
        "model": "sklearn.linear_model.Ridge(alpha=10.0, solver='cholesky') on standardized features and standardized labels",
        "predictor_type": "regressor",
        "labels_standardized": True,
        "raw_labels_give_same_raw_solution": True,
        "raw_labels_max_abs_difference": raw_label_difference,
        "n_train": n,
        "n_validation": int(x_va.shape[0]),
        "features": d,
        "alpha": alpha,
        "wd": wd,
        "max_abs_gradient_at_solution": worst,
        "train_objective_standardized": objective,
        "label_mean": y_mean,
        "label_std": y_std,
        "standardized_coefficients": floats(w),
        "standardized_intercept": b,
        "raw_coefficients": floats(raw_coef),
        "raw_intercept": float(raw_intercept),
        "validation_mse": float(mean_squared_error(y_va, pred_va)),
        "validation_predictions_head": floats(pred_va[:5]),
        "train_mse": float(mean_squared_error(y_tr, x_tr @ raw_coef + raw_intercept)),
        "feature_mean": floats(mean),
        "feature_std": floats(std),
        "true_coefficients": floats(w_true),
        "true_intercept": b_true,
    }


def digits_softmax():
    x_tr, y_tr = load_csv("digits", "train")
    x_va, y_va = load_csv("digits", "validation")
    classes = 10
    mean, std, scale = standardizer(x_tr)
    xs_tr = (x_tr - mean) / scale
    xs_va = (x_va - mean) / scale
    n = xs_tr.shape[0]
    model = LogisticRegression(**LOGISTIC_SETTINGS).fit(xs_tr, y_tr.astype(np.int64))
    assert list(model.classes_) == list(range(classes))
    coef, intercept = model.coef_.astype(np.float64), model.intercept_.astype(np.float64)
    wd = 1.0 / (LOGISTIC_SETTINGS["C"] * n)
    objective, grad, hess = softmax_objective(xs_tr, y_tr, coef, intercept, wd, classes)
    worst = assert_stationary("digits_softmax", grad)
    p_va = model.predict_proba(xs_va)
    assert np.allclose(p_va, softmax(xs_va @ coef.T + intercept), rtol=0, atol=1e-12)
    p_tr = model.predict_proba(xs_tr)
    top3 = np.argsort(-p_va, axis=1, kind="stable")[:, :3]
    top3_accuracy = float(np.mean(np.any(top3 == y_va.astype(np.int64)[:, None], axis=1)))
    sens = fix_gap_keys(sensitivity(hess, softmax_validation_gradient(xs_va, y_va, coef, intercept, classes)))
    return {
        "source": "data/digits/{train,validation}.csv",
        "model": "sklearn.linear_model.LogisticRegression(C=1.0, solver='lbfgs', max_iter=10000, tol=1e-10), multinomial",
        "predictor_type": "multiclass_classifier",
        "num_classes": classes,
        "n_train": n,
        "n_validation": int(xs_va.shape[0]),
        "features": int(xs_tr.shape[1]),
        "constant_features": int(np.sum(std == 0)),
        "C": LOGISTIC_SETTINGS["C"],
        "wd": wd,
        "sklearn_iterations": int(model.n_iter_[0]),
        "max_abs_gradient_at_solution": worst,
        "train_objective": objective,
        "train_logloss": float(log_loss(y_tr, p_tr, labels=list(range(classes)))),
        "train_accuracy": float(accuracy_score(y_tr, model.predict(xs_tr))),
        "validation_logloss": float(log_loss(y_va, p_va, labels=list(range(classes)))),
        "validation_accuracy": float(accuracy_score(y_va, model.predict(xs_va))),
        "validation_top3_accuracy": top3_accuracy,
        "note": ("K = 10 full weight rows, all penalized, intercepts not; the intercepts are unique only up to a "
                 "common shift (which changes no probability), so compare probabilities or centred intercepts"),
        "standardized_coefficients": floats(coef),
        "standardized_intercepts": floats(intercept),
        "sensitivity": sens,
    }


def main() -> int:
    out = {
        "generated_by": "Tests/MLAlgorithmsTests/Fixtures/make_linear_learner_references.py",
        "sklearn": sklearn.__version__,
        "numpy": np.__version__,
        "python": sys.version.split()[0],
        "standardization": ("features: (x - mean) / std over the training rows, population std (ddof=0), "
                            "std 0 -> 1; validation uses the training statistics; computed in float64"),
        "objective": "mean loss + wd/2 * ||W||^2 in standardized space, bias not penalized",
        "wd_mapping": {"LogisticRegression": "wd = 1 / (C * n_train)", "Ridge": "wd = alpha / n_train, loss (s - y)^2 / 2"},
        "gradient_tolerance": GRADIENT_TOLERANCE,
        "cases": {
            "breast_cancer_logistic": breast_cancer_logistic(),
            "synthetic_logistic": synthetic_logistic(),
            "ridge": ridge(),
            "digits_softmax": digits_softmax(),
        },
    }
    path = os.path.join(HERE, "linear_learner_references.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1, allow_nan=False)
        f.write("\n")
    for name, case in out["cases"].items():
        keys = ("wd", "validation_logloss", "validation_accuracy", "validation_top3_accuracy", "validation_mse",
                "max_abs_gradient_at_solution")
        print(name, {k: case[k] for k in keys if k in case}, file=sys.stderr)
    return 0


if __name__ == "__main__":
    with threadpool_limits(1):
        sys.exit(main())
