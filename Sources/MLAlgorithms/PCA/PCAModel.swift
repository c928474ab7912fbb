import Foundation
import MLCore

/// A trained PCA: `num_components` principal directions, their singular values and variances,
/// and the mean that was subtracted. Projection = (x − mean)·components.
///
/// Components are stored in **descending** order of singular value (column 0 is the largest),
/// as scikit-learn orders them and as users read them. SageMaker's MXNet artifact stores them
/// ascending (reference §4.2); docs/algorithms/pca.md says so. Each component's sign is fixed so
/// its largest-magnitude entry is positive (scikit-learn's convention for `components_`), which
/// makes the artifact deterministic.
public struct PCAModel: Sendable, Equatable {
    /// feature_dim × num_components; column c is component c.
    public var components: Matrix<Float>
    public var singularValues: [Float]
    /// Eigenvalue / (n − 1), as scikit-learn's `explained_variance_`.
    public var explainedVariance: [Float]
    /// Explained variance over the total variance of the data.
    public var explainedVarianceRatio: [Float]
    /// Zeros when `subtract_mean` was false.
    public var mean: [Float]
    public var subtractMean: Bool
    public var mode: PCAMode
    /// Rows the model was trained on.
    public var rows: Int

    public var features: Int { components.rows }
    public var componentCount: Int { components.columns }

    /// Builds the model from Double results: signs fixed, values narrowed to Float.
    static func make(components: [Double], features d: Int, eigenvalues: [Double], rows: Int, total: Double, mean: [Double],
                     subtractMean: Bool, mode: PCAMode) -> PCAModel {
        let k = eigenvalues.count
        var c = components
        for j in 0..<k {
            var best = 0
            for i in 0..<d where abs(c[i * k + j]) > abs(c[best * k + j]) { best = i }
            if c[best * k + j] < 0 { for i in 0..<d { c[i * k + j] = -c[i * k + j] } }
        }
        let dof = Double(max(1, rows - 1))
        // invariant: d × k elements by construction
        let matrix = try! Matrix(rows: d, columns: k, elements: c.map(Float.init)) // invariant: see above
        return PCAModel(components: matrix, singularValues: eigenvalues.map { Float($0.squareRoot()) },
                        explainedVariance: eigenvalues.map { Float($0 / dof) },
                        explainedVarianceRatio: eigenvalues.map { Float(total > 0 ? $0 / total : 0) },
                        mean: mean.map(Float.init), subtractMean: subtractMean, mode: mode, rows: rows)
    }

    public init(components: Matrix<Float>, singularValues: [Float], explainedVariance: [Float], explainedVarianceRatio: [Float],
                mean: [Float], subtractMean: Bool, mode: PCAMode, rows: Int) {
        self.components = components
        self.singularValues = singularValues
        self.explainedVariance = explainedVariance
        self.explainedVarianceRatio = explainedVarianceRatio
        self.mean = mean
        self.subtractMean = subtractMean
        self.mode = mode
        self.rows = rows
    }

    /// mean·components, subtracted from x·components so a projection never copies its rows.
    var meanProjection: [Float] {
        let d = features, k = componentCount
        var out = [Float](repeating: 0, count: k)
        guard subtractMean else { return out }
        components.withUnsafeBufferPointer { v in
            for i in 0..<d where mean[i] != 0 { for c in 0..<k { out[c] += mean[i] * v[i * k + c] } }
        }
        return out
    }

    /// Projects `rows` dense rows at `x` into `out` (rows × num_components).
    public func project(dense x: UnsafePointer<Float>, rows: Int, into out: UnsafeMutablePointer<Float>) throws(BLASError) {
        guard rows > 0 else { return }
        let d = features, k = componentCount
        let shift = meanProjection
        do {
            try components.withUnsafeBufferPointer { v in
                // invariant: d, k ≥ 1, so the storage is non-empty
                try BLAS.gemm(m: rows, n: k, k: d, alpha: 1, a: x, lda: d, b: v.baseAddress!, ldb: k, beta: 0, c: out, ldc: k) // invariant: see above
            }
        } catch let error as BLASError {
            throw error
        } catch {
            throw .shapeMismatch(routine: "project", detail: "\(error)")
        }
        if subtractMean { for i in 0..<rows { for c in 0..<k { out[i * k + c] -= shift[c] } } }
    }

    /// Projects sparse rows (only their non-zeros are read).
    public func project(sparse x: SparseMatrix<Float>, into out: UnsafeMutablePointer<Float>) {
        let k = componentCount
        let shift = meanProjection
        components.withUnsafeBufferPointer { v in
            x.withUnsafeBuffers { offsets, columns, values in
                for i in 0..<x.rows {
                    let o = out + i * k
                    for c in 0..<k { o[c] = -shift[c] }
                    for p in offsets[i]..<offsets[i + 1] {
                        let value = values[p], row = Int(columns[p]) * k
                        for c in 0..<k { o[c] += value * v[row + c] }
                    }
                }
            }
        }
    }

    /// Projects a matrix of rows.
    public func project(_ x: Matrix<Float>) throws(BLASError) -> Matrix<Float> {
        var out = Matrix<Float>(rows: x.rows, columns: componentCount)
        guard x.rows > 0 else { return out }
        guard x.columns == features else {
            throw .shapeMismatch(routine: "project", detail: "rows have \(x.columns) features, the model \(features)")
        }
        do {
            try x.withUnsafeBufferPointer { px in
                try out.withUnsafeMutableBufferPointer { po in
                    // invariant: non-empty matrices have storage
                    try project(dense: px.baseAddress!, rows: x.rows, into: po.baseAddress!) // invariant: see above
                }
            }
        } catch let error as BLASError {
            throw error
        } catch {
            throw .shapeMismatch(routine: "project", detail: "\(error)")
        }
        return out
    }
}

// MARK: Artifacts

extension PCAModel {
    /// `model.safetensors` + `model.json` format version.
    public static let formatVersion = 1

    /// Writes `model.safetensors` (F32 tensors `components` [feature_dim, num_components],
    /// `singular_values`, `explained_variance`, `explained_variance_ratio` [num_components],
    /// `mean` [feature_dim]) and `model.json`, each atomically.
    public func save(to directory: String) throws(ArtifactError) {
        let k = componentCount
        let file = Safetensors(tensors: [
            "components": .init(components),
            "singular_values": .init(singularValues, shape: [k]),
            "explained_variance": .init(explainedVariance, shape: [k]),
            "explained_variance_ratio": .init(explainedVarianceRatio, shape: [k]),
            "mean": .init(mean, shape: [features]),
        ], metadata: ["algorithm": "pca", "format_version": String(Self.formatVersion)])
        try file.write(to: directory + "/model.safetensors")
        try ModelJSON.write([
            "algorithm": "pca", "format_version": Self.formatVersion, "feature_dim": features, "num_components": k,
            "subtract_mean": subtractMean, "algorithm_mode": mode.rawValue, "rows": rows,
            "component_order": "descending",
        ], to: directory + "/model.json")
    }

    /// Loads what ``save(to:)`` wrote; every tensor's dtype and shape is checked.
    public static func load(from directory: String) throws(ArtifactError) -> PCAModel {
        let jsonPath = directory + "/model.json", tensorPath = directory + "/model.safetensors"
        guard let json = try ModelJSON.read(jsonPath), json["algorithm"] as? String == "pca", json["format_version"] as? Int == formatVersion,
              let d = json["feature_dim"] as? Int, let k = json["num_components"] as? Int, d > 0, k > 0, k <= d,
              let subtract = json["subtract_mean"] as? Bool,
              let mode = (json["algorithm_mode"] as? String).flatMap(PCAMode.init(rawValue:))
        else {
            throw .invalid(path: jsonPath, reason: "expected a pca model.json of format_version \(formatVersion) with feature_dim, num_components, subtract_mean and algorithm_mode")
        }
        let file = try Safetensors.read(path: tensorPath)
        let tensor = ModelJSON.tensorReader(file, path: tensorPath)
        let components = try tensor("components", [d, k])
        // invariant: the tensor reader checked the shape [d, k]
        let matrix = try! Matrix(rows: d, columns: k, elements: components) // invariant: see above
        return PCAModel(components: matrix,
                        singularValues: try tensor("singular_values", [k]), explainedVariance: try tensor("explained_variance", [k]),
                        explainedVarianceRatio: try tensor("explained_variance_ratio", [k]), mean: try tensor("mean", [d]),
                        subtractMean: subtract, mode: mode, rows: json["rows"] as? Int ?? 0)
    }
}
