import Foundation
import MLCore

/// Where a linear model's parameters sit in its one flat buffer: the weights, features × outputs
/// row-major (so `W` is a `features × outputs` matrix), then one bias per output. Gradients,
/// optimizer state, all-reduce and checkpoints all use this same layout.
public struct LinearParameterLayout: Sendable, Equatable {
    public let features: Int
    /// 1 for binary and regression, the class count for multiclass.
    public let outputs: Int

    public init(features: Int, outputs: Int) {
        self.features = features
        self.outputs = outputs
    }

    public var weightCount: Int { features * outputs }
    /// Offset of the bias block.
    public var biasOffset: Int { weightCount }
    /// Total parameters.
    public var count: Int { weightCount + outputs }

    /// `S = X·W + b` (rows × outputs) into `scores`, W read in place from the flat `parameters`.
    /// One `gemm` on the calling thread; `scores` is reshaped if needed. `x` must have
    /// ``features`` columns (callers check, since they know what to name in the error).
    public func scores<T: BLASScalar>(_ x: Matrix<T>, parameters: [T], into scores: inout Matrix<T>) throws {
        let n = x.rows, d = features, k = outputs
        if scores.rows != n || scores.columns != k { scores = Matrix(rows: n, columns: k) }
        guard n > 0, d > 0 else { return }
        try x.withUnsafeBufferPointer { px in
            try parameters.withUnsafeBufferPointer { pw in
                try scores.withUnsafeMutableBufferPointer { ps in
                    // invariant: n, d, k > 0 here, so every buffer has a base address
                    try BLAS.gemm(m: n, n: k, k: d, alpha: 1, a: px.baseAddress!, lda: d, b: pw.baseAddress!, ldb: k,
                                  beta: 0, c: ps.baseAddress!, ldc: k)
                }
            }
        }
        try scores.addToEachRow(Array(parameters[biasOffset..<count]))
    }
}

/// σ(z) = 1/(1 + e^{−z}), evaluated so that neither branch overflows.
@inline(__always)
func sigmoid(_ z: Double) -> Double {
    z >= 0 ? 1 / (1 + exp(-z)) : exp(z) / (1 + exp(z))
}

/// The loss a linear model minimizes, per example `i` with weight `wᵢ` and score `sᵢ = xᵢ·W + b`:
///
/// | objective | loss ℓ | ∂ℓ/∂s |
/// | --- | --- | --- |
/// | `logistic` (labels 0/1) | `log(1 + eˢ) − y·s` | `σ(s) − y` |
/// | `softmax` (labels 0…K−1) | `log Σⱼ e^{sⱼ} − s_y` | `softmax(s)ⱼ − [j = y]` |
/// | `squared` | `(s − y)² / 2` | `s − y` |
///
/// Both log-losses are computed in their numerically stable forms (`max(s, 0) + log1p(e^{−|s|})`,
/// log-sum-exp shifted by the maximum), so no score overflows.
public enum LinearObjective: Sendable, Equatable {
    case logistic
    case softmax(classes: Int)
    case squared

    /// Score columns: 1, or the class count.
    public var outputs: Int {
        if case .softmax(let k) = self { return k }
        return 1
    }

    /// A label that this objective cannot take.
    public struct LabelError: Error, Equatable, Sendable, CustomStringConvertible {
        public let row: Int
        public let label: Double
        public let rule: String
        public var description: String { "row \(row): label \(label) is invalid: \(rule)" }
    }

    /// Adds `Σᵢ wᵢ·∇ℓᵢ` over the rows of `x` to `gradient` and returns `Σᵢ wᵢ·ℓᵢ` and `Σᵢ wᵢ`
    /// (both in Double), for the parameters in `parameters` laid out by `layout`.
    ///
    /// Scores are one `gemm` (`X·W`), the weight gradient another (`Xᵀ·R`, R the rows' weighted
    /// ∂ℓ/∂s); `scratch` holds `rows × outputs` scores and is reused between calls. BLAS runs on
    /// the calling thread (see DESIGN.md "Threads"): callers parallelize over micro-shards.
    public func accumulate<T: BLASScalar>(
        features x: Matrix<T>, labels: [T], weights: [T]?,
        parameters: [T], layout: LinearParameterLayout,
        gradient: inout [T], scratch: inout Matrix<T>
    ) throws -> (loss: Double, weight: Double) {
        let n = x.rows, d = layout.features, k = layout.outputs
        guard d > 0, k == outputs, x.columns == d, labels.count == n, weights.map({ $0.count == n }) ?? true,
              parameters.count == layout.count, gradient.count == layout.count
        else {
            throw ShapeError.mismatch(
                operation: "LinearObjective.accumulate",
                left: "x \(n)×\(x.columns), \(labels.count) labels, \(weights?.count ?? n) weights, \(parameters.count) parameters",
                right: "\(d) features × \(k) outputs (\(layout.count) parameters)")
        }
        if n == 0 { return (0, 0) }

        try layout.scores(x, parameters: parameters, into: &scratch)

        // Loss, and S becomes R = wᵢ·∂ℓ/∂s in place.
        var loss = 0.0, totalWeight = 0.0
        try scratch.withUnsafeMutableBufferPointer { s in
            for i in 0..<n {
                let wi = Double(weights?[i] ?? 1)
                let y = Double(labels[i])
                totalWeight += wi
                switch self {
                case .logistic:
                    guard y == 0 || y == 1 else { throw LabelError(row: i, label: y, rule: "binary labels are 0 or 1") }
                    let z = Double(s[i])
                    loss += wi * (max(z, 0) - y * z + log1p(exp(-abs(z))))
                    s[i] = T(wi * (sigmoid(z) - y))
                case .softmax(let classes):
                    guard y >= 0, y < Double(classes), y == y.rounded() else {
                        throw LabelError(row: i, label: y, rule: "multiclass labels are 0 … \(classes - 1)")
                    }
                    let row = i * k
                    var m = -Double.infinity
                    for j in 0..<k { m = max(m, Double(s[row + j])) }
                    var total = 0.0
                    for j in 0..<k { total += exp(Double(s[row + j]) - m) }
                    let label = Int(y)
                    loss += wi * (m + log(total) - Double(s[row + label]))
                    for j in 0..<k {
                        let p = exp(Double(s[row + j]) - m) / total
                        s[row + j] = T(wi * (p - (j == label ? 1 : 0)))
                    }
                case .squared:
                    let r = Double(s[i]) - y
                    loss += wi * r * r / 2
                    s[i] = T(wi * r)
                }
            }
        }

        // ∇W += Xᵀ·R into the flat buffer in place, ∇b += Σᵢ Rᵢ.
        try x.withUnsafeBufferPointer { px in
            try scratch.withUnsafeBufferPointer { pr in
                try gradient.withUnsafeMutableBufferPointer { pg in
                    // invariant: n, d, k > 0 here, so every buffer has a base address
                    try BLAS.gemm(transposeA: .transpose, m: d, n: k, k: n, alpha: 1, a: px.baseAddress!, lda: d,
                                  b: pr.baseAddress!, ldb: k, beta: 1, c: pg.baseAddress!, ldc: k)
                }
            }
        }
        let gradB = scratch.columnSums()
        for j in 0..<k { gradient[layout.biasOffset + j] += gradB[j] }
        return (loss, totalWeight)
    }
}
