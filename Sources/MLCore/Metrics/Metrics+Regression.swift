import Foundation  // sqrt

// Regression metrics: MSE, RMSE, MAE and R², over one target per sample.

extension Metrics {
    /// Validates a regression pair and returns the total weight.
    @inlinable
    static func checkRegression<T: BinaryFloatingPoint>(
        _ metric: String, labels: [T], predictions: [T], weights: [T]?
    ) throws(MetricError) -> Double {
        try checkShapes(metric, labelCount: labels.count, [("predictions", predictions.count, labels.count)])
        try checkFinite(metric, labels, argument: "labels")
        try checkFinite(metric, predictions, argument: "predictions")
        return try checkWeights(metric, weights, count: labels.count)
    }

    /// Mean squared error — scikit-learn's `mean_squared_error`:
    ///
    ///     MSE = Σᵢ wᵢ·(yᵢ − ŷᵢ)² / Σᵢ wᵢ
    ///
    /// - Parameters:
    ///   - labels: true targets, finite, one per sample.
    ///   - predictions: predicted targets, finite, one per sample.
    ///   - weights: optional sample weights (finite, ≥ 0, positive sum).
    @inlinable
    public static func meanSquaredError<T: BinaryFloatingPoint>(
        labels: [T], predictions: [T], weights: [T]? = nil
    ) throws(MetricError) -> Double {
        let total = try checkRegression("meanSquaredError", labels: labels, predictions: predictions, weights: weights)
        return squaredErrorSum(labels, predictions, weights) / total
    }

    /// Root mean squared error, `√MSE` — scikit-learn's `root_mean_squared_error` (the root of
    /// the weighted mean, not a mean of roots). Parameters as
    /// ``meanSquaredError(labels:predictions:weights:)``.
    @inlinable
    public static func rootMeanSquaredError<T: BinaryFloatingPoint>(
        labels: [T], predictions: [T], weights: [T]? = nil
    ) throws(MetricError) -> Double {
        let total = try checkRegression("rootMeanSquaredError", labels: labels, predictions: predictions, weights: weights)
        return sqrt(squaredErrorSum(labels, predictions, weights) / total)
    }

    /// Mean absolute error — scikit-learn's `mean_absolute_error`:
    ///
    ///     MAE = Σᵢ wᵢ·|yᵢ − ŷᵢ| / Σᵢ wᵢ
    ///
    /// Parameters as ``meanSquaredError(labels:predictions:weights:)``.
    @inlinable
    public static func meanAbsoluteError<T: BinaryFloatingPoint>(
        labels: [T], predictions: [T], weights: [T]? = nil
    ) throws(MetricError) -> Double {
        let total = try checkRegression("meanAbsoluteError", labels: labels, predictions: predictions, weights: weights)
        var sum = 0.0
        for i in labels.indices {
            sum += weight(weights, i) * abs(Double(labels[i]) - Double(predictions[i]))
        }
        return sum / total
    }

    /// Coefficient of determination — scikit-learn's `r2_score` (`force_finite=True`):
    ///
    ///     R² = 1 − Σᵢ wᵢ·(yᵢ − ŷᵢ)² / Σᵢ wᵢ·(yᵢ − ȳ)²,   ȳ = Σᵢ wᵢ·yᵢ / Σᵢ wᵢ
    ///
    /// Conventions (scikit-learn's): a zero numerator (perfect prediction) gives 1, even when
    /// `labels` is constant; a constant `labels` (zero denominator) with imperfect predictions
    /// gives 0 instead of −∞. "Constant" means every sample with positive weight has the same
    /// label; this is decided exactly, not from the rounded `Σ wᵢ·(yᵢ − ȳ)²`, which scikit-learn
    /// uses and which can be a tiny positive number when `ȳ` is not representable.
    ///
    /// - Throws: ``MetricError/tooFewSamples(metric:minimum:actual:)`` for a single sample
    ///   (scikit-learn returns NaN with a warning).
    /// Parameters as ``meanSquaredError(labels:predictions:weights:)``.
    @inlinable
    public static func r2Score<T: BinaryFloatingPoint>(
        labels: [T], predictions: [T], weights: [T]? = nil
    ) throws(MetricError) -> Double {
        let metric = "r2Score"
        let total = try checkRegression(metric, labels: labels, predictions: predictions, weights: weights)
        guard labels.count >= 2 else { throw .tooFewSamples(metric: metric, minimum: 2, actual: labels.count) }

        let numerator = squaredErrorSum(labels, predictions, weights)
        if numerator == 0 { return 1 }

        var first: T?
        var constant = true
        var weightedSum = 0.0
        for i in labels.indices {
            let w = weight(weights, i)
            weightedSum += w * Double(labels[i])
            guard w > 0 else { continue }
            if let first, first != labels[i] { constant = false }
            if first == nil { first = labels[i] }
        }
        if constant { return 0 }
        let mean = weightedSum / total
        var denominator = 0.0
        for i in labels.indices {
            let d = Double(labels[i]) - mean
            denominator += weight(weights, i) * (d * d)
        }
        return 1 - numerator / denominator
    }

    /// `Σᵢ wᵢ·(yᵢ − ŷᵢ)²` in `Double`.
    @inlinable
    static func squaredErrorSum<T: BinaryFloatingPoint>(_ labels: [T], _ predictions: [T], _ weights: [T]?) -> Double {
        var sum = 0.0
        for i in labels.indices {
            let d = Double(labels[i]) - Double(predictions[i])
            sum += weight(weights, i) * (d * d)
        }
        return sum
    }
}
