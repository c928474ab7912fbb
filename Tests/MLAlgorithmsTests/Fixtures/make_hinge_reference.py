#!/usr/bin/env python3
"""scikit-learn LinearSVC reference for the linear learner's hinge_loss.

Our trainer minimizes, on standardized features (training mean, population std),
    mean over rows of max(0, 1 - t * s) + wd/2 * ||w||^2,   t = 2y - 1, bias not penalized,
which is LinearSVC(loss="hinge", C) minimizing ||w||^2/2 + C * sum(hinge) with C = 1/(wd * n).
(LinearSVC's liblinear also penalizes the intercept, weakly, through intercept_scaling; with a
large intercept_scaling that penalty vanishes.)

Writes hinge_reference.json next to this script. Rerun (deterministic):
    .venv/bin/python Tests/MLAlgorithmsTests/Fixtures/make_hinge_reference.py
"""
import json
import os

import numpy as np
from sklearn.metrics import accuracy_score
from sklearn.svm import LinearSVC

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
WD = 1e-3


def load(split):
    data = np.loadtxt(os.path.join(ROOT, "data", "breast-cancer", f"{split}.csv"), delimiter=",", ndmin=2)
    return data[:, 1:], data[:, 0]


x, y = load("train")
xv, yv = load("validation")
mean, std = x.mean(axis=0), x.std(axis=0)
scale = np.where(std > 0, std, 1.0)
xs, xvs = (x - mean) / scale, (xv - mean) / scale
svc = LinearSVC(loss="hinge", C=1.0 / (WD * len(y)), intercept_scaling=100.0, max_iter=1_000_000, tol=1e-8, dual=True)
svc.fit(xs, y)
margins = (2 * y - 1) * svc.decision_function(xs)
objective = np.mean(np.maximum(0, 1 - margins)) + WD / 2 * float(svc.coef_[0] @ svc.coef_[0])
out = {
    "wd": WD,
    "train_objective": float(objective),
    "validation_accuracy": float(accuracy_score(yv, svc.predict(xvs))),
    "train_accuracy": float(accuracy_score(y, svc.predict(xs))),
}
with open(os.path.join(HERE, "hinge_reference.json"), "w") as f:
    json.dump(out, f, indent=2, sort_keys=True)
    f.write("\n")
print(out)
