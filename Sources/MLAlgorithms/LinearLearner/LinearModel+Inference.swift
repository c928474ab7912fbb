import Foundation
import MLCore

/// Prediction into caller-owned buffers, for the inference server: no allocation per request
/// beyond what the caller provides, dense rows through one BLAS call, sparse rows through their
/// non-zeros. ``predict(_:)`` is the reference these are tested against.
extension LinearModel {
    /// Values per row of `score`: one per class for multiclass, else one.
    public var scoreWidth: Int { predictorType == .multiclassClassifier ? layout.outputs : 1 }

    /// Whether responses carry `predicted_label` (classifiers do, regressors do not).
    public var hasPredictedLabel: Bool { predictorType != .regressor }

    /// Predicts `rows` dense rows stored row-major at `x` (``LinearParameterLayout/features``
    /// values each): `scores` receives rows × ``scoreWidth`` values, `labels` one per row
    /// (left untouched for regressors).
    public func predict(dense x: UnsafePointer<Float>, rows: Int,
                        scores: UnsafeMutablePointer<Float>, labels: UnsafeMutablePointer<Float>) throws {
        guard rows > 0 else { return }
        let d = layout.features, k = layout.outputs
        try parameters.withUnsafeBufferPointer { pw in
            // invariant: a model has at least one parameter (its bias), so the base address exists
            let w = pw.baseAddress! // invariant: see above
            if k == 1 {
                try BLAS.gemv(m: rows, n: d, alpha: 1, a: x, lda: d, x: w, beta: 0, y: scores)
            } else {
                try BLAS.gemm(m: rows, n: k, k: d, alpha: 1, a: x, lda: d, b: w, ldb: k, beta: 0, c: scores, ldc: k)
            }
            for i in 0..<rows {
                for j in 0..<k { scores[i * k + j] += w[layout.biasOffset + j] }
            }
        }
        finish(rawScores: scores, rows: rows, labels: labels)
    }

    /// Predicts the rows of a sparse matrix (``LinearParameterLayout/features`` columns): each
    /// score is the bias plus the weighted sum of the row's non-zeros.
    public func predict(sparse x: SparseMatrix<Float>, scores: UnsafeMutablePointer<Float>, labels: UnsafeMutablePointer<Float>) throws {
        guard x.columns == layout.features else {
            throw ShapeError.mismatch(operation: "LinearModel.predict", left: "\(x.columns) features", right: "the model's \(layout.features)")
        }
        let k = layout.outputs
        parameters.withUnsafeBufferPointer { w in
            for i in 0..<x.rows {
                for j in 0..<k { scores[i * k + j] = w[layout.biasOffset + j] }
                for n in x.rowOffsets[i]..<x.rowOffsets[i + 1] {
                    let column = Int(x.columnIndices[n]), value = x.values[n]
                    for j in 0..<k { scores[i * k + j] += value * w[column * k + j] }
                }
            }
        }
        finish(rawScores: scores, rows: x.rows, labels: labels)
    }

    /// Raw scores (X·W + b) → what responses carry, in place, with the same arithmetic as
    /// ``predict(_:)``: σ (or the raw score for hinge_loss) and the threshold for binary, softmax and arg-max for multiclass.
    private func finish(rawScores s: UnsafeMutablePointer<Float>, rows: Int, labels: UnsafeMutablePointer<Float>) {
        let k = layout.outputs
        switch predictorType {
        case .regressor:
            return
        case .binaryClassifier:
            for i in 0..<rows {
                let p = scoresAreProbabilities ? Float(sigmoid(Double(s[i]))) : s[i]
                labels[i] = p > threshold ? 1 : 0
                s[i] = p
            }
        case .multiclassClassifier:
            for i in 0..<rows {
                let row = s + i * k
                var best = 0, m = Double(row[0])
                for j in 1..<k {
                    if row[j] > row[best] { best = j }
                    m = max(m, Double(row[j]))
                }
                labels[i] = Float(best)
                var total = 0.0
                for j in 0..<k { total += exp(Double(row[j]) - m) }
                for j in 0..<k { row[j] = Float(exp(Double(row[j]) - m) / total) }
            }
        }
    }
}
