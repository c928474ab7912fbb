/// Evaluation metrics over plain arrays, matching scikit-learn's definitions and conventions.
///
/// Every function is generic over `Float` and `Double` (any `BinaryFloatingPoint`), takes labels
/// as floating-point values because SageMaker data carries them that way, accumulates in
/// `Double`, returns a `Double`, and throws ``MetricError`` (typed) instead of trapping.
///
/// | concern | functions | scikit-learn |
/// | --- | --- | --- |
/// | classification (binary and multiclass labels) | ``accuracy(labels:predictions:weights:)``, ``balancedAccuracy(labels:predictions:weights:)`` | `accuracy_score`, `balanced_accuracy_score` |
/// | binary | ``precision(labels:predictions:weights:zeroDivision:)``, ``recall(labels:predictions:weights:zeroDivision:)``, ``fBetaScore(labels:predictions:beta:weights:zeroDivision:)``, ``f1Score(labels:predictions:weights:zeroDivision:)``, ``logLoss(labels:probabilities:weights:)`` | `precision_score`, `recall_score`, `fbeta_score`, `f1_score`, `log_loss` |
/// | ranking | ``rocAUC(labels:scores:weights:)``, ``topKAccuracy(labels:scores:classCount:k:weights:)`` | `roc_auc_score`, `top_k_accuracy_score` |
/// | multiclass | ``macroPrecision(labels:predictions:classCount:weights:zeroDivision:)``, ``macroRecall(labels:predictions:classCount:weights:zeroDivision:)``, ``macroFBetaScore(labels:predictions:beta:classCount:weights:zeroDivision:)``, ``macroF1Score(labels:predictions:classCount:weights:zeroDivision:)``, ``multiclassLogLoss(labels:probabilities:classCount:weights:)`` | `average="macro"`, `log_loss` |
/// | regression | ``meanSquaredError(labels:predictions:weights:)``, ``rootMeanSquaredError(labels:predictions:weights:)``, ``meanAbsoluteError(labels:predictions:weights:)``, ``r2Score(labels:predictions:weights:)`` | `mean_squared_error`, `root_mean_squared_error`, `mean_absolute_error`, `r2_score` |
///
/// Conventions shared by every function:
/// - **Labels.** Binary metrics take 0 (negative) and 1 (positive), as SageMaker's binary
///   classifiers do (scikit-learn's `pos_label=1`). Multiclass metrics take integer-valued labels;
///   where a `classCount` is given they must be class indices `0..<classCount`. A fractional
///   label is rejected, as scikit-learn rejects a "continuous" target.
/// - **Sample weights** (`weights`, optional, one per sample) must be finite and non-negative with
///   a positive sum. A weighted mean is `Σ wᵢ·xᵢ / Σ wᵢ`; no weights means every `wᵢ = 1`.
///   scikit-learn accepts negative weights in some metrics and returns 0 or NaN when all weights
///   are zero; these functions throw instead.
/// - **Matrices** of scores or probabilities are row-major (samples × classes): a flat array with a
///   `classCount`, a `[[T]]` of equal rows, or a ``Matrix``.
/// - Every input value must be finite (scikit-learn's `check_array` rejects NaN and infinity too).
public enum Metrics {
    /// What precision, recall and F-beta return when their denominator is zero (scikit-learn's
    /// `zero_division`).
    ///
    /// Precision is `0/0` when nothing is predicted positive, recall when nothing is truly
    /// positive, F-beta when there are no true positives, false positives or false negatives.
    public enum ZeroDivision: Sendable, Equatable, Hashable {
        /// 0 — scikit-learn's default (`zero_division="warn"`, which acts as 0 and warns).
        case zero
        /// 1.
        case one
        /// NaN; a macro average then skips the class (NaN only if every class is skipped).
        case nan

        @inlinable
        var value: Double {
            switch self {
            case .zero: 0
            case .one: 1
            case .nan: .nan
            }
        }
    }
}

// MARK: - Validation (internal; inlinable so that generic callers specialise)

extension Metrics {
    /// Throws unless `labels` is non-empty and each other argument has the expected length.
    @inlinable
    static func checkShapes(
        _ metric: String, labelCount: Int, _ others: [(name: String, count: Int, expected: Int)]
    ) throws(MetricError) {
        guard labelCount > 0 else { throw .empty(metric: metric) }
        for other in others where other.count != other.expected {
            throw .lengthMismatch(metric: metric, argument: other.name, expected: other.expected, actual: other.count)
        }
    }

    @inlinable
    static func checkFinite<T: BinaryFloatingPoint>(
        _ metric: String, _ values: [T], argument: String
    ) throws(MetricError) {
        for (i, v) in values.enumerated() where !v.isFinite {
            throw .nonFinite(metric: metric, argument: argument, index: i)
        }
    }

    /// Every value is 0 or 1.
    @inlinable
    static func checkBinary<T: BinaryFloatingPoint>(
        _ metric: String, _ values: [T], argument: String
    ) throws(MetricError) {
        for (i, v) in values.enumerated() where v != 0 && v != 1 {
            if !v.isFinite { throw .nonFinite(metric: metric, argument: argument, index: i) }
            throw .notBinary(metric: metric, argument: argument, index: i, value: Double(v))
        }
    }

    /// Every value is a finite integer and, with a class count, in `0..<classCount`.
    @inlinable
    static func checkClassLabels<T: BinaryFloatingPoint>(
        _ metric: String, _ values: [T], argument: String, classCount: Int?
    ) throws(MetricError) {
        for (i, v) in values.enumerated() {
            guard v.isFinite else { throw .nonFinite(metric: metric, argument: argument, index: i) }
            let isInteger = v.rounded(.towardZero) == v
            let inRange = classCount.map { v >= 0 && Double(v) < Double($0) } ?? true
            guard isInteger, inRange else {
                throw .invalidClassLabel(
                    metric: metric, argument: argument, index: i, value: Double(v), classCount: classCount)
            }
        }
    }

    /// Validates the sample weights (if any) and returns their sum (`count` without weights).
    @inlinable
    static func checkWeights<T: BinaryFloatingPoint>(
        _ metric: String, _ weights: [T]?, count: Int
    ) throws(MetricError) -> Double {
        guard let weights else { return Double(count) }
        guard weights.count == count else {
            throw .lengthMismatch(metric: metric, argument: "weights", expected: count, actual: weights.count)
        }
        var total = 0.0
        for (i, w) in weights.enumerated() {
            guard w.isFinite else { throw .nonFinite(metric: metric, argument: "weights", index: i) }
            guard w >= 0 else { throw .negativeWeight(metric: metric, index: i, value: Double(w)) }
            total += Double(w)
        }
        guard total > 0 else { throw .zeroTotalWeight(metric: metric) }
        return total
    }

    /// The weight of sample `i` (1 without weights).
    @inlinable @inline(__always)
    static func weight<T: BinaryFloatingPoint>(_ weights: [T]?, _ i: Int) -> Double {
        guard let weights else { return 1 }
        return Double(weights[i])
    }

    /// `numerator / denominator`, or the zero-division value when `denominator == 0`.
    @inlinable @inline(__always)
    static func divide(_ numerator: Double, _ denominator: Double, _ zeroDivision: ZeroDivision) -> Double {
        denominator == 0 ? zeroDivision.value : numerator / denominator
    }

    /// Throws unless `beta` is a valid F-beta weight: `β ≥ 0` (`+∞` allowed, as scikit-learn).
    @inlinable
    static func checkBeta(_ metric: String, _ beta: Double) throws(MetricError) {
        guard beta >= 0 else {  // false for NaN too
            throw .invalidParameter(
                metric: metric, name: "beta", value: "\(beta)", rule: "beta must be ≥ 0 (0 gives precision, +infinity recall)")
        }
    }

    /// `(1 + β²)·tp / (β²·(tp + fn) + (tp + fp))`, as scikit-learn computes it from the
    /// confusion counts; `β = 0` is precision and `β = +∞` recall.
    @inlinable
    static func fBeta(
        truePositive tp: Double, predictedPositive: Double, actualPositive: Double, beta: Double,
        zeroDivision: ZeroDivision
    ) -> Double {
        if beta == .infinity { return divide(tp, actualPositive, zeroDivision) }
        if beta == 0 { return divide(tp, predictedPositive, zeroDivision) }
        let beta2 = beta * beta
        return divide((1 + beta2) * tp, beta2 * actualPositive + predictedPositive, zeroDivision)
    }

    /// The sorted distinct values of `a` and `b` and a lookup from value to its position.
    @inlinable
    static func classIndex<T: BinaryFloatingPoint>(_ a: [T], _ b: [T]) -> (classes: [Double], index: [Double: Int]) {
        var seen = Set<Double>()
        for v in a { seen.insert(Double(v)) }
        for v in b { seen.insert(Double(v)) }
        let classes = seen.sorted()
        var index = [Double: Int](minimumCapacity: classes.count)
        for (i, c) in classes.enumerated() { index[c] = i }
        return (classes, index)
    }
}
