import Foundation  // log

// Classification metrics over hard predictions: accuracy and balanced accuracy (any integer
// labels), and the binary precision / recall / F-beta family and binary log-loss.

extension Metrics {
    // MARK: Accuracy

    /// The (weighted) fraction of predictions equal to their label — scikit-learn's
    /// `accuracy_score`:
    ///
    ///     accuracy = Σᵢ wᵢ·[ŷᵢ = yᵢ] / Σᵢ wᵢ
    ///
    /// Works for binary and multiclass labels alike (any integer values).
    ///
    /// - Parameters:
    ///   - labels: true class labels, integer-valued, one per sample.
    ///   - predictions: predicted class labels, integer-valued, one per sample.
    ///   - weights: optional sample weights (finite, ≥ 0, positive sum).
    @inlinable
    public static func accuracy<T: BinaryFloatingPoint>(
        labels: [T], predictions: [T], weights: [T]? = nil
    ) throws(MetricError) -> Double {
        let metric = "accuracy"
        try checkShapes(metric, labelCount: labels.count,
                        [("predictions", predictions.count, labels.count)])
        try checkClassLabels(metric, labels, argument: "labels", classCount: nil)
        try checkClassLabels(metric, predictions, argument: "predictions", classCount: nil)
        let total = try checkWeights(metric, weights, count: labels.count)
        var correct = 0.0
        for i in labels.indices where labels[i] == predictions[i] {
            correct += weight(weights, i)
        }
        return correct / total
    }

    /// The mean over classes of per-class recall — scikit-learn's `balanced_accuracy_score`
    /// (with `adjusted=False`):
    ///
    ///     balanced accuracy = (1/|C|) Σ_{c ∈ C} (Σᵢ wᵢ·[yᵢ = c ∧ ŷᵢ = c]) / (Σᵢ wᵢ·[yᵢ = c])
    ///
    /// where `C` is the set of classes with positive total weight among the true labels. A class
    /// that is only predicted (never true) has no recall and is left out, as scikit-learn drops
    /// it (with a warning). For binary labels this is `(TPR + TNR) / 2`.
    ///
    /// - Parameters:
    ///   - labels: true class labels, integer-valued (binary or multiclass), one per sample.
    ///   - predictions: predicted class labels, integer-valued, one per sample.
    ///   - weights: optional sample weights (finite, ≥ 0, positive sum).
    @inlinable
    public static func balancedAccuracy<T: BinaryFloatingPoint>(
        labels: [T], predictions: [T], weights: [T]? = nil
    ) throws(MetricError) -> Double {
        let metric = "balancedAccuracy"
        try checkShapes(metric, labelCount: labels.count,
                        [("predictions", predictions.count, labels.count)])
        try checkClassLabels(metric, labels, argument: "labels", classCount: nil)
        try checkClassLabels(metric, predictions, argument: "predictions", classCount: nil)
        _ = try checkWeights(metric, weights, count: labels.count)
        let (classes, index) = classIndex(labels, [])
        var support = [Double](repeating: 0, count: classes.count)
        var correct = [Double](repeating: 0, count: classes.count)
        for i in labels.indices {
            let c = index[Double(labels[i]), default: 0]  // invariant: classIndex holds every label
            let w = weight(weights, i)
            support[c] += w
            if predictions[i] == labels[i] { correct[c] += w }
        }
        var sum = 0.0
        var present = 0
        for c in classes.indices where support[c] > 0 {
            sum += correct[c] / support[c]
            present += 1
        }
        // present ≥ 1: the weights have a positive sum, so some class has positive support.
        return sum / Double(present)
    }

    // MARK: Binary precision, recall, F-beta

    /// Weighted confusion counts of a binary problem (positive class 1).
    @inlinable
    static func binaryCounts<T: BinaryFloatingPoint>(
        _ metric: String, labels: [T], predictions: [T], weights: [T]?
    ) throws(MetricError) -> (truePositive: Double, predictedPositive: Double, actualPositive: Double) {
        try checkShapes(metric, labelCount: labels.count,
                        [("predictions", predictions.count, labels.count)])
        try checkBinary(metric, labels, argument: "labels")
        try checkBinary(metric, predictions, argument: "predictions")
        _ = try checkWeights(metric, weights, count: labels.count)
        var tp = 0.0, predicted = 0.0, actual = 0.0
        for i in labels.indices {
            let w = weight(weights, i)
            let isTrue = labels[i] == 1, isPredicted = predictions[i] == 1
            if isTrue { actual += w }
            if isPredicted { predicted += w }
            if isTrue && isPredicted { tp += w }
        }
        return (tp, predicted, actual)
    }

    /// Precision of the positive class (1) — scikit-learn's `precision_score` (binary average):
    ///
    ///     precision = TP / (TP + FP)
    ///
    /// with `TP`, `FP` the weighted counts of true and false positives. When nothing is predicted
    /// positive (`TP + FP = 0`) the result is `zeroDivision` (default 0, as scikit-learn).
    ///
    /// - Parameters:
    ///   - labels: true labels, 0 or 1, one per sample.
    ///   - predictions: predicted labels, 0 or 1, one per sample.
    ///   - weights: optional sample weights (finite, ≥ 0, positive sum).
    ///   - zeroDivision: the value for `0/0` (default ``ZeroDivision/zero``).
    @inlinable
    public static func precision<T: BinaryFloatingPoint>(
        labels: [T], predictions: [T], weights: [T]? = nil, zeroDivision: ZeroDivision = .zero
    ) throws(MetricError) -> Double {
        let c = try binaryCounts("precision", labels: labels, predictions: predictions, weights: weights)
        return divide(c.truePositive, c.predictedPositive, zeroDivision)
    }

    /// Recall (true-positive rate) of the positive class (1) — scikit-learn's `recall_score`:
    ///
    ///     recall = TP / (TP + FN)
    ///
    /// When no label is positive (`TP + FN = 0`) the result is `zeroDivision` (default 0).
    ///
    /// - Parameters:
    ///   - labels: true labels, 0 or 1, one per sample.
    ///   - predictions: predicted labels, 0 or 1, one per sample.
    ///   - weights: optional sample weights (finite, ≥ 0, positive sum).
    ///   - zeroDivision: the value for `0/0` (default ``ZeroDivision/zero``).
    @inlinable
    public static func recall<T: BinaryFloatingPoint>(
        labels: [T], predictions: [T], weights: [T]? = nil, zeroDivision: ZeroDivision = .zero
    ) throws(MetricError) -> Double {
        let c = try binaryCounts("recall", labels: labels, predictions: predictions, weights: weights)
        return divide(c.truePositive, c.actualPositive, zeroDivision)
    }

    /// F-beta score of the positive class (1) — scikit-learn's `fbeta_score`:
    ///
    ///     F_β = (1 + β²)·P·R / (β²·P + R) = (1 + β²)·TP / ((1 + β²)·TP + β²·FN + FP)
    ///
    /// computed, as scikit-learn does, from the counts (right-hand form), so it is defined when
    /// precision or recall alone is `0/0`. When `TP + FN + FP = 0` the result is `zeroDivision`
    /// (default 0). `β = 0` gives precision and `β = +∞` recall.
    ///
    /// - Parameters:
    ///   - labels: true labels, 0 or 1, one per sample.
    ///   - predictions: predicted labels, 0 or 1, one per sample.
    ///   - beta: weight of recall relative to precision; `β ≥ 0` (`+infinity` allowed).
    ///   - weights: optional sample weights (finite, ≥ 0, positive sum).
    ///   - zeroDivision: the value for `0/0` (default ``ZeroDivision/zero``).
    @inlinable
    public static func fBetaScore<T: BinaryFloatingPoint>(
        labels: [T], predictions: [T], beta: Double, weights: [T]? = nil, zeroDivision: ZeroDivision = .zero
    ) throws(MetricError) -> Double {
        try checkBeta("fBetaScore", beta)
        let c = try binaryCounts("fBetaScore", labels: labels, predictions: predictions, weights: weights)
        return fBeta(truePositive: c.truePositive, predictedPositive: c.predictedPositive,
                     actualPositive: c.actualPositive, beta: beta, zeroDivision: zeroDivision)
    }

    /// F1 score of the positive class (1): ``fBetaScore(labels:predictions:beta:weights:zeroDivision:)``
    /// with `β = 1`, `2·TP / (2·TP + FN + FP)` — scikit-learn's `f1_score`.
    @inlinable
    public static func f1Score<T: BinaryFloatingPoint>(
        labels: [T], predictions: [T], weights: [T]? = nil, zeroDivision: ZeroDivision = .zero
    ) throws(MetricError) -> Double {
        let c = try binaryCounts("f1Score", labels: labels, predictions: predictions, weights: weights)
        return fBeta(truePositive: c.truePositive, predictedPositive: c.predictedPositive,
                     actualPositive: c.actualPositive, beta: 1, zeroDivision: zeroDivision)
    }

    // MARK: Binary log-loss

    /// Binary cross-entropy of positive-class probabilities — scikit-learn's `log_loss` with a
    /// one-dimensional `y_proba` and `labels=[0, 1]`:
    ///
    ///     L = −Σᵢ wᵢ·[yᵢ·log(clip(pᵢ)) + (1 − yᵢ)·log(clip(1 − pᵢ))] / Σᵢ wᵢ
    ///     clip(x) = min(max(x, ε), 1 − ε),  ε = T.ulpOfOne
    ///
    /// **Clipping.** scikit-learn clips at the machine epsilon of the probabilities' dtype,
    /// `np.finfo(dtype).eps` (the default since 1.2, the only behaviour since the `eps` parameter
    /// was removed in 1.5; before 1.2 a fixed 1e-15). This function does the same:
    /// `ε = 2⁻⁵²` for `Double`, `2⁻²³` for `Float`, and forms `1 − p` in `T` as numpy does. The
    /// logarithms and the sum are taken in `Double` (scikit-learn stays in `float32` for `Float`
    /// input, so `Float` results may differ from it in the seventh digit).
    ///
    /// Both classes need not occur: the labels are 0/1 by contract (scikit-learn would need
    /// `labels=[0, 1]` for a single-class `y_true`).
    ///
    /// - Parameters:
    ///   - labels: true labels, 0 or 1, one per sample.
    ///   - probabilities: predicted probability of class 1, in [0, 1], one per sample.
    ///   - weights: optional sample weights (finite, ≥ 0, positive sum).
    @inlinable
    public static func logLoss<T: BinaryFloatingPoint>(
        labels: [T], probabilities: [T], weights: [T]? = nil
    ) throws(MetricError) -> Double {
        let metric = "logLoss"
        try checkShapes(metric, labelCount: labels.count,
                        [("probabilities", probabilities.count, labels.count)])
        try checkBinary(metric, labels, argument: "labels")
        try checkProbabilities(metric, probabilities)
        let total = try checkWeights(metric, weights, count: labels.count)
        let eps = T.ulpOfOne
        var sum = 0.0
        for i in labels.indices {
            let p = labels[i] == 1 ? probabilities[i] : 1 - probabilities[i]
            let clipped = min(max(p, eps), 1 - eps)
            sum -= weight(weights, i) * log(Double(clipped))
        }
        return sum / total
    }

    /// Every value is finite and in [0, 1].
    @inlinable
    static func checkProbabilities<T: BinaryFloatingPoint>(_ metric: String, _ values: [T]) throws(MetricError) {
        for (i, p) in values.enumerated() where !(p >= 0 && p <= 1) {
            if !p.isFinite { throw .nonFinite(metric: metric, argument: "probabilities", index: i) }
            throw .probabilityOutOfRange(metric: metric, index: i, value: Double(p))
        }
    }
}
