#!/usr/bin/env python3
"""scikit-learn reference results for the PCA and k-means (Lloyd) tests.

PCA: PCA(n_components=10, svd_solver="full") on load_digits().data (1797 x 64, float64).
  sklearn centres the data with the column means, takes the thin SVD X_c = U S Vt and reports
    explained_variance       = S^2 / (n - 1)               (first 10; sample variance, ddof=1)
    explained_variance_ratio = explained_variance / sum of ALL 64 S^2 / (n - 1)
    singular_values          = S (first 10)
    components               = rows of Vt (first 10, descending), signs flipped so that the
                               entry of largest |value| in each row is positive
                               (svd_flip(u_based_decision=False), sklearn >= 1.5)
    noise_variance           = mean of the remaining 54 values S^2 / (n - 1)
  The script checks these against numpy.linalg.eigh of the ddof=1 covariance matrix.

K-means: make_blobs(n_samples=4000, centers=8, n_features=6, cluster_std=1.5, random_state=7)
  cast to float32. The initial centres are the rows at the sorted indices
  numpy.random.default_rng(3).choice(4000, 8, replace=False) ("init_rows"). For max_iter in
  1, 3, 10: KMeans(n_clusters=8, init=those rows, n_init=1, max_iter, tol=0.0,
  algorithm="lloyd").fit(X float32); "runs_float64" repeats max_iter=10 on the same data and
  init cast to float64. Behaviour of sklearn's Lloyd worth knowing when matching it:
    * fit subtracts the column mean from X (and from the init) before iterating and adds it back
      to the final centres, so float32 results are those of the centred data.
    * each iteration assigns labels with the current centres, then moves every centre to the
      mean of its rows (an empty cluster is re-seeded with far-away points; none here).
    * it stops early, after the update, when the labels equal those of the previous iteration
      ("strict convergence"), or when the squared centre shift is <= tol (0 here).
      n_iter_ is the number of iterations done (<= max_iter).
    * without strict convergence it re-assigns the labels with the final centres, so labels_
      and inertia_ always belong to cluster_centers_ (inertia = sum of squared distances of rows
      to their assigned centre, accumulated in the data's dtype).
  The script checks the float64 runs against a plain numpy Lloyd iteration written here.
  "float32_vs_float64" summarizes how far sklearn's float32 max_iter=10 run is from the float64 one.

Writes, next to this script:
  digits_x.npy                  float64 [1797, 64]
  pca_digits_reference.json
  kmeans_blobs_x.npy            float32 [4000, 6]
  kmeans_blobs_init.npy         float32 [8, 6]
  kmeans_lloyd_reference.json
(NPY files via numpy.save: C-order, little-endian.)

Rerun (deterministic; one OpenMP/BLAS thread so sklearn's float32 sums keep their order):
    .venv/bin/python Tests/MLAlgorithmsTests/Fixtures/make_pca_kmeans_references.py
"""
import json
import os
import sys

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import numpy as np  # noqa: E402
import sklearn  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402
from sklearn.cluster import KMeans  # noqa: E402
from sklearn.datasets import load_digits, make_blobs  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
PCA_COMPONENTS = 10
K = 8
MAX_ITERS = (1, 3, 10)
FLOAT64_MAX_ITER = 10


def floats(a):
    """Python floats (repr round-trips in JSON) from an array or scalar."""
    a = np.asarray(a, dtype=np.float64)
    return float(a) if a.ndim == 0 else a.tolist()


def save_npy(name, a, dtype):
    a = np.ascontiguousarray(a, dtype=np.dtype(dtype).newbyteorder("<"))
    np.save(os.path.join(HERE, name), a)


def write_json(name, obj):
    with open(os.path.join(HERE, name), "w") as f:
        json.dump(obj, f, indent=1, allow_nan=False)
        f.write("\n")


def header():
    return {
        "generated_by": "Tests/MLAlgorithmsTests/Fixtures/make_pca_kmeans_references.py",
        "sklearn_version": sklearn.__version__,
        "numpy_version": np.__version__,
        "python_version": sys.version.split()[0],
    }


# --- PCA ----------------------------------------------------------------------------------------

def pca_digits():
    x = np.asarray(load_digits().data, dtype=np.float64)
    assert x.shape == (1797, 64)
    save_npy("digits_x.npy", x, np.float64)

    pca = PCA(n_components=PCA_COMPONENTS, svd_solver="full").fit(x)

    # Independent check: eigen-decomposition of the ddof=1 covariance matrix.
    n = x.shape[0]
    xc = x - x.mean(axis=0)
    evals, evecs = np.linalg.eigh(xc.T @ xc / (n - 1))
    evals, evecs = evals[::-1], evecs[:, ::-1]
    assert np.allclose(pca.mean_, x.mean(axis=0), rtol=0, atol=1e-12)
    assert np.allclose(pca.explained_variance_, evals[:PCA_COMPONENTS], rtol=1e-10, atol=0)
    assert np.allclose(pca.explained_variance_ratio_, evals[:PCA_COMPONENTS] / evals.sum(), rtol=1e-10)
    assert np.allclose(pca.singular_values_ ** 2 / (n - 1), pca.explained_variance_, rtol=1e-12)
    assert np.isclose(pca.noise_variance_, evals[PCA_COMPONENTS:].mean(), rtol=1e-8)
    comps = pca.components_
    assert np.allclose(comps @ comps.T, np.eye(PCA_COMPONENTS), atol=1e-12)
    # Same directions as eigh up to sign (eigenvalues of digits' top 10 are well separated).
    assert np.allclose(np.abs(np.sum(comps * evecs[:, :PCA_COMPONENTS].T, axis=1)), 1.0, atol=1e-9)
    # Sign convention: the largest-|.| entry of every component row is positive.
    assert np.all(comps[np.arange(PCA_COMPONENTS), np.argmax(np.abs(comps), axis=1)] > 0)

    out = header()
    out.update({
        "data": "digits_x.npy = sklearn.datasets.load_digits().data, float64 [1797, 64]",
        "settings": 'PCA(n_components=10, svd_solver="full")',
        "n_components": PCA_COMPONENTS,
        "explained_variance": floats(pca.explained_variance_),
        "explained_variance_ratio": floats(pca.explained_variance_ratio_),
        "singular_values": floats(pca.singular_values_),
        "mean": floats(pca.mean_),
        "components": floats(pca.components_),
        "noise_variance": floats(pca.noise_variance_),
    })
    write_json("pca_digits_reference.json", out)
    print("pca explained_variance", np.round(pca.explained_variance_, 4).tolist(), file=sys.stderr)


# --- k-means ------------------------------------------------------------------------------------

def numpy_lloyd(x, init, max_iter):
    """Plain float64 Lloyd with sklearn's stopping rule (no empty clusters expected)."""
    x = np.asarray(x, dtype=np.float64)
    centers = np.array(init, dtype=np.float64)
    old = None
    strict = False
    for it in range(1, max_iter + 1):
        d = ((x[:, None, :] - centers[None, :, :]) ** 2).sum(axis=2)
        labels = d.argmin(axis=1)
        counts = np.bincount(labels, minlength=len(centers))
        assert np.all(counts > 0), "empty cluster"
        centers = np.stack([x[labels == j].mean(axis=0) for j in range(len(centers))])
        if old is not None and np.array_equal(labels, old):
            strict = True
            break
        old = labels
    if not strict:
        d = ((x[:, None, :] - centers[None, :, :]) ** 2).sum(axis=2)
        labels = d.argmin(axis=1)
    inertia = float(((x - centers[labels]) ** 2).sum())
    return centers, labels, inertia, it


def fit_kmeans(x, init, max_iter):
    km = KMeans(n_clusters=K, init=init, n_init=1, max_iter=max_iter, tol=0.0, algorithm="lloyd")
    km.fit(x)
    assert km.cluster_centers_.dtype == x.dtype
    return km


def run_record(km, max_iter):
    return {
        "max_iter": max_iter,
        "centers": floats(km.cluster_centers_),
        "inertia": floats(km.inertia_),
        "n_iter": int(km.n_iter_),
        "labels": [int(v) for v in km.labels_],
    }


def kmeans_blobs():
    x64_orig, _ = make_blobs(n_samples=4000, centers=K, n_features=6, cluster_std=1.5, random_state=7)
    x32 = np.ascontiguousarray(x64_orig, dtype=np.float32)
    rows = np.sort(np.random.default_rng(3).choice(4000, K, replace=False))
    init32 = np.ascontiguousarray(x32[rows])
    save_npy("kmeans_blobs_x.npy", x32, np.float32)
    save_npy("kmeans_blobs_init.npy", init32, np.float32)

    x64 = x32.astype(np.float64)
    init64 = init32.astype(np.float64)

    runs = []
    fitted32 = {}
    for max_iter in MAX_ITERS:
        km = fit_kmeans(x32, init32.copy(), max_iter)
        fitted32[max_iter] = km
        runs.append(run_record(km, max_iter))

    km64 = fit_kmeans(x64, init64.copy(), FLOAT64_MAX_ITER)
    runs64 = [run_record(km64, FLOAT64_MAX_ITER)]

    # Check sklearn's float64 run (and the float32 runs, loosely) against plain numpy Lloyd.
    ref_c, ref_l, ref_inertia, ref_it = numpy_lloyd(x64, init64, FLOAT64_MAX_ITER)
    assert km64.n_iter_ == ref_it, (km64.n_iter_, ref_it)
    assert np.array_equal(km64.labels_, ref_l)
    assert np.allclose(km64.cluster_centers_, ref_c, rtol=1e-12, atol=1e-12)
    assert np.isclose(km64.inertia_, ref_inertia, rtol=1e-12)
    for max_iter, km in fitted32.items():
        c, l, inertia, it = numpy_lloyd(x64, init64, max_iter)
        print(f"float32 max_iter={max_iter}: n_iter {km.n_iter_} (numpy f64 {it}), "
              f"label mismatches vs numpy f64 {int(np.sum(km.labels_ != l))}, "
              f"max |dc| {np.max(np.abs(km.cluster_centers_ - c)):.3g}, "
              f"inertia {float(km.inertia_)!r} (numpy f64 {inertia!r})", file=sys.stderr)

    c32 = fitted32[FLOAT64_MAX_ITER].cluster_centers_.astype(np.float64)
    c64 = km64.cluster_centers_
    diff = np.abs(c32 - c64)
    comparison = {
        "max_iter": FLOAT64_MAX_ITER,
        "max_abs_center_difference": floats(diff.max()),
        "max_elementwise_relative_center_difference": floats((diff / np.abs(c64)).max()),
        "max_abs_center_difference_over_max_abs_center": floats(diff.max() / np.abs(c64).max()),
        "label_disagreements": int(np.sum(fitted32[FLOAT64_MAX_ITER].labels_ != km64.labels_)),
        "n_iter_float32": int(fitted32[FLOAT64_MAX_ITER].n_iter_),
        "n_iter_float64": int(km64.n_iter_),
        "inertia_relative_difference": floats(abs(float(fitted32[FLOAT64_MAX_ITER].inertia_) - km64.inertia_)
                                              / km64.inertia_),
    }

    out = header()
    out.update({
        "data": ("kmeans_blobs_x.npy = make_blobs(n_samples=4000, centers=8, n_features=6, cluster_std=1.5, "
                 "random_state=7)[0] as float32 [4000, 6]; kmeans_blobs_init.npy = rows init_rows, float32 [8, 6]"),
        "settings": 'KMeans(n_clusters=8, init=kmeans_blobs_init, n_init=1, max_iter, tol=0.0, algorithm="lloyd")',
        "k": K,
        "init_rows": [int(r) for r in rows],
        "runs": runs,
        "runs_float64": runs64,
        "float32_vs_float64": comparison,
    })
    write_json("kmeans_lloyd_reference.json", out)
    for r in runs:
        print(f"float32 max_iter={r['max_iter']}: n_iter={r['n_iter']} inertia={r['inertia']!r}", file=sys.stderr)
    for r in runs64:
        print(f"float64 max_iter={r['max_iter']}: n_iter={r['n_iter']} inertia={r['inertia']!r}", file=sys.stderr)
    print("float32 vs float64:", comparison, file=sys.stderr)


def main() -> int:
    pca_digits()
    kmeans_blobs()
    for name in ("digits_x.npy", "pca_digits_reference.json", "kmeans_blobs_x.npy", "kmeans_blobs_init.npy",
                 "kmeans_lloyd_reference.json"):
        print(f"{os.path.getsize(os.path.join(HERE, name)):>9}  {name}")
    return 0


if __name__ == "__main__":
    with threadpool_limits(1):
        sys.exit(main())
