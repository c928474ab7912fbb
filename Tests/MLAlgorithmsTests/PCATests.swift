import Foundation
import MLCore
import Testing
@testable import MLAlgorithms

/// Rows of a rank-`rank` signal plus isotropic noise, with a large common offset (so centring matters).
func lowRankRows<T: BLASScalar>(rows n: Int, features d: Int, rank: Int, noise: Double, offset: Double = 50, seed: UInt64,
                                as: T.Type = T.self) -> Matrix<T> {
    var random = RandomStream(seed: seed)
    var basis = [Double](repeating: 0, count: rank * d)
    for i in basis.indices { basis[i] = random.standardNormal() }
    var x = Matrix<T>(rows: n, columns: d)
    for i in 0..<n {
        var z = [Double](repeating: 0, count: rank)
        for r in 0..<rank { z[r] = random.standardNormal() * Double(rank - r) * 3 }
        for j in 0..<d {
            var v = offset + Double(j) * 0.1 + noise * random.standardNormal()
            for r in 0..<rank { v += z[r] * basis[r * d + j] }
            x[i, j] = T(v)
        }
    }
    return x
}

func pcaHyperparameters(_ strings: [String: String]) throws -> PCAHyperparameters {
    try PCAHyperparameters(strings: strings)
}

/// The largest principal angle (radians) between the column spaces of two d×k bases with
/// (nearly) orthonormal columns: asin of the spectral norm of A − B·(BᵀA), the part of A outside
/// B's span. (acos of the smallest cosine cannot resolve angles below ~1e-4: cos θ ≈ 1 − θ²/2.)
func largestPrincipalAngle(_ a: Matrix<Double>, _ b: Matrix<Double>) throws -> Double {
    var a = a
    for c in 0..<a.columns {
        var norm = 0.0
        for i in 0..<a.rows { norm += a[i, c] * a[i, c] }
        for i in 0..<a.rows { a[i, c] /= norm.squareRoot() }
    }
    let projection = try BLAS.matmul(b, try BLAS.matmul(b, a, transposeA: .transpose))
    var residual = a
    for i in 0..<a.rows { for c in 0..<a.columns { residual[i, c] -= projection[i, c] } }
    let s = try LAPACK.gesdd(residual, vectors: .none).s
    return asin(min(1, s.max() ?? 0))
}

extension Matrix {
    /// Columns `range` as a new matrix.
    func columns(_ range: Range<Int>) -> Matrix<T> {
        var out = Matrix<T>(rows: rows, columns: range.count)
        for i in 0..<rows { for (c, j) in range.enumerated() { out[i, c] = self[i, j] } }
        return out
    }
}

extension Matrix where T == Float {
    var asDouble: Matrix<Double> {
        var out = Matrix<Double>(rows: rows, columns: columns)
        for i in 0..<rows { for j in 0..<columns { out[i, j] = Double(self[i, j]) } }
        return out
    }
}

@Suite("PCA hyperparameters")
struct PCAHyperparametersTests {
    @Test("required values, defaults, extra_components −1 and the rules that tie values together")
    func parsing() throws {
        let p = try pcaHyperparameters(["feature_dim": "20", "num_components": "3", "mini_batch_size": "50"])
        #expect(p.mode == .regular && p.subtractMean && p.extraComponents == 10 && p.sketchRows == 13)
        let q = try pcaHyperparameters(["feature_dim": "100", "num_components": "30", "mini_batch_size": "50", "algorithm_mode": "randomized"])
        #expect(q.extraComponents == 30 && q.sketchRows == 60)
        #expect(throws: HyperparameterError.invalid(name: "num_components", value: "21", rule: "at most feature_dim (20): there are only 20 directions to find")) {
            _ = try pcaHyperparameters(["feature_dim": "20", "num_components": "21", "mini_batch_size": "50"])
        }
        #expect(throws: HyperparameterError.self) { _ = try pcaHyperparameters(["feature_dim": "20", "mini_batch_size": "50"]) }
        #expect(throws: HyperparameterError.self) {
            _ = try pcaHyperparameters(["feature_dim": "20", "num_components": "2", "mini_batch_size": "50", "algorithm_mode": "fast"])
        }
        #expect(throws: HyperparameterError.invalid(name: "extra_components", value: "5", rule: "only for algorithm_mode randomized")) {
            _ = try pcaHyperparameters(["feature_dim": "20", "num_components": "2", "mini_batch_size": "50", "extra_components": "5"])
        }
        // What the SDK sends (Tests/Fixtures/sdk-hyperparameters/pca.json) and the hidden values SageMaker adds.
        _ = try pcaHyperparameters(["algorithm_mode": "regular", "feature_dim": "5", "mini_batch_size": "50", "num_components": "2",
                                    "subtract_mean": "True", "epochs": "1", "force_dense": "True", "_kvstore": "dist_sync"])
    }

    /// docs/algorithms/pca.md's table is generated from the definitions. Regenerate with
    /// `MLCORE_UPDATE_DOCS=1 swift test -c release --filter PCAHyperparametersTests`.
    @Test func documentationTableMatchesTheDefinitions() throws {
        try checkGeneratedTable(doc: "docs/algorithms/pca.md", definitions: PCAHyperparameters.definitions, source: "PCAHyperparameters.definitions",
                                filter: "PCAHyperparametersTests")
    }
}

/// Replaces or checks the generated hyperparameter table of `doc`.
func checkGeneratedTable(doc: String, definitions: [HyperparameterDefinition], source: String, filter: String) throws {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent(doc)
    let table = HyperparameterDefinition.markdownTable(definitions)
    let begin = "<!-- hyperparameters:begin (generated from \(source)) -->\n"
    let end = "<!-- hyperparameters:end -->"
    var text = try String(contentsOf: url, encoding: .utf8)
    guard let a = text.range(of: begin), let b = text.range(of: end), a.upperBound <= b.lowerBound else {
        Issue.record("\(url.path) lacks the generated-table markers")
        return
    }
    if ProcessInfo.processInfo.environment["MLCORE_UPDATE_DOCS"] == "1" {
        text.replaceSubrange(a.upperBound..<b.lowerBound, with: table)
        try text.write(to: url, atomically: true, encoding: .utf8)
    } else {
        #expect(String(text[a.upperBound..<b.lowerBound]) == table, "regenerate: MLCORE_UPDATE_DOCS=1 swift test -c release --filter \(filter)")
    }
}

@Suite("PCA")
struct PCATests {
    @Test("regular mode in Double matches LAPACK's SVD of the centred data: subspace angle < 1e-5, and the eigen invariants hold")
    func regularDoubleMatchesSVD() throws {
        let n = 3000, d = 24, k = 5
        let x: Matrix<Double> = lowRankRows(rows: n, features: d, rank: 6, noise: 0.5, seed: 1)
        let model = try PCATrainer(hyperparameters: try pcaHyperparameters(["feature_dim": "\(d)", "num_components": "\(k)", "mini_batch_size": "100"])).fit(x)
        // The oracle: SVD of the explicitly centred data.
        var centred = x
        for j in 0..<d {
            var mean = 0.0
            for i in 0..<n { mean += x[i, j] }
            mean /= Double(n)
            for i in 0..<n { centred[i, j] -= mean }
        }
        let (_, s, vt) = try LAPACK.gesdd(centred, vectors: .thin)
        let reference = try #require(vt).transposed().columns(0..<k)
        // Our components in Double: the model stores Float; refit the scatter in Double for the comparison.
        let components = model.components.asDouble
        // The model stores Float components: rounding them moves the subspace by ~1e-7.
        #expect(try largestPrincipalAngle(components, reference) < 1e-5)
        for c in 0..<k {
            #expect(abs(Double(model.singularValues[c]) - s[c]) / s[c] < 1e-5)
            #expect(abs(Double(model.explainedVariance[c]) - s[c] * s[c] / Double(n - 1)) / (s[c] * s[c] / Double(n - 1)) < 1e-5)
        }
        // The Double result before narrowing: exact invariants on the covariance.
        let hp = try pcaHyperparameters(["feature_dim": "\(d)", "num_components": "\(k)", "mini_batch_size": "100"])
        let trainer = PCATrainer(hyperparameters: hp)
        var scratch: [Double] = []
        let scatter = try #require(x.withUnsafeBufferPointer { PCAScatter.of(rows: n, features: d, x: $0.baseAddress!, scratch: &scratch) })
        let cov = try Matrix(rows: d, columns: d, elements: scatter.scatter.map { $0 / Double(n - 1) })
        let (values, vectors) = try LAPACK.syevd(cov)
        let v = try #require(vectors)
        let top = v.columns((d - k)..<d)
        #expect(try largestPrincipalAngle(top, reference) < 1e-5)
        let av = try BLAS.matmul(cov, top)
        for c in 0..<k {
            let lambda = values[d - k + c]
            for i in 0..<d { #expect(abs(av[i, c] - lambda * top[i, c]) < 1e-9 * max(1, lambda)) }
        }
        let gram = try BLAS.matmul(top, top, transposeA: .transpose)
        for i in 0..<k { for j in 0..<k { #expect(abs(gram[i, j] - (i == j ? 1 : 0)) < 1e-12) } }
        _ = trainer
    }

    @Test("regular mode in Float (the product's path): subspace angle < 1e-3 with a large offset in the data")
    func regularFloat() throws {
        let n = 5000, d = 30, k = 4
        let x: Matrix<Double> = lowRankRows(rows: n, features: d, rank: 4, noise: 0.3, offset: 1000, seed: 2)
        var xf = Matrix<Float>(rows: n, columns: d)
        for i in 0..<n { for j in 0..<d { xf[i, j] = Float(x[i, j]) } }
        let hp = try pcaHyperparameters(["feature_dim": "\(d)", "num_components": "\(k)", "mini_batch_size": "100"])
        let model = try PCATrainer(hyperparameters: hp, workers: 2).fit(.dense(xf)).model
        let exact = try PCATrainer(hyperparameters: hp).fit(xf.asDouble)
        #expect(try largestPrincipalAngle(model.components.asDouble, exact.components.asDouble) < 1e-3)
        for c in 0..<k { #expect(abs(model.explainedVariance[c] - exact.explainedVariance[c]) / exact.explainedVariance[c] < 1e-3) }
    }

    struct DigitsReference: Decodable {
        var n_components: Int
        var explained_variance: [Double]
        var explained_variance_ratio: [Double]
        var singular_values: [Double]
        var mean: [Double]
        var components: [[Double]]
    }

    @Test("scikit-learn's PCA on digits: explained variance within 1e-4 relative, same components and signs")
    func digitsAgainstScikitLearn() throws {
        let base = try #require(Bundle.module.resourceURL).appendingPathComponent("Fixtures")
        let x = try NPYReader<Float>.readMatrix(path: base.appendingPathComponent("digits_x.npy").path)
        let reference = try JSONDecoder().decode(DigitsReference.self, from: Data(contentsOf: base.appendingPathComponent("pca_digits_reference.json")))
        let k = reference.n_components
        let hp = try pcaHyperparameters(["feature_dim": "64", "num_components": "\(k)", "mini_batch_size": "500"])
        let model = try PCATrainer(hyperparameters: hp, workers: 2).fit(.dense(x)).model
        for c in 0..<k {
            #expect(abs(Double(model.explainedVariance[c]) - reference.explained_variance[c]) / reference.explained_variance[c] < 1e-4, "component \(c)")
            #expect(abs(Double(model.explainedVarianceRatio[c]) - reference.explained_variance_ratio[c]) / reference.explained_variance_ratio[c] < 1e-4)
            #expect(abs(Double(model.singularValues[c]) - reference.singular_values[c]) / reference.singular_values[c] < 1e-4)
            for j in 0..<64 { #expect(abs(Double(model.components[j, c]) - reference.components[c][j]) < 1e-3, "component \(c), feature \(j)") }
        }
        for j in 0..<64 { #expect(abs(Double(model.mean[j]) - reference.mean[j]) < 1e-4) }
    }

    @Test("randomized mode: within 1% of the exact explained variance on low-rank-plus-noise data")
    func randomizedMatchesExact() throws {
        let n = 6000, d = 80, k = 6
        let x: Matrix<Float> = lowRankRows(rows: n, features: d, rank: 6, noise: 0.2, seed: 3)
        let exact = try PCATrainer(hyperparameters: try pcaHyperparameters(["feature_dim": "\(d)", "num_components": "\(k)", "mini_batch_size": "100"]))
            .fit(.dense(x)).model
        let hp = try pcaHyperparameters(["feature_dim": "\(d)", "num_components": "\(k)", "mini_batch_size": "100", "algorithm_mode": "randomized"])
        let result = try PCATrainer(hyperparameters: hp, seed: 9).fit(.dense(x))
        #expect(result.passSeconds.count == 2)
        for c in 0..<k {
            #expect(abs(result.model.explainedVariance[c] - exact.explainedVariance[c]) / exact.explainedVariance[c] < 0.01, "component \(c)")
        }
        let total = result.model.explainedVariance.reduce(0, +), exactTotal = exact.explainedVariance.reduce(0, +)
        #expect(abs(total - exactTotal) / exactTotal < 0.01)
        #expect(try largestPrincipalAngle(result.model.components.asDouble, exact.components.asDouble) < 0.05)
        #expect(abs(result.model.explainedVarianceRatio.reduce(0, +) - exact.explainedVarianceRatio.reduce(0, +)) < 0.01)
    }

    @Test("the same bits for 1, 2 and 3 workers and whatever batch sizes the reader delivers", arguments: PCAMode.allCases)
    func workerAndChunkInvariance(mode: PCAMode) throws {
        let x: Matrix<Float> = lowRankRows(rows: 9000, features: 12, rank: 3, noise: 1, seed: 4)
        let hp = try pcaHyperparameters(["feature_dim": "12", "num_components": "3", "mini_batch_size": "10", "algorithm_mode": mode.rawValue])
        let one = try PCATrainer(hyperparameters: hp, workers: 1).fit(.dense(x)).model
        for workers in [2, 3] {
            #expect(try PCATrainer(hyperparameters: hp, workers: workers).fit(.dense(x)).model == one)
        }
        let chunked = try PCATrainer(hyperparameters: hp, workers: 2).fit(channel: "train", passes: { _ in MatrixSource(.dense(x), chunkRows: 777) })
        #expect(chunked.model == one)
    }

    @Test("subtract_mean=false: the components of the uncentred second moment Σxxᵀ, projections without centring")
    func withoutCentring() throws {
        let n = 2000, d = 10
        let x: Matrix<Float> = lowRankRows(rows: n, features: d, rank: 2, noise: 0.5, offset: 3, seed: 5)
        let hp = try pcaHyperparameters(["feature_dim": "\(d)", "num_components": "2", "mini_batch_size": "10", "subtract_mean": "false"])
        let model = try PCATrainer(hyperparameters: hp).fit(.dense(x)).model
        #expect(model.mean.allSatisfy { $0 == 0 } && !model.subtractMean)
        let xd = x.asDouble
        let (values, vectors) = try LAPACK.syevd(try BLAS.matmul(xd, xd, transposeA: .transpose))
        let top = try #require(vectors).columns((d - 2)..<d)
        #expect(try largestPrincipalAngle(model.components.asDouble, top) < 1e-3)
        #expect(abs(Double(model.singularValues[0]) - values[d - 1].squareRoot()) / values[d - 1].squareRoot() < 1e-4)
    }

    @Test("projection is (x − mean)·V: GEMM path, sparse path and the naive loop agree")
    func projection() throws {
        let x: Matrix<Float> = lowRankRows(rows: 500, features: 9, rank: 3, noise: 1, seed: 6)
        let model = try PCATrainer(hyperparameters: try pcaHyperparameters(["feature_dim": "9", "num_components": "3", "mini_batch_size": "10"]))
            .fit(.dense(x)).model
        let fast = try model.project(x)
        var offsets = [0], columns: [Int32] = [], values: [Float] = []
        for i in 0..<x.rows {
            for j in 0..<9 where j % 3 != 1 { columns.append(Int32(j)); values.append(x[i, j]) }
            offsets.append(columns.count)
        }
        let sparse = try SparseMatrix(rows: x.rows, columns: 9, rowOffsets: offsets, columnIndices: columns, values: values)
        var sparseOut = [Float](repeating: 0, count: x.rows * 3)
        sparseOut.withUnsafeMutableBufferPointer { model.project(sparse: sparse, into: $0.baseAddress!) }
        let denseOfSparse = try model.project(sparse.dense())
        for i in 0..<x.rows {
            for c in 0..<3 {
                var naive = 0.0
                for j in 0..<9 { naive += (Double(x[i, j]) - Double(model.mean[j])) * Double(model.components[j, c]) }
                #expect(abs(Double(fast[i, c]) - naive) < 1e-3 * max(1, abs(naive)))
                #expect(abs(sparseOut[i * 3 + c] - denseOfSparse[i, c]) < 1e-3 * max(1, abs(denseOfSparse[i, c])))
            }
        }
    }

    @Test("bad input: NaN rows and wrong feature counts are typed errors naming the row and column; one row is too few")
    func badInput() throws {
        var x: Matrix<Float> = lowRankRows(rows: 100, features: 5, rank: 2, noise: 1, seed: 7)
        x[41, 3] = -.infinity
        let hp = try pcaHyperparameters(["feature_dim": "5", "num_components": "2", "mini_batch_size": "10"])
        #expect(throws: UnsupervisedDataError.nonFinite(channel: "train", row: 42, column: 4, value: -.infinity)) {
            _ = try PCATrainer(hyperparameters: hp).fit(.dense(x))
        }
        let wide = Matrix<Float>(rows: 10, columns: 6, repeating: 1)
        #expect(throws: UnsupervisedDataError.featureCount(channel: "train", expected: 5, found: 6)) {
            _ = try PCATrainer(hyperparameters: hp).fit(.dense(wide))
        }
        #expect(throws: UnsupervisedDataError.self) { _ = try PCATrainer(hyperparameters: hp).fit(.dense(Matrix<Float>(rows: 1, columns: 5))) }
        #expect(throws: UnsupervisedDataError.emptyChannel(channel: "train")) {
            _ = try PCATrainer(hyperparameters: hp).fit(.dense(Matrix<Float>(rows: 0, columns: 5)))
        }
    }

    @Test("cancellation stops after the current step with a model of the rows read so far (randomized: from the sketch alone)",
          arguments: PCAMode.allCases)
    func cancellation(mode: PCAMode) throws {
        let x: Matrix<Float> = lowRankRows(rows: 300_000, features: 30, rank: 1, noise: 0.3, seed: 8)
        let flag = CancellationFlag()
        let hp = try pcaHyperparameters(["feature_dim": "30", "num_components": "1", "mini_batch_size": "10", "algorithm_mode": mode.rawValue])
        let result = try PCATrainer(hyperparameters: hp).fit(channel: "train", passes: { _ in MatrixSource(.dense(x)) }, cancellation: flag,
                                                             progress: { _, _ in flag.cancel() })
        #expect(result.cancelled && result.rows == PCATrainer.shardRows(features: 30) * PCATrainer.stepShards)
        #expect(result.model.explainedVariance.allSatisfy { $0.isFinite && $0 > 0 })
        // Regular mode: the rows read so far, summarized exactly, give nearly the full data's
        // variance. Randomized mode stopped before its exact pass: the sketch's own estimate,
        // whose spread with ℓ = 11 sketch rows is large — only its direction is checked.
        let full = try PCATrainer(hyperparameters: try pcaHyperparameters(["feature_dim": "30", "num_components": "1", "mini_batch_size": "10"])).fit(.dense(x)).model
        if mode == .regular {
            #expect(abs(result.model.explainedVariance[0] - full.explainedVariance[0]) / full.explainedVariance[0] < 0.02)
        }
        let cosine = abs((0..<30).reduce(Float(0)) { $0 + result.model.components[$1, 0] * full.components[$1, 0] })
        #expect(cosine > 0.99)
    }

    @Test("model.safetensors + model.json round-trip; a model.json that lies is refused")
    func artifacts() throws {
        let x: Matrix<Float> = lowRankRows(rows: 300, features: 7, rank: 2, noise: 1, seed: 9)
        let model = try PCATrainer(hyperparameters: try pcaHyperparameters(["feature_dim": "7", "num_components": "3", "mini_batch_size": "10"]))
            .fit(.dense(x)).model
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pca-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try model.save(to: directory)
        #expect(try PCAModel.load(from: directory) == model)
        var json = try String(contentsOfFile: directory + "/model.json", encoding: .utf8)
        json = json.replacingOccurrences(of: "\"num_components\" : 3", with: "\"num_components\" : 4")
        try json.write(toFile: directory + "/model.json", atomically: true, encoding: .utf8)
        #expect(throws: ArtifactError.self) { _ = try PCAModel.load(from: directory) }
    }
}

@Suite("Ordered merge")
struct OrderedMergeTests {
    @Test("any count merges every partial in order; 2ᵏ partials take exactly the balanced pairwise tree")
    func shape() {
        for count in 1...40 {
            var merge = OrderedMerge<String> { "(\($0)+\($1))" }
            for i in 0..<count { merge.push(String(i)) }
            let result = merge.finish() ?? ""
            #expect(result.filter { $0.isNumber || $0 == "+" }.split(separator: "+").map(String.init) == (0..<count).map(String.init))
            if count & (count - 1) == 0 {
                #expect(result == DeterministicReduction.treeCombine((0..<count).map(String.init)) { "(\($0)+\($1))" })
            }
        }
        #expect(OrderedMerge<Int>(+).finish() == nil)
    }
}
