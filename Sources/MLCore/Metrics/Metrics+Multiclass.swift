import Foundation  // log

// Multiclass metrics: macro-averaged precision / recall / F-beta and the multiclass log-loss.
// Accuracy, balanced accuracy and top-k accuracy take multiclass labels too; they live in
// Metrics+Classification.swift and Metrics+Ranking.swift.

extension Metrics {
    // MARK: Macro averages

    /// Per-class weighted counts `(TP_c, TP_c + FP_c, TP_c + FN_c)`, classes in increasing order.
    ///
    /// The classes are `0..<classCount` when a class count is given (scikit-learn
    /// `labels=range(classCount)`), otherwise the distinct values of `labels` ∪ `predictions`
    /// (scikit-learn's default `labels=None`).
    @inlinable
    static func classTallies<T: BinaryFloatingPoint>(
        _ metric: String, labels: [T], predictions: [T], classCount: Int?, weights: [T]?
    ) throws(MetricError) -> [(truePositive: Double, predicted: Double, actual: Double)] {
        if let classCount { try checkClassCount(metric, classCount) }
        try checkShapes(metric, labelCount: labels.count, [("predictions", predictions.count, labels.count)])
        try checkClassLabels(metric, labels, argument: "labels", classCount: classCount)
        try checkClassLabels(metric, predictions, argument: "predictions", classCount: classCount)
        _ = try checkWeights(metric, weights, count: labels.count)

        let lookup: [Double: Int]
        let count: Int
        if let classCount {
            lookup = [:]
            count = classCount
        } else {
            let (classes, index) = classIndex(labels, predictions)
            lookup = index
            count = classes.count
        }
        func position(_ v: T) -> Int {
            if classCount != nil { return Int(v) }  // checked: an integer in 0..<classCount
            return lookup[Double(v), default: 0]  // invariant: classIndex holds every label and prediction
        }
        var tallies = [(truePositive: Double, predicted: Double, actual: Double)](repeating: (0, 0, 0), count: count)
        for i in labels.indices {
            let w = weight(weights, i)
            let truth = position(labels[i]), guess = position(predictions[i])
            tallies[truth].actual += w
            tallies[guess].predicted += w
            if truth == guess { tallies[truth].truePositive += w }
        }
        return tallies
    }

    /// The unweighted mean of per-class values, skipping NaN (only ``ZeroDivision/nan`` makes
    /// them); NaN when every class is NaN. scikit-learn's `_nanaverage`.
    @inlinable
    static func macroMean(_ values: [Double]) -> Double {
        var sum = 0.0, count = 0
        for v in values where !v.isNaN {
            sum += v
            count += 1
        }
        return count == 0 ? .nan : sum / Double(count)
    }

    /// Macro-averaged precision — scikit-learn's `precision_score(average="macro")`:
    ///
    ///     macro precision = (1/|C|) Σ_{c ∈ C} TP_c / (TP_c + FP_c)
    ///
    /// A class never predicted has `0/0` precision and contributes `zeroDivision` (default 0, as
    /// scikit-learn; ``ZeroDivision/nan`` leaves it out of the mean).
    ///
    /// - Parameters:
    ///   - labels: true class labels, integer-valued, one per sample.
    ///   - predictions: predicted class labels, integer-valued, one per sample.
    ///   - classCount: if given, `C = 0..<classCount` and every label must be such an index —
    ///     classes absent from both arrays count (as zero-division classes); if `nil` (default),
    ///     `C` is the set of values in `labels` ∪ `predictions`, as scikit-learn's `labels=None`.
    ///   - weights: optional sample weights (finite, ≥ 0, positive sum).
    ///   - zeroDivision: the per-class value for `0/0` (default ``ZeroDivision/zero``).
    @inlinable
    public static func macroPrecision<T: BinaryFloatingPoint>(
        labels: [T], predictions: [T], classCount: Int? = nil, weights: [T]? = nil,
        zeroDivision: ZeroDivision = .zero
    ) throws(MetricError) -> Double {
        let tallies = try classTallies("macroPrecision", labels: labels, predictions: predictions,
                                       classCount: classCount, weights: weights)
        return macroMean(tallies.map { divide($0.truePositive, $0.predicted, zeroDivision) })
    }

    /// Macro-averaged recall — scikit-learn's `recall_score(average="macro")`:
    ///
    ///     macro recall = (1/|C|) Σ_{c ∈ C} TP_c / (TP_c + FN_c)
    ///
    /// A class that never occurs in `labels` has `0/0` recall and contributes `zeroDivision`
    /// (default 0). This is why macro recall over `labels ∪ predictions` can be lower than
    /// ``balancedAccuracy(labels:predictions:weights:)``, which leaves such classes out.
    /// Parameters as ``macroPrecision(labels:predictions:classCount:weights:zeroDivision:)``.
    @inlinable
    public static func macroRecall<T: BinaryFloatingPoint>(
        labels: [T], predictions: [T], classCount: Int? = nil, weights: [T]? = nil,
        zeroDivision: ZeroDivision = .zero
    ) throws(MetricError) -> Double {
        let tallies = try classTallies("macroRecall", labels: labels, predictions: predictions,
                                       classCount: classCount, weights: weights)
        return macroMean(tallies.map { divide($0.truePositive, $0.actual, zeroDivision) })
    }

    /// Macro-averaged F-beta — scikit-learn's `fbeta_score(average="macro")`: the mean over
    /// classes of
    ///
    ///     F_β,c = (1 + β²)·TP_c / ((1 + β²)·TP_c + β²·FN_c + FP_c)
    ///
    /// (not the F-beta of the macro precision and recall). A class with `TP_c + FN_c + FP_c = 0`
    /// contributes `zeroDivision` (default 0). `β = 0` gives macro precision, `β = +∞` macro
    /// recall. Other parameters as ``macroPrecision(labels:predictions:classCount:weights:zeroDivision:)``.
    @inlinable
    public static func macroFBetaScore<T: BinaryFloatingPoint>(
        labels: [T], predictions: [T], beta: Double, classCount: Int? = nil, weights: [T]? = nil,
        zeroDivision: ZeroDivision = .zero
    ) throws(MetricError) -> Double {
        try checkBeta("macroFBetaScore", beta)
        let tallies = try classTallies("macroFBetaScore", labels: labels, predictions: predictions,
                                       classCount: classCount, weights: weights)
        return macroMean(tallies.map {
            fBeta(truePositive: $0.truePositive, predictedPositive: $0.predicted, actualPositive: $0.actual,
                  beta: beta, zeroDivision: zeroDivision)
        })
    }

    /// Macro-averaged F1, ``macroFBetaScore(labels:predictions:beta:classCount:weights:zeroDivision:)``
    /// with `β = 1` — scikit-learn's `f1_score(average="macro")`.
    @inlinable
    public static func macroF1Score<T: BinaryFloatingPoint>(
        labels: [T], predictions: [T], classCount: Int? = nil, weights: [T]? = nil,
        zeroDivision: ZeroDivision = .zero
    ) throws(MetricError) -> Double {
        let tallies = try classTallies("macroF1Score", labels: labels, predictions: predictions,
                                       classCount: classCount, weights: weights)
        return macroMean(tallies.map {
            fBeta(truePositive: $0.truePositive, predictedPositive: $0.predicted, actualPositive: $0.actual,
                  beta: 1, zeroDivision: zeroDivision)
        })
    }

    // MARK: Multiclass log-loss

    /// How far a probability row's sum may be from 1: `√(Float.ulpOfOne)` ≈ 3.5·10⁻⁴, the
    /// tolerance scikit-learn uses for `float32` input, so that probabilities computed in single
    /// precision and widened to `Double` still pass.
    public static let probabilityRowSumTolerance = Double(Float.ulpOfOne).squareRoot()

    /// Multiclass cross-entropy of predicted class probabilities — scikit-learn's `log_loss` with
    /// `labels=range(classCount)`:
    ///
    ///     L = −Σᵢ wᵢ·log(clip(pᵢ,yᵢ)) / Σᵢ wᵢ,   clip(x) = min(max(x, ε), 1 − ε),  ε = T.ulpOfOne
    ///
    /// Clipping is at the machine epsilon of `T`, as scikit-learn does (see
    /// ``logLoss(labels:probabilities:weights:)``). Rows are not renormalised (scikit-learn
    /// stopped renormalising in 1.5), but a row whose sum is further than ``probabilityRowSumTolerance`` from 1
    /// is rejected (scikit-learn only warns) because its loss is not a cross-entropy.
    ///
    /// - Parameters:
    ///   - labels: true class indices in `0..<classCount`, one per sample.
    ///   - probabilities: the samples × classes probability matrix, flat and row-major
    ///     (`probabilities[i * classCount + j]`), each value in [0, 1], each row summing to 1.
    ///   - classCount: number of classes, ≥ 2.
    ///   - weights: optional sample weights (finite, ≥ 0, positive sum).
    @inlinable
    public static func multiclassLogLoss<T: BinaryFloatingPoint>(
        labels: [T], probabilities: [T], classCount: Int, weights: [T]? = nil
    ) throws(MetricError) -> Double {
        let metric = "multiclassLogLoss"
        try checkClassCount(metric, classCount)
        let expected = try flatCount(metric, labelCount: labels.count, classCount: classCount)
        try checkShapes(metric, labelCount: labels.count,
                        [("probabilities (flat, row-major, labels × classCount)", probabilities.count, expected)])
        try checkClassLabels(metric, labels, argument: "labels", classCount: classCount)
        try checkProbabilities(metric, probabilities)
        for row in labels.indices {
            var sum = 0.0
            for j in 0..<classCount { sum += Double(probabilities[row * classCount + j]) }
            guard abs(sum - 1) <= probabilityRowSumTolerance else {
                throw .probabilitiesDoNotSumToOne(metric: metric, row: row, sum: sum,
                                                  tolerance: probabilityRowSumTolerance)
            }
        }
        let total = try checkWeights(metric, weights, count: labels.count)
        let eps = T.ulpOfOne
        var loss = 0.0
        for i in labels.indices {
            let p = probabilities[i * classCount + Int(labels[i])]
            loss -= weight(weights, i) * log(Double(min(max(p, eps), 1 - eps)))
        }
        return loss / total
    }

    /// ``multiclassLogLoss(labels:probabilities:classCount:weights:)`` with the probabilities as
    /// one array per sample (all the same length, the class count).
    @inlinable
    public static func multiclassLogLoss<T: BinaryFloatingPoint>(
        labels: [T], probabilities: [[T]], weights: [T]? = nil
    ) throws(MetricError) -> Double {
        let (flat, classCount) = try flatten("multiclassLogLoss", probabilities, argument: "probabilities",
                                             labelCount: labels.count)
        return try multiclassLogLoss(labels: labels, probabilities: flat, classCount: classCount, weights: weights)
    }

    /// ``multiclassLogLoss(labels:probabilities:classCount:weights:)`` with the probabilities as a
    /// samples × classes ``Matrix``.
    @inlinable
    public static func multiclassLogLoss<T: BLASScalar>(
        labels: [T], probabilities: Matrix<T>, weights: [T]? = nil
    ) throws(MetricError) -> Double {
        try checkMatrixRows("multiclassLogLoss", rows: probabilities.rows, argument: "probabilities",
                            labelCount: labels.count)
        return try multiclassLogLoss(labels: labels, probabilities: probabilities.elements,
                                     classCount: probabilities.columns, weights: weights)
    }
}
