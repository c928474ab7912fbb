#!/usr/bin/env python3
"""XGBoost reference results, part 2: feature importance, SHAP contributions, tree growth variants.

Everything is written to Tests/MLAlgorithmsTests/Fixtures/xgboost/part2/ (created if missing).
Part 1 (make_xgboost_references.py) must have been run first: section A reads its models.

A. Importance + SHAP on the EXISTING part-1 models (loaded from ../xgboost/<name>.json with
   xgb.Booster(model_file=...), never retrained): model_binary, model_softprob,
   model_regression_missing, model_poisson, model_tiny.
     importance.json            {name: {type: booster.get_score(importance_type=type)}} for type in
                                weight, gain, cover, total_gain, total_cover (keys "f<i>"; features
                                never split on are absent; full double precision)
     <name>_contribs.npy        predict(DMatrix(<name>_x.npy, missing=NaN), pred_contribs=True),
                                float32, (rows, F+1) or (rows, classes, F+1) for softprob; the
                                last column is the bias (base_score in margin space + every
                                tree's root mean value)
     <name>_contribs_margin.npy predict(output_margin=True) on the same rows, for the row-sum check
   Asserted here: contribs rows sum to the margin (float32 tolerance) and get_score agrees with a
   recount from the saved JSON (weight = split count, total_gain = sum loss_changes, total_cover =
   sum sum_hessian, gain / cover = total / count).

B. Growth: a synthetic binary dataset designed so hist binning is exact (every distinct value of
   every feature gets its own bin): 400 rows x 6 features, numpy default_rng(11), each value
   = integer in [-30, 30] / 10 (61 distinct values < max_bin 256), 2% NaN in feature 2 only,
   label = (z + N(0, 0.6) > 0) with the nonlinear score z from make_growth_data().
     growth_x.npy, growth_y.npy           float32, NaN = missing
     growth_<variant>.json                booster.save_model (JSON) after 3 rounds
     growth_<variant>_margin.npy          predict(DMatrix(growth_x), output_margin=True), float32
     growth_<variant>_contribs.npy        predict(..., pred_contribs=True), float32 (400, 7)
   All variants share COMMON_GROWTH (hist, max_bin 256, nthread 1, seed 0, binary:logistic,
   eta 0.3, base_score 0.5, lambda 1, min_child_weight 1); VARIANTS lists what each adds.
   Asserted here: leaf counts <= max_leaves (lossguide, depthwise_leaves5), depth <= max_depth,
   monotone predictions along f0 (non-decreasing) and f2 (non-increasing) on a grid (and the same
   model without constraints is NOT monotone there, so they bind), every interaction-constrained
   path inside one allowed set (trees using both sets occur), the num_parallel_tree=3 trees of
   each round identical with leaves = 1/3 of the num_parallel_tree=1 leaves, and the histogram
   cuts = one bin per distinct value.

C. manifest.json: generator, versions, per-model shapes, per-variant params / tree statistics,
   the histogram cuts of the growth data, notes.

Rerun (deterministic, a few seconds; needs xgboost-cpu and scikit-learn from
Benchmarks/requirements.txt):
    .venv/bin/python Tests/MLAlgorithmsTests/Fixtures/make_xgboost_part2_references.py
"""
import json
import os
import sys

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import numpy as np  # noqa: E402
import sklearn  # noqa: E402
import xgboost as xgb  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.join(HERE, "xgboost")
OUT = os.path.join(MODELS, "part2")
MODEL_NAMES = ("model_binary", "model_softprob", "model_regression_missing", "model_poisson", "model_tiny")
IMPORTANCE_TYPES = ("weight", "gain", "cover", "total_gain", "total_cover")

COMMON_GROWTH = {
    "tree_method": "hist", "max_bin": 256, "nthread": 1, "seed": 0,
    "objective": "binary:logistic", "eta": 0.3, "base_score": 0.5, "lambda": 1, "min_child_weight": 1,
}
GROWTH_ROUNDS = 3
VARIANTS = {
    "lossguide8": {"grow_policy": "lossguide", "max_leaves": 8, "max_depth": 0},
    "lossguide_depth3": {"grow_policy": "lossguide", "max_leaves": 16, "max_depth": 3},
    "lossguide255": {"grow_policy": "lossguide", "max_leaves": 255, "max_depth": 0, "min_child_weight": 1},
    "depthwise_leaves5": {"grow_policy": "depthwise", "max_depth": 6, "max_leaves": 5},
    "depthwise6": {"grow_policy": "depthwise", "max_depth": 6},
    "monotone": {"grow_policy": "depthwise", "max_depth": 4, "monotone_constraints": "(1,0,-1,0,0,0)"},
    "interaction": {"grow_policy": "depthwise", "max_depth": 4, "interaction_constraints": "[[0,1],[2,3,4]]"},
    "parallel3": {"grow_policy": "depthwise", "max_depth": 3, "num_parallel_tree": 3},
}


# --- helpers ------------------------------------------------------------------------------------

def save_npy(name, a):
    a = np.ascontiguousarray(a, dtype=np.dtype(np.float32).newbyteorder("<"))
    np.save(os.path.join(OUT, name), a)


def write_json(name, obj):
    with open(os.path.join(OUT, name), "w") as f:
        json.dump(obj, f, indent=1, allow_nan=False)
        f.write("\n")


def header():
    return {
        "generated_by": "Tests/MLAlgorithmsTests/Fixtures/make_xgboost_part2_references.py",
        "xgboost_version": xgb.__version__,
        "sklearn_version": sklearn.__version__,
        "numpy_version": np.__version__,
        "python_version": sys.version.split()[0],
    }


def dmatrix(x, y=None):
    return xgb.DMatrix(x, label=y, missing=np.nan, nthread=1)


def load_trees(path):
    with open(path) as f:
        model = json.load(f)["learner"]["gradient_booster"]["model"]
    return model["trees"], model["tree_info"], model.get("iteration_indptr")


def tree_stats(tree):
    """(leaf count, max depth, node count) of one saved tree."""
    left, right = tree["left_children"], tree["right_children"]
    depth = {0: 0}
    leaves, max_depth = 0, 0
    for node in range(len(left)):  # parents always have smaller ids than their children
        if left[node] == -1:
            leaves += 1
            max_depth = max(max_depth, depth[node])
        else:
            depth[left[node]] = depth[right[node]] = depth[node] + 1
    return leaves, max_depth, len(left)


def recount_importance(trees, n_features):
    """get_score recomputed from the saved JSON (float64 sums; XGBoost sums in float32)."""
    count = np.zeros(n_features)
    gain = np.zeros(n_features)
    cover = np.zeros(n_features)
    for t in trees:
        for node, f in enumerate(t["split_indices"]):
            if t["left_children"][node] != -1:
                count[f] += 1
                gain[f] += t["loss_changes"][node]
                cover[f] += t["sum_hessian"][node]
    out = {k: {} for k in IMPORTANCE_TYPES}
    for f in np.nonzero(count)[0]:
        key = f"f{f}"
        out["weight"][key] = count[f]
        out["total_gain"][key] = gain[f]
        out["total_cover"][key] = cover[f]
        out["gain"][key] = gain[f] / count[f]
        out["cover"][key] = cover[f] / count[f]
    return out


# --- A. importance + SHAP on the part-1 models --------------------------------------------------

def importance_and_shap():
    importance, shapes = {}, {}
    for name in MODEL_NAMES:
        bst = xgb.Booster(model_file=os.path.join(MODELS, f"{name}.json"))
        bst.set_param({"nthread": 1})
        x = np.load(os.path.join(MODELS, f"{name}_x.npy"))
        dx = dmatrix(x)
        scores = {t: {k: float(v) for k, v in bst.get_score(importance_type=t).items()}
                  for t in IMPORTANCE_TYPES}
        trees, _, _ = load_trees(os.path.join(MODELS, f"{name}.json"))
        mine = recount_importance(trees, bst.num_features())
        for t in IMPORTANCE_TYPES:
            assert scores[t].keys() == mine[t].keys(), (name, t)
            for k, v in scores[t].items():
                assert np.isclose(v, mine[t][k], rtol=1e-5), (name, t, k, v, mine[t][k])
        importance[name] = scores

        contribs = bst.predict(dx, pred_contribs=True)
        margin = bst.predict(dx, output_margin=True)
        assert np.allclose(contribs.sum(axis=-1, dtype=np.float64), margin, rtol=1e-5, atol=1e-4), name
        # Saved file must reproduce the stored part-1 margins (same model, same rows).
        stored = np.load(os.path.join(MODELS, f"{name}_margin.npy"))
        assert np.array_equal(stored, margin), name
        save_npy(f"{name}_contribs.npy", contribs)
        save_npy(f"{name}_contribs_margin.npy", margin)
        shapes[name] = {
            "model_file": f"../{name}.json", "x_file": f"../{name}_x.npy",
            "contribs_file": f"{name}_contribs.npy", "contribs_margin_file": f"{name}_contribs_margin.npy",
            "num_features": int(bst.num_features()), "num_trees": len(trees),
            "x_shape": list(x.shape), "contribs_shape": list(contribs.shape), "margin_shape": list(margin.shape),
            "max_abs_rowsum_minus_margin": float(np.max(np.abs(contribs.sum(axis=-1, dtype=np.float64) - margin))),
            "features_in_importance": len(scores["weight"]),
        }
        print(f"shap {name}: contribs {contribs.shape}, {len(scores['weight'])} features used", file=sys.stderr)
    write_json("importance.json", importance)
    return shapes


# --- B. growth variants -------------------------------------------------------------------------

def make_growth_data():
    rng = np.random.default_rng(11)
    n, f = 400, 6
    x = rng.integers(-30, 31, size=(n, f)).astype(np.float64) / 10.0
    x = np.round(x, 1).astype(np.float32)
    x2 = np.nan_to_num(x[:, 2].astype(np.float64), nan=0.0)
    xd = x.astype(np.float64)
    z = (0.8 * xd[:, 0] + 0.8 * np.sin(2.0 * xd[:, 0])      # increasing trend, locally non-monotone
         + 0.6 * xd[:, 1] * xd[:, 3]                       # interaction f1 x f3
         - 0.8 * x2 + 0.5 * np.cos(2.5 * x2)                # decreasing trend in f2, wiggly
         + 0.8 * (xd[:, 4] > 0.5) - 0.3 * np.abs(xd[:, 5]) + 0.4)
    noise = rng.normal(0.0, 0.6, size=n)
    y = (z + noise > 0).astype(np.float32)
    nan_rows = rng.choice(n, size=int(0.02 * n), replace=False)
    x[nan_rows, 2] = np.nan
    return x, y


def check_monotone(bst, x):
    base = x[:25].copy()
    base[np.isnan(base)] = 0.0
    grid = np.round(np.arange(-3.5, 3.5001, 0.05), 2).astype(np.float32)
    for feat, sign in ((0, 1), (2, -1)):
        rows = np.repeat(base, len(grid), axis=0)
        rows[:, feat] = np.tile(grid, len(base))
        m = bst.predict(dmatrix(rows), output_margin=True).reshape(len(base), len(grid))
        d = np.diff(m, axis=1) * sign
        assert np.all(d >= 0), (feat, float(d.min()))
    return {"grid": [float(grid[0]), float(grid[-1]), 0.05], "base_rows": "first 25 rows of growth_x, NaN -> 0",
            "checked": "f0 non-decreasing, f2 non-increasing (output_margin)"}


def growth():
    x, y = make_growth_data()
    save_npy("growth_x.npy", x)
    save_npy("growth_y.npy", y)
    dtrain = dmatrix(x, y)
    out = {}
    boosters = {}
    for variant, extra in VARIANTS.items():
        params = dict(COMMON_GROWTH, **extra)
        bst = xgb.train(params, dtrain, GROWTH_ROUNDS)
        path = os.path.join(OUT, f"growth_{variant}.json")
        bst.save_model(path)
        margin = bst.predict(dmatrix(x), output_margin=True)
        contribs = bst.predict(dmatrix(x), pred_contribs=True)
        assert np.allclose(contribs.sum(axis=1, dtype=np.float64), margin, rtol=1e-5, atol=1e-4), variant
        save_npy(f"growth_{variant}_margin.npy", margin)
        save_npy(f"growth_{variant}_contribs.npy", contribs)
        trees, tree_info, indptr = load_trees(path)
        stats = [tree_stats(t) for t in trees]
        max_leaves = extra.get("max_leaves", 0)
        max_depth = extra.get("max_depth", 6)
        for leaves, depth, _ in stats:
            if max_leaves > 0:
                assert leaves <= max_leaves, (variant, leaves)
            if max_depth > 0:
                assert depth <= max_depth, (variant, depth)
        info = {
            "params": params, "num_boost_round": GROWTH_ROUNDS, "model_file": f"growth_{variant}.json",
            "margin_file": f"growth_{variant}_margin.npy", "contribs_file": f"growth_{variant}_contribs.npy",
            "num_trees": len(trees), "iteration_indptr": indptr,
            "leaves_per_tree": [s[0] for s in stats], "depth_per_tree": [s[1] for s in stats],
            "nodes_per_tree": [s[2] for s in stats],
            "split_features_per_tree": [sorted({t["split_indices"][i] for i in range(len(t["left_children"]))
                                                if t["left_children"][i] != -1}) for t in trees],
            "train_logloss": float(bst.eval(dtrain).split(":")[1]),
        }
        if variant == "monotone":
            info["monotone_check"] = check_monotone(bst, x)
            free = xgb.train(dict(params, monotone_constraints="()"), dtrain, GROWTH_ROUNDS)
            try:
                check_monotone(free, x)
                binds = False
            except AssertionError:
                binds = True
            assert binds, "the same model without constraints is already monotone: data too easy"
            info["monotone_check"]["unconstrained_model_violates"] = binds
        if variant == "interaction":
            # every root-to-leaf path only uses features of one allowed set (or a single free feature)
            sets = [{0, 1}, {2, 3, 4}]
            for t in trees:
                left, right, idx = t["left_children"], t["right_children"], t["split_indices"]
                stack = [(0, frozenset())]
                while stack:
                    node, used = stack.pop()
                    if left[node] == -1:
                        assert len(used) <= 1 or any(used <= s for s in sets), (variant, used)
                        continue
                    u = used | {idx[node]}
                    stack += [(left[node], u), (right[node], u)]
            used_sets = {frozenset(f) for f in info["split_features_per_tree"]}
            assert frozenset({0, 1}) in used_sets and any(u <= {2, 3, 4} for u in used_sets), used_sets
        out[variant] = info
        boosters[variant] = (bst, trees)
        print(f"growth {variant}: leaves {info['leaves_per_tree']} depth {info['depth_per_tree']}", file=sys.stderr)

    # num_parallel_tree = 3 without subsampling: the 3 trees of a round are identical, each leaf is
    # eta/3 * w, so the sum equals a single depthwise max_depth 3 tree (reference trained here, not saved).
    _, ptrees = boosters["parallel3"]
    keys = ("left_children", "right_children", "split_indices", "split_conditions", "default_left",
            "base_weights", "loss_changes", "sum_hessian")
    identical = all(ptrees[3 * r + k][key] == ptrees[3 * r][key]
                    for r in range(GROWTH_ROUNDS) for k in (1, 2) for key in keys)
    assert identical
    single_params = dict(COMMON_GROWTH, grow_policy="depthwise", max_depth=3)
    single = xgb.train(single_params, dtrain, GROWTH_ROUNDS)
    single_path = os.path.join(OUT, "_single.json")
    single.save_model(single_path)
    strees, _, _ = load_trees(single_path)
    os.remove(single_path)
    ratios = []
    for r in range(GROWTH_ROUNDS):
        p, s = ptrees[3 * r], strees[r]
        assert p["split_indices"] == s["split_indices"] and p["left_children"] == s["left_children"], r
        leaf = [i for i in range(len(p["left_children"])) if p["left_children"][i] == -1]
        pl = np.array([p["split_conditions"][i] for i in leaf])
        sl = np.array([s["split_conditions"][i] for i in leaf])
        assert np.allclose(pl * 3, sl, rtol=1e-5, atol=1e-7), r
        assert np.allclose([p["base_weights"][i] for i in leaf], pl, rtol=0, atol=0), r
        ratios.append(float(np.median(sl / pl)))
    pm = boosters["parallel3"][0].predict(dmatrix(x), output_margin=True)
    sm = single.predict(dmatrix(x), output_margin=True)
    out["parallel3"]["parallel_trees_identical"] = identical
    out["parallel3"]["note"] = (
        "No row/column subsampling, so the 3 trees of each round are identical (same structure, split "
        "conditions, loss_changes, sum_hessian, leaf values). Each leaf value (and leaf base_weight) is "
        "eta/3 * w, i.e. one third of the leaf of the same round's tree with num_parallel_tree=1, so the "
        "model predicts like a single-tree depthwise max_depth 3 model (up to float32 rounding). "
        "tree_info = [0]*9, iteration_indptr = [0,3,6,9].")
    out["parallel3"]["single_tree_leaf_ratio_per_round"] = ratios
    out["parallel3"]["max_abs_margin_diff_vs_single_tree_model"] = float(np.max(np.abs(pm - sm)))

    # Histogram cuts XGBoost used (one bin per distinct value): per feature, cut_values[ptr[f]:ptr[f+1]].
    ptr, values = dtrain.get_quantile_cut()
    ptr = [int(v) for v in ptr]
    for f in range(x.shape[1]):
        distinct = np.unique(x[:, f][~np.isnan(x[:, f])])
        cuts = values[ptr[f]:ptr[f + 1]]
        lo, hi = distinct[0], distinct[-1]
        assert len(cuts) == len(distinct) + 1, (f, len(cuts), len(distinct))
        assert cuts[0] == np.float32(lo - (abs(lo) + 1e-5)) and cuts[-1] == np.float32(hi + (abs(hi) + 1e-5)), f
        assert np.array_equal(cuts[1:-1], distinct[1:]), f
    data = {
        "x_file": "growth_x.npy", "y_file": "growth_y.npy", "shape": list(x.shape),
        "design": ("numpy default_rng(11); x = integers(-30, 31)/10 (61 possible values, < max_bin so every "
                   "distinct value is its own histogram bin); z = 0.8*x0 + 0.8*sin(2*x0) + 0.6*x1*x3 - 0.8*x2 "
                   "+ 0.5*cos(2.5*x2) + 0.8*(x4>0.5) - 0.3*|x5| + 0.4 (x2 NaN -> 0); y = (z + normal(0,0.6) > 0); "
                   "then 2% of rows (rng.choice without replacement) get x2 = NaN. The f0 and f2 effects "
                   "have similar strength so that interaction-constrained trees alternate between the sets "
                   "{0,1} and {2,3,4}, and both trends are locally non-monotone so the constraints bind"),
        "positive_fraction": float(y.mean()),
        "nan_count_f2": int(np.isnan(x[:, 2]).sum()),
        "distinct_values_per_feature": [int(len(np.unique(x[:, f][~np.isnan(x[:, f])]))) for f in range(x.shape[1])],
        "hist_cuts": {
            "note": ("dtrain.get_quantile_cut() after training (asserted): feature f's entries are "
                     "cut_values[cut_ptr[f]:cut_ptr[f+1]] = [min - (|min|+1e-5), the distinct values except the "
                     "minimum (ascending), max + (|max|+1e-5)] in float32, i.e. (distinct count + 1) entries: "
                     "the python API prepends XGBoost's min_vals to the cut_values. So there are as many bins as "
                     "distinct values (61 here); bin b (0-based) holds values < entry[b+1], and a split "
                     "'x < split_condition' uses one of the distinct values as split_condition."),
            "cut_ptr": ptr, "cut_values": [float(v) for v in values],
        },
    }
    return data, out


def main():
    os.makedirs(OUT, exist_ok=True)
    shapes = importance_and_shap()
    data, variants = growth()
    manifest = header()
    manifest["notes"] = [
        "contribs: pred_contribs, bias last; softprob shape (rows, classes, F+1)",
        "importance: Booster.get_score, features never split on are absent",
        "contribs rows sum to the margin (output_margin) up to float32 rounding; the bias column is "
        "base_score in margin space (logit for binary:logistic, log for count:poisson) plus each tree's "
        "root mean value (sum_hessian-weighted mean of its leaves)",
        "growth models: 3 rounds of xgb.train on DMatrix(growth_x, label=growth_y, missing=NaN); margin and "
        "contribs are on all 400 training rows",
        "importance values are Python floats from XGBoost's float32 sums (gain/cover = total/count)",
    ]
    manifest["importance_file"] = "importance.json"
    manifest["importance_types"] = list(IMPORTANCE_TYPES)
    manifest["models"] = shapes
    manifest["growth_data"] = data
    manifest["growth_common_params"] = COMMON_GROWTH
    manifest["growth_variants"] = variants
    write_json("manifest.json", manifest)
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print(f"wrote {len(os.listdir(OUT))} files, {total / 1e6:.2f} MB, to {OUT}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
