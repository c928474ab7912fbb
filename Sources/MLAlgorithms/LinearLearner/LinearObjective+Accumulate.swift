import Foundation
import MLCore

extension LinearObjective {
    /// Adds `Σᵢ wᵢ·∇ℓᵢ` over the rows of `x` to `gradient`, each model's `Σᵢ wᵢ·ℓᵢ` to
    /// `modelLosses` (one entry per model of `layout`), and returns `Σᵢ wᵢ`, for the parameters
    /// in `parameters` laid out by `layout`.
    ///
    /// Scores of every model are one `gemm` (`X·W`), the weight gradient another (`Xᵀ·R`, R the
    /// rows' weighted ∂ℓ/∂s); `scratch` holds `rows × columns` scores and is reused between
    /// calls. BLAS runs on the calling thread (see DESIGN.md "Threads"): callers parallelize
    /// over micro-shards.
    public func accumulate<T: BLASScalar>(
        features x: Matrix<T>, labels: [T], weights: [T]?,
        parameters: [T], layout: LinearParameterLayout,
        gradient: inout [T], scratch: inout Matrix<T>, modelLosses: inout [Double]
    ) throws -> Double {
        try checkShapes(rows: x.rows, columns: x.columns, labels: labels, weights: weights, parameters: parameters,
                        layout: layout, gradient: gradient, modelLosses: modelLosses)
        let n = x.rows, d = layout.features, k = layout.columns
        if n == 0 { return 0 }
        try layout.scores(x, parameters: parameters, into: &scratch, includeBias: false)
        let totalWeight = try residuals(&scratch, labels: labels, weights: weights, parameters: parameters, layout: layout,
                                        gradient: &gradient, modelLosses: &modelLosses)
        // ∇W += Xᵀ·R into the flat buffer in place.
        try x.withUnsafeBufferPointer { px in
            try scratch.withUnsafeBufferPointer { pr in
                try gradient.withUnsafeMutableBufferPointer { pg in
                    // invariant: n, d, k > 0 here, so every buffer has a base address
                    let a = px.baseAddress!, r = pr.baseAddress!, g = pg.baseAddress! // invariant: see above
                    if k == 1 {
                        try BLAS.gemv(transpose: .transpose, m: n, n: d, alpha: 1, a: a, lda: d, x: r, beta: 1, y: g)
                    } else {
                        try BLAS.gemm(transposeA: .transpose, m: d, n: k, k: n, alpha: 1, a: a, lda: d,
                                      b: r, ldb: k, beta: 1, c: g, ldc: k)
                    }
                }
            }
        }
        return totalWeight
    }

    /// The same for CSR rows: only the rows' non-zeros are touched, in scoring and in the
    /// gradient (rows of `W` whose feature no row has are left as they are).
    public func accumulate<T: BLASScalar>(
        sparse x: SparseMatrix<T>, labels: [T], weights: [T]?,
        parameters: [T], layout: LinearParameterLayout,
        gradient: inout [T], scratch: inout Matrix<T>, modelLosses: inout [Double]
    ) throws -> Double {
        try checkShapes(rows: x.rows, columns: x.columns, labels: labels, weights: weights, parameters: parameters,
                        layout: layout, gradient: gradient, modelLosses: modelLosses)
        let n = x.rows, k = layout.columns
        if n == 0 { return 0 }
        layout.scores(x, parameters: parameters, into: &scratch, includeBias: false)
        let totalWeight = try residuals(&scratch, labels: labels, weights: weights, parameters: parameters, layout: layout,
                                        gradient: &gradient, modelLosses: &modelLosses)
        x.withUnsafeBuffers { offsets, indices, values in
            scratch.withUnsafeBufferPointer { r in
                gradient.withUnsafeMutableBufferPointer { g in
                    for i in 0..<n {
                        let row = i * k
                        for p in offsets[i]..<offsets[i + 1] {
                            let v = values[p], to = Int(indices[p]) * k
                            for j in 0..<k { g[to + j] += v * r[row + j] }
                        }
                    }
                }
            }
        }
        return totalWeight
    }

    /// The one- and several-model form of part 1: returns `(Σᵢ wᵢ·ℓᵢ summed over models, Σᵢ wᵢ)`.
    public func accumulate<T: BLASScalar>(
        features x: Matrix<T>, labels: [T], weights: [T]?,
        parameters: [T], layout: LinearParameterLayout,
        gradient: inout [T], scratch: inout Matrix<T>
    ) throws -> (loss: Double, weight: Double) {
        var losses = [Double](repeating: 0, count: layout.models)
        let weight = try accumulate(features: x, labels: labels, weights: weights, parameters: parameters, layout: layout,
                                    gradient: &gradient, scratch: &scratch, modelLosses: &losses)
        return (losses.reduce(0, +), weight)
    }

    private func checkShapes<T>(rows n: Int, columns: Int, labels: [T], weights: [T]?, parameters: [T], layout: LinearParameterLayout,
                                gradient: [T], modelLosses: [Double]) throws {
        let d = layout.features
        guard d > 0, layout.outputs == outputs, layout.models > 0, columns == d, labels.count == n,
              weights.map({ $0.count == n }) ?? true, parameters.count == layout.count, gradient.count == layout.count,
              modelLosses.count == layout.models
        else {
            throw ShapeError.mismatch(
                operation: "LinearObjective.accumulate",
                left: "x \(n)×\(columns), \(labels.count) labels, \(weights?.count ?? n) weights, \(parameters.count) parameters, "
                    + "\(modelLosses.count) model losses",
                right: "\(d) features × \(outputs) outputs × \(layout.models) models (\(layout.count) parameters)")
        }
    }

    /// Scores (without bias) → `R = wᵢ·∂ℓ/∂s` in place, per row and model; the losses into
    /// `modelLosses` and `∂b = Σᵢ Rᵢ` into the gradient's bias block. Returns `Σᵢ wᵢ`.
    private func residuals<T: BLASScalar>(
        _ scratch: inout Matrix<T>, labels: [T], weights: [T]?, parameters: [T], layout: LinearParameterLayout,
        gradient: inout [T], modelLosses: inout [Double]
    ) throws -> Double {
        let n = scratch.rows, k = layout.columns, models = layout.models
        var totalWeight = 0.0
        var gradB = [Double](repeating: 0, count: k)
        let bias = parameters[layout.biasOffset..<layout.count].map { Double($0) }
        try scratch.withUnsafeMutableBufferPointer { s in
            for i in 0..<n {
                let wi = Double(weights?[i] ?? 1)
                let y = Double(labels[i])
                totalWeight += wi
                if let rule = labelProblem(y) { throw LabelError(row: i, label: y, rule: rule) }
                let row = i * k
                switch self {
                case .logistic where T.self == Float.self:
                    // Float parameters: the score is a Float, so single-precision exp and log1p
                    // lose nothing that matters and cost half as much.
                    let yf = Float(y)
                    for m in 0..<models {
                        let zf = Float(Double(s[row + m]) + bias[m]), e = exp(-abs(zf))
                        // log(1 + e) for e ∈ (0, 1]: logf is much cheaper than log1pf, and rounding
                        // 1 + e costs at most 6e-8 absolute once e ≥ 1e-4; below, the series.
                        let softplus = e >= 1e-4 ? log(1 + e) : e * (1 - e / 2)
                        modelLosses[m] += wi * Double(max(zf, 0) - yf * zf + softplus)
                        let p = zf >= 0 ? 1 / (1 + e) : e / (1 + e)
                        let r = T(wi * Double(p - yf))
                        s[row + m] = r
                        gradB[m] += Double(r)
                    }
                case .softmax(let classes):
                    let label = Int(y)
                    for m in 0..<models {
                        let at = row + m * classes, b = m * classes
                        var top = -Double.infinity
                        for j in 0..<classes { top = max(top, Double(s[at + j]) + bias[b + j]) }
                        var total = 0.0
                        for j in 0..<classes { total += exp(Double(s[at + j]) + bias[b + j] - top) }
                        modelLosses[m] += wi * (top + log(total) - (Double(s[at + label]) + bias[b + label]))
                        for j in 0..<classes {
                            let p = exp(Double(s[at + j]) + bias[b + j] - top) / total
                            let r = T(wi * (p - (j == label ? 1 : 0)))
                            s[at + j] = r
                            gradB[b + j] += Double(r)
                        }
                    }
                default:
                    for m in 0..<models {
                        let (loss, slope) = lossAndSlope(score: Double(s[row + m]) + bias[m], label: y)
                        modelLosses[m] += wi * loss
                        let r = T(wi * slope)
                        s[row + m] = r
                        gradB[m] += Double(r)
                    }
                }
            }
        }
        for j in 0..<k { gradient[layout.biasOffset + j] += T(gradB[j]) }
        return totalWeight
    }
}
