import MLCore

/// The held-out rows of k-fold cross-validation, repeated (SageMaker XGBoost's hidden `_kfold`
/// and `_num_cv_round`): scikit-learn's `RepeatedStratifiedKFold` for classification,
/// `RepeatedKFold` otherwise, each repeat a fresh shuffle.
///
/// The container leaves the shuffles unseeded, so its folds differ from run to run; ours come
/// from `RandomStream(seed, path: [repeat, …])`, so a job's folds are the same every time.
public enum CrossValidationFolds {
    /// For each fold model, repeat-major (`xgboost-model-<r·k + i>`), its held-out rows ascending.
    ///
    /// Stratified: each class's rows, shuffled, are dealt to the folds in turn, the turn carried
    /// from class to class, so every fold holds each class within one row of its share and the
    /// folds' sizes differ by at most one. Plain: the shuffled rows cut into k runs, the first
    /// `n mod k` one row longer (scikit-learn's sizes).
    public static func split(labels: [Float], folds k: Int, repeats: Int, stratified: Bool, seed: UInt64) throws(TreeDataError) -> [[Int]] {
        let n = labels.count
        guard k >= 2, repeats >= 1 else { throw TreeDataError("k-fold needs at least 2 folds and 1 repeat (got \(k), \(repeats))") }
        guard n >= k else { throw TreeDataError("_kfold=\(k) folds need at least \(k) rows; train and validation have \(n)") }
        var out: [[Int]] = []
        for r in 0..<repeats {
            var folds = [[Int]](repeating: [], count: k)
            if stratified {
                var classes: [Float: [Int]] = [:]
                for (i, y) in labels.enumerated() { classes[y, default: []].append(i) }
                var turn = 0
                for (c, label) in classes.keys.sorted().enumerated() {
                    var rows = classes[label] ?? []
                    var stream = RandomStream(seed: seed, path: [UInt64(r), 1, UInt64(c)])
                    stream.shuffle(&rows)
                    for row in rows {
                        folds[turn].append(row)
                        turn = (turn + 1) % k
                    }
                }
            } else {
                var rows = Array(0..<n)
                var stream = RandomStream(seed: seed, path: [UInt64(r), 0])
                stream.shuffle(&rows)
                var start = 0
                for i in 0..<k {
                    let size = n / k + (i < n % k ? 1 : 0)
                    folds[i] = Array(rows[start..<(start + size)])
                    start += size
                }
            }
            out += folds.map { $0.sorted() }
        }
        return out
    }
}

extension TreeDataset {
    /// The rows at `indices`, in that order, with their labels and weights.
    public func gathering(rows indices: [Int]) -> TreeDataset {
        TreeDataset(features: features.gathering(rows: indices), labels: indices.map { labels[$0] },
                    weights: weights.map { w in indices.map { w[$0] } })
    }

    /// These rows, then `other`'s (rows without weights weigh 1 when the other set has them).
    public func appending(_ other: TreeDataset) -> TreeDataset {
        let w: [Float]? = weights == nil && other.weights == nil ? nil
            : (weights ?? [Float](repeating: 1, count: rows)) + (other.weights ?? [Float](repeating: 1, count: other.rows))
        return TreeDataset(features: features.appendingForTrees(other.features), labels: labels + other.labels, weights: w)
    }
}
