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

    /// `S = X·W + b` (rows × outputs) into `scores`, W read in place from the flat `parameters`
    /// (`includeBias: false` leaves out `b`, for callers that add it in their own loop).
    /// One BLAS call on the calling thread — `gemv` for one output (no packing, which is most
    /// of a `gemm`'s time at this shape), `gemm` for several; `scores` is reshaped if needed.
    /// `x` must have ``features`` columns (callers check, since they know what to name in the error).
    public func scores<T: BLASScalar>(_ x: Matrix<T>, parameters: [T], into scores: inout Matrix<T>, includeBias: Bool = true) throws {
        let n = x.rows, d = features, k = outputs
        if scores.rows != n || scores.columns != k { scores = Matrix(rows: n, columns: k) }
        guard n > 0, d > 0 else {
            if includeBias { try scores.addToEachRow(Array(parameters[biasOffset..<count])) }
            return
        }
        try x.withUnsafeBufferPointer { px in
            try parameters.withUnsafeBufferPointer { pw in
                try scores.withUnsafeMutableBufferPointer { ps in
                    // invariant: n, d, k > 0 here, so every buffer has a base address
                    let a = px.baseAddress!, w = pw.baseAddress!, s = ps.baseAddress!
                    if k == 1 {
                        try BLAS.gemv(m: n, n: d, alpha: 1, a: a, lda: d, x: w, beta: 0, y: s)
                    } else {
                        try BLAS.gemm(m: n, n: k, k: d, alpha: 1, a: a, lda: d, b: w, ldb: k, beta: 0, c: s, ldc: k)
                    }
                    if includeBias {
                        for i in 0..<n {
                            for j in 0..<k { s[i * k + j] += w[biasOffset + j] }
                        }
                    }
                }
            }
        }
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

        try layout.scores(x, parameters: parameters, into: &scratch, includeBias: false)

        // Loss, and S becomes R = wᵢ·∂ℓ/∂s in place; ∂b = Σᵢ Rᵢ summed on the way.
        var loss = 0.0, totalWeight = 0.0
        var gradB = [Double](repeating: 0, count: k)
        let bias = parameters[layout.biasOffset..<layout.count].map { Double($0) }
        try scratch.withUnsafeMutableBufferPointer { s in
            for i in 0..<n {
                let wi = Double(weights?[i] ?? 1)
                let y = Double(labels[i])
                totalWeight += wi
                switch self {
                case .logistic:
                    guard y == 0 || y == 1 else { throw LabelError(row: i, label: y, rule: "binary labels are 0 or 1") }
                    let z = Double(s[i]) + bias[0]
                    // σ(z) from the same e^{−|z|} as the loss: one exp per row instead of two.
                    let rowLoss: Double, p: Double
                    if T.self == Float.self {
                        // Float parameters: the score is a Float, so single-precision exp and
                        // log1p lose nothing that matters and cost half as much.
                        let zf = Float(z), e = exp(-abs(zf))
                        rowLoss = Double(max(zf, 0) - Float(y) * zf + log1p(e))
                        p = Double(zf >= 0 ? 1 / (1 + e) : e / (1 + e))
                    } else {
                        let e = exp(-abs(z))
                        rowLoss = max(z, 0) - y * z + log1p(e)
                        p = z >= 0 ? 1 / (1 + e) : e / (1 + e)
                    }
                    loss += wi * rowLoss
                    let r = T(wi * (p - y))
                    s[i] = r
                    gradB[0] += Double(r)
                case .softmax(let classes):
                    guard y >= 0, y < Double(classes), y == y.rounded() else {
                        throw LabelError(row: i, label: y, rule: "multiclass labels are 0 … \(classes - 1)")
                    }
                    let row = i * k
                    var m = -Double.infinity
                    for j in 0..<k { m = max(m, Double(s[row + j]) + bias[j]) }
                    var total = 0.0
                    for j in 0..<k { total += exp(Double(s[row + j]) + bias[j] - m) }
                    let label = Int(y)
                    loss += wi * (m + log(total) - (Double(s[row + label]) + bias[label]))
                    for j in 0..<k {
                        let p = exp(Double(s[row + j]) + bias[j] - m) / total
                        let r = T(wi * (p - (j == label ? 1 : 0)))
                        s[row + j] = r
                        gradB[j] += Double(r)
                    }
                case .squared:
                    let residual = Double(s[i]) + bias[0] - y
                    loss += wi * residual * residual / 2
                    let r = T(wi * residual)
                    s[i] = r
                    gradB[0] += Double(r)
                }
            }
        }

        // ∇W += Xᵀ·R into the flat buffer in place.
        try x.withUnsafeBufferPointer { px in
            try scratch.withUnsafeBufferPointer { pr in
                try gradient.withUnsafeMutableBufferPointer { pg in
                    // invariant: n, d, k > 0 here, so every buffer has a base address
                    let a = px.baseAddress!, r = pr.baseAddress!, g = pg.baseAddress!
                    if k == 1 {
                        try BLAS.gemv(transpose: .transpose, m: n, n: d, alpha: 1, a: a, lda: d, x: r, beta: 1, y: g)
                    } else {
                        try BLAS.gemm(transposeA: .transpose, m: d, n: k, k: n, alpha: 1, a: a, lda: d,
                                      b: r, ldb: k, beta: 1, c: g, ldc: k)
                    }
                }
            }
        }
        for j in 0..<k { gradient[layout.biasOffset + j] += T(gradB[j]) }
        return (loss, totalWeight)
    }
}
