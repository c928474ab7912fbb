// Metrics over scores rather than hard predictions: binary ROC AUC and multiclass top-k accuracy.

extension Metrics {
    // MARK: ROC AUC

    /// Area under the ROC curve of a binary problem — scikit-learn's `roc_auc_score` (binary,
    /// `max_fpr=None`), the trapezoidal area under `roc_curve`.
    ///
    /// Samples are sorted by decreasing score; **all samples with one score form one step** of the
    /// curve (one threshold), so a group of tied scores holding weight `P_g` of positives and `N_g`
    /// of negatives adds a trapezoid, not a staircase:
    ///
    ///     AUC = Σ_g (N_g/N)·(TPR_<g + TPR_≤g)/2 = Σ_g N_g·(TP_<g + P_g/2) / (P·N)
    ///
    /// where `TP_<g` is the positive weight of strictly higher scores, `TPR = TP/P` the
    /// true-positive rate, and `P`, `N` the total positive and negative weight. Equivalently
    /// (Mann–Whitney), the weighted probability that a random positive scores above a random
    /// negative, ties counting one half:
    ///
    ///     AUC = Σ_{i: yᵢ=1} Σ_{j: yⱼ=0} wᵢ·wⱼ·([sᵢ > sⱼ] + ½·[sᵢ = sⱼ]) / (P·N)
    ///
    /// The order of samples within a tie does not matter. Cost: one sort, O(n log n).
    ///
    /// - Parameters:
    ///   - labels: true labels, 0 or 1, one per sample.
    ///   - scores: any finite scores, higher meaning more likely positive (probabilities, margins).
    ///   - weights: optional sample weights (finite, ≥ 0, positive sum).
    /// - Throws: ``MetricError/singleClass(metric:presentClass:)`` unless both classes have
    ///   positive weight (scikit-learn 1.9 returns NaN with a warning; older versions raised).
    @inlinable
    public static func rocAUC<T: BinaryFloatingPoint>(
        labels: [T], scores: [T], weights: [T]? = nil
    ) throws(MetricError) -> Double {
        let metric = "rocAUC"
        try checkShapes(metric, labelCount: labels.count, [("scores", scores.count, labels.count)])
        try checkBinary(metric, labels, argument: "labels")
        try checkFinite(metric, scores, argument: "scores")
        _ = try checkWeights(metric, weights, count: labels.count)

        var positive = 0.0, negative = 0.0
        for i in labels.indices {
            if labels[i] == 1 { positive += weight(weights, i) } else { negative += weight(weights, i) }
        }
        guard positive > 0, negative > 0 else {
            throw .singleClass(metric: metric, presentClass: positive > 0 ? 1 : 0)
        }

        // Walk the thresholds from the highest score down. Rates are normalised per step, as
        // sklearn's roc_curve does, so tiny or huge weights cannot underflow P·N.
        let order = labels.indices.sorted { scores[$0] > scores[$1] }
        var area = 0.0
        var truePositive = 0.0  // positive weight strictly above the current group
        var start = 0
        while start < order.count {
            let score = scores[order[start]]
            var groupPositive = 0.0, groupNegative = 0.0
            var end = start
            while end < order.count, scores[order[end]] == score {
                let i = order[end]
                if labels[i] == 1 { groupPositive += weight(weights, i) } else { groupNegative += weight(weights, i) }
                end += 1
            }
            let tprBefore = truePositive / positive
            truePositive += groupPositive
            let tprAfter = truePositive / positive
            area += (groupNegative / negative) * (tprBefore + tprAfter) / 2
            start = end
        }
        return area
    }

    // MARK: Top-k accuracy

    /// The (weighted) fraction of samples whose true class is among the `k` highest-scored
    /// classes — scikit-learn's `top_k_accuracy_score` with `labels=range(classCount)`:
    ///
    ///     top-k = Σᵢ wᵢ·[rankᵢ < k] / Σᵢ wᵢ,
    ///     rankᵢ = #{ j ≠ yᵢ : sᵢⱼ > sᵢ,yᵢ  or  (sᵢⱼ = sᵢ,yᵢ and j > yᵢ) }
    ///
    /// **Ties** are broken as scikit-learn breaks them (a stable ascending argsort, reversed): among
    /// equal scores the class with the **higher index ranks first**. So a row of all-equal scores
    /// counts as a hit exactly when `yᵢ ≥ classCount − k`. `k ≥ classCount` gives 1 (scikit-learn
    /// warns that the score is then meaningless).
    ///
    /// With `classCount = 2` the two columns are ranked by the same rule; scikit-learn instead
    /// requires a 1-D positive-class score for binary targets.
    ///
    /// - Parameters:
    ///   - labels: true class indices in `0..<classCount`, one per sample.
    ///   - scores: the samples × classes score matrix, flat and row-major
    ///     (`scores[i * classCount + j]`), `labels.count * classCount` finite values.
    ///   - classCount: number of classes, ≥ 2.
    ///   - k: how many top classes count as a hit, ≥ 1.
    ///   - weights: optional sample weights (finite, ≥ 0, positive sum).
    @inlinable
    public static func topKAccuracy<T: BinaryFloatingPoint>(
        labels: [T], scores: [T], classCount: Int, k: Int, weights: [T]? = nil
    ) throws(MetricError) -> Double {
        let metric = "topKAccuracy"
        try checkClassCount(metric, classCount)
        guard k >= 1 else {
            throw .invalidParameter(metric: metric, name: "k", value: "\(k)", rule: "k must be ≥ 1")
        }
        let expected = try flatCount(metric, labelCount: labels.count, classCount: classCount)
        try checkShapes(metric, labelCount: labels.count,
                        [("scores (flat, row-major, labels × classCount)", scores.count, expected)])
        try checkClassLabels(metric, labels, argument: "labels", classCount: classCount)
        try checkFinite(metric, scores, argument: "scores")
        let total = try checkWeights(metric, weights, count: labels.count)

        var hits = 0.0
        for i in labels.indices {
            let truth = Int(labels[i])
            let row = i * classCount
            let own = scores[row + truth]
            var rank = 0
            for j in 0..<classCount where j != truth {
                let s = scores[row + j]
                if s > own || (s == own && j > truth) { rank += 1 }
            }
            if rank < k { hits += weight(weights, i) }
        }
        return hits / total
    }

    /// ``topKAccuracy(labels:scores:classCount:k:weights:)`` with the scores as one array per
    /// sample (all the same length, the class count).
    @inlinable
    public static func topKAccuracy<T: BinaryFloatingPoint>(
        labels: [T], scores: [[T]], k: Int, weights: [T]? = nil
    ) throws(MetricError) -> Double {
        let (flat, classCount) = try flatten("topKAccuracy", scores, argument: "scores", labelCount: labels.count)
        return try topKAccuracy(labels: labels, scores: flat, classCount: classCount, k: k, weights: weights)
    }

    /// ``topKAccuracy(labels:scores:classCount:k:weights:)`` with the scores as a samples × classes
    /// ``Matrix``.
    @inlinable
    public static func topKAccuracy<T: BLASScalar>(
        labels: [T], scores: Matrix<T>, k: Int, weights: [T]? = nil
    ) throws(MetricError) -> Double {
        try checkMatrixRows("topKAccuracy", rows: scores.rows, argument: "scores", labelCount: labels.count)
        return try topKAccuracy(labels: labels, scores: scores.elements, classCount: scores.columns, k: k, weights: weights)
    }

    // MARK: Matrix helpers

    @inlinable
    static func checkClassCount(_ metric: String, _ classCount: Int) throws(MetricError) {
        guard classCount >= 2 else {
            throw .invalidParameter(metric: metric, name: "classCount", value: "\(classCount)",
                                    rule: "a classification needs at least 2 classes")
        }
    }

    /// `labelCount × classCount`, the element count of a flat samples × classes matrix.
    @inlinable
    static func flatCount(_ metric: String, labelCount: Int, classCount: Int) throws(MetricError) -> Int {
        let (product, overflow) = labelCount.multipliedReportingOverflow(by: classCount)
        guard !overflow else {
            throw .invalidParameter(metric: metric, name: "classCount", value: "\(classCount)",
                                    rule: "labels × classCount must fit in an Int")
        }
        return product
    }

    /// Row-major elements and column count of a `[[T]]` with equal rows, one row per label.
    @inlinable
    static func flatten<T>(
        _ metric: String, _ rows: [[T]], argument: String, labelCount: Int
    ) throws(MetricError) -> (elements: [T], columns: Int) {
        try checkMatrixRows(metric, rows: rows.count, argument: argument, labelCount: labelCount)
        let columns = rows[0].count  // invariant: checkMatrixRows ensured rows.count = labelCount > 0
        var elements = [T]()
        elements.reserveCapacity(rows.count * columns)
        for (r, row) in rows.enumerated() {
            guard row.count == columns else {
                throw .raggedRows(metric: metric, row: r, expected: columns, actual: row.count)
            }
            elements.append(contentsOf: row)
        }
        return (elements, columns)
    }

    /// Throws unless there are labels and one matrix row per label.
    @inlinable
    static func checkMatrixRows(_ metric: String, rows: Int, argument: String, labelCount: Int) throws(MetricError) {
        try checkShapes(metric, labelCount: labelCount, [("\(argument) (rows)", rows, labelCount)])
    }
}
