import MLCore

/// SageMaker's normalization (`normalize_data`, `unbias_data`, `normalize_label`, `unbias_label`):
/// statistics from a sample of the training data, training in scaled space, and the scaling
/// folded back into the weights at the end, so the saved model takes raw features.
///
/// Features: `x' = (x − μ)·s` with `s = 1/σ` (`σ` the population standard deviation of the
/// sample; a constant feature keeps `s = 1`, since dividing by zero would only blow it up).
/// Labels (regression): `y' = (y − μ_y)/σ_y`. A model `s' = W'ᵀx' + b'` trained on scaled data
/// predicts `σ_y·s' + μ_y` on raw data, which is the linear model
/// `W = σ_y·diag(s)·W'`, `b = σ_y·(b' − Σⱼ μⱼ·sⱼ·W'ⱼ) + μ_y` (``foldedIntoRawSpace(_:layout:)``).
public struct LinearScaler: Sendable, Equatable, Codable {
    /// μ per feature (zeros when features are not centred).
    public var featureMean: [Double]
    /// s = 1/σ per feature (ones when features are not scaled).
    public var featureScale: [Double]
    public var labelMean: Double
    /// σ_y (1 when labels are not scaled).
    public var labelScale: Double

    /// The identity: no scaling at all.
    public init(features: Int) {
        featureMean = [Double](repeating: 0, count: features)
        featureScale = [Double](repeating: 1, count: features)
        labelMean = 0
        labelScale = 1
    }

    /// Statistics from `sample` (rows × features) and its `labels` (pass `nil` for classification,
    /// whose labels are never touched).
    public static func fit<T: BLASScalar>(
        sample: Matrix<T>, labels: [T]?, normalizeData: Bool, unbiasData: Bool, normalizeLabel: Bool, unbiasLabel: Bool
    ) -> LinearScaler {
        var scaler = LinearScaler(features: sample.columns)
        guard sample.rows > 0 else { return scaler }
        if unbiasData { scaler.featureMean = sample.columnMeans().map { Double($0) } }
        if normalizeData {
            scaler.featureScale = sample.columnVariances().map { v in
                let sd = Double(v).squareRoot()
                return sd > 0 && sd.isFinite ? 1 / sd : 1
            }
        }
        scaler.fitLabels(labels, normalize: normalizeLabel, unbias: unbiasLabel)
        return scaler
    }

    private mutating func fitLabels<T: BLASScalar>(_ labels: [T]?, normalize: Bool, unbias: Bool) {
        guard let labels, !labels.isEmpty else { return }
        let n = Double(labels.count)
        let mean = labels.reduce(0.0) { $0 + Double($1) } / n
        if unbias { labelMean = mean }
        if normalize {
            let variance = labels.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / n
            let sd = variance.squareRoot()
            labelScale = sd > 0 && sd.isFinite ? sd : 1
        }
    }

    /// Statistics from a sparse `sample`: features are scaled by the standard deviation over
    /// every row, absent entries counting as zeros, and never centred (centring would make
    /// every row dense), whatever `unbias_data` says — the caller refuses `unbias_data=true`.
    public static func fit(
        sparseSample sample: SparseMatrix<Float>, labels: [Float]?, normalizeData: Bool, normalizeLabel: Bool, unbiasLabel: Bool
    ) -> LinearScaler {
        var scaler = LinearScaler(features: sample.columns)
        scaler.fitLabels(labels, normalize: normalizeLabel, unbias: unbiasLabel)
        guard sample.rows > 0, normalizeData else { return scaler }
        var sum = [Double](repeating: 0, count: sample.columns), squares = sum
        sample.withUnsafeBuffers { _, indices, values in
            for p in 0..<values.count {
                let j = Int(indices[p]), v = Double(values[p])
                sum[j] += v
                squares[j] += v * v
            }
        }
        let n = Double(sample.rows)
        scaler.featureScale = (0..<sample.columns).map { j in
            let mean = sum[j] / n, variance = max(0, squares[j] / n - mean * mean)
            let sd = variance.squareRoot()
            return sd > 0 && sd.isFinite ? 1 / sd : 1
        }
        return scaler
    }

    /// `(x − μ)·s`, row by row.
    public func transform<T: BLASScalar>(_ x: Matrix<T>) throws(ShapeError) -> Matrix<T> {
        guard x.columns == featureMean.count else {
            throw .mismatch(operation: "LinearScaler.transform", left: "\(x.columns) features", right: "\(featureMean.count) in the scaler")
        }
        var out = x
        let d = x.columns
        out.withUnsafeMutableBufferPointer { p in
            for i in 0..<x.rows {
                for j in 0..<d { p[i * d + j] = T((Double(p[i * d + j]) - featureMean[j]) * featureScale[j]) }
            }
        }
        return out
    }

    /// `(y − μ_y)/σ_y`.
    public func transform<T: BLASScalar>(labels: [T]) -> [T] {
        labels.map { T((Double($0) - labelMean) / labelScale) }
    }

    /// The parameters (laid out by `layout`) of the raw-space model equal to `parameters` in
    /// scaled space (see the type's discussion).
    public func foldedIntoRawSpace<T: BLASScalar>(_ parameters: [T], layout: LinearParameterLayout) throws(ShapeError) -> [T] {
        guard parameters.count == layout.count, layout.features == featureMean.count else {
            throw .mismatch(operation: "LinearScaler.fold", left: "\(parameters.count) parameters, \(layout.features) features",
                            right: "\(featureMean.count) features in the scaler")
        }
        let k = layout.columns
        var out = parameters
        for c in 0..<k {
            var shift = 0.0
            for j in 0..<layout.features {
                let w = Double(parameters[j * k + c]) * featureScale[j]
                shift += featureMean[j] * w
                out[j * k + c] = T(labelScale * w)
            }
            out[layout.biasOffset + c] = T(labelScale * (Double(parameters[layout.biasOffset + c]) - shift) + labelMean)
        }
        return out
    }
}
