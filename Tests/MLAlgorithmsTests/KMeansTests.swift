import Foundation
import MLCore
import Testing
@testable import MLAlgorithms

/// `blobs` Gaussian blobs of `rows` rows in `d` dimensions (centres uniform in ±spread), shuffled.
func blobRows(rows n: Int, features d: Int, blobs: Int, spread: Double = 10, deviation: Double = 1, seed: UInt64) -> Matrix<Float> {
    var random = RandomStream(seed: seed)
    var centres = [Double](repeating: 0, count: blobs * d)
    for i in centres.indices { centres[i] = (random.nextDouble() * 2 - 1) * spread }
    var x = Matrix<Float>(rows: n, columns: d)
    for i in 0..<n {
        let b = Int(random.next() % UInt64(blobs))
        for j in 0..<d { x[i, j] = Float(centres[b * d + j] + deviation * random.standardNormal()) }
    }
    return x
}

func kmeansHyperparameters(_ strings: [String: String]) throws -> KMeansHyperparameters {
    try KMeansHyperparameters(strings: strings)
}

/// Σ squared distance of every row to its closest centre, in Double, by the direct loop.
func naiveInertia(_ x: Matrix<Float>, _ centres: Matrix<Float>) -> Double {
    var total = 0.0
    for i in 0..<x.rows {
        var best = Double.infinity
        for c in 0..<centres.rows {
            var t = 0.0
            for j in 0..<x.columns { t += pow(Double(x[i, j]) - Double(centres[c, j]), 2) }
            best = min(best, t)
        }
        total += best
    }
    return total
}

@Suite("K-means hyperparameters")
struct KMeansHyperparametersTests {
    @Test("defaults, auto values, eval_metrics as a JSON list in the string map, and refusals")
    func parsing() throws {
        let p = try kmeansHyperparameters(["feature_dim": "5", "k": "3"])
        #expect(p.epochs == 1 && p.miniBatchSize == 5000 && p.extraCenterFactor == 10 && p.localLloydTrials == 10)
        #expect(p.initMethod == .random && p.localLloydInitMethod == .kmeansPlusPlus && p.evalMetrics == [.msd] && p.streamingCentres == 30)
        // The SDK's map (Tests/Fixtures/sdk-hyperparameters/kmeans.json).
        let sdk = try kmeansHyperparameters(["epochs": "2", "eval_metrics": "[\"msd\", \"ssd\"]", "extra_center_factor": "2", "feature_dim": "5",
                                             "force_dense": "True", "init_method": "kmeans++", "k": "3", "local_lloyd_max_iter": "10",
                                             "local_lloyd_tol": "0.0001", "mini_batch_size": "100"])
        #expect(sdk.evalMetrics == [.msd, .ssd] && sdk.streamingCentres == 6 && sdk.initMethod == .kmeansPlusPlus)
        #expect(try kmeansHyperparameters(["feature_dim": "5", "k": "3", "eval_metrics": "ssd"]).evalMetrics == [.ssd])
        #expect(throws: HyperparameterError.self) { _ = try kmeansHyperparameters(["feature_dim": "5", "k": "3", "eval_metrics": "[\"mse\"]"]) }
        #expect(throws: HyperparameterError.self) { _ = try kmeansHyperparameters(["feature_dim": "5", "k": "3", "eval_metrics": "[]"]) }
        #expect(throws: HyperparameterError.self) { _ = try kmeansHyperparameters(["feature_dim": "5", "k": "0"]) }
        #expect(throws: HyperparameterError.self) { _ = try kmeansHyperparameters(["feature_dim": "5", "k": "3", "local_lloyd_tol": "2"]) }
        #expect(throws: HyperparameterError.self) { _ = try kmeansHyperparameters(["k": "3"]) }
    }

    /// docs/algorithms/kmeans.md's table is generated from the definitions. Regenerate with
    /// `MLCORE_UPDATE_DOCS=1 swift test -c release --filter KMeansHyperparametersTests`.
    @Test func documentationTableMatchesTheDefinitions() throws {
        try checkGeneratedTable(doc: "docs/algorithms/kmeans.md", definitions: KMeansHyperparameters.definitions,
                                source: "KMeansHyperparameters.definitions", filter: "KMeansHyperparametersTests")
    }
}

@Suite("K-means")
struct KMeansTests {
    @Test("the GEMM assignment kernel agrees with the direct loop", arguments: [1, 7, 64, 300])
    func assignmentKernel(k: Int) throws {
        let x = blobRows(rows: 1000, features: 13, blobs: 5, seed: UInt64(k))
        let c = blobRows(rows: k, features: 13, blobs: 5, seed: UInt64(k) + 100)
        let centres = KMeansCentres(c)
        var labels = [Int32](repeating: 0, count: x.rows), distances = [Float](repeating: 0, count: x.rows), scratch: [Float] = []
        x.withUnsafeBufferPointer { xb in
            labels.withUnsafeMutableBufferPointer { l in
                distances.withUnsafeMutableBufferPointer { d in
                    centres.assign(rows: x.rows, x: xb.baseAddress!, labels: l.baseAddress!, distances: d.baseAddress!, scratch: &scratch)
                }
            }
        }
        for i in 0..<x.rows {
            let (label, distance) = x.withUnsafeBufferPointer { centres.nearest($0.baseAddress! + i * 13) }
            if Int(labels[i]) != label {
                // Only a near-tie may differ: the expanded formula rounds differently.
                let other = x.withUnsafeBufferPointer { xb -> Float in
                    var t: Float = 0
                    for j in 0..<13 { t += pow(xb[i * 13 + j] - c[Int(labels[i]), j], 2) }
                    return t
                }
                #expect(abs(other - distance) <= 1e-3 * max(1, distance), "row \(i)")
            }
            #expect(abs(distances[i] - distance) <= 1e-3 * max(1, distance), "row \(i)")
        }
    }

    struct LloydReference: Decodable {
        struct Run: Decodable {
            var max_iter: Int
            var centers: [[Double]]
            var inertia: Double
            var n_iter: Int
            var labels: [Int32]
        }
        var k: Int
        var runs: [Run]
    }

    @Test("full-batch Lloyd from the same initial centres gives scikit-learn's centres, inertia and labels after the same iterations")
    func lloydAgainstScikitLearn() throws {
        let base = try #require(Bundle.module.resourceURL).appendingPathComponent("Fixtures")
        let x = try NPYReader<Float>.readMatrix(path: base.appendingPathComponent("kmeans_blobs_x.npy").path)
        let initial = try NPYReader<Float>.readMatrix(path: base.appendingPathComponent("kmeans_blobs_init.npy").path)
        let reference = try JSONDecoder().decode(LloydReference.self, from: Data(contentsOf: base.appendingPathComponent("kmeans_lloyd_reference.json")))
        for run in reference.runs {
          for method in [KMeansLloyd.Method.plain, .bounded] {
            let result = try KMeansLloyd.run(x, initial: initial, maxIterations: run.max_iter, tolerance: .centreShift(0), workers: 2, method: method)
            #expect(result.iterations == run.n_iter, "max_iter \(run.max_iter)")
            #expect(abs(result.inertia - run.inertia) / run.inertia < 1e-4, "max_iter \(run.max_iter): \(result.inertia) vs \(run.inertia)")
            #expect(result.labels == run.labels, "max_iter \(run.max_iter)")
            for c in 0..<reference.k {
                for j in 0..<x.columns {
                    let expected = run.centers[c][j]
                    #expect(abs(Double(result.centres[c, j]) - expected) <= 1e-4 * max(1, abs(expected)), "max_iter \(run.max_iter) centre \(c)")
                }
            }
          }
        }
    }

    @Test("Hamerly's bounds give plain Lloyd's iterates: the same labels and iterations, inertia within 1e-6, far fewer rows measured",
          arguments: [2, 16, 60])
    func boundedEqualsPlain(k: Int) throws {
        let x = blobRows(rows: 40000, features: 7, blobs: 20, seed: UInt64(k))
        let initial = x.rows(0..<k)  // rows drawn at random: some centres start in the same blob
        let plain = try KMeansLloyd.run(x, initial: initial, maxIterations: 25, method: .plain)
        let bounded = try KMeansLloyd.run(x, initial: initial, maxIterations: 25, workers: 2, method: .bounded)
        #expect(bounded.iterations == plain.iterations)
        #expect(bounded.labels == plain.labels)
        #expect(abs(bounded.inertia - plain.inertia) <= 1e-6 * plain.inertia)
        for c in 0..<k { for j in 0..<7 { #expect(abs(bounded.centres[c, j] - plain.centres[c, j]) <= 1e-4 * max(1, abs(plain.centres[c, j]))) } }
        if k > 2 { #expect(bounded.measuredRows < plain.measuredRows / 2, "\(bounded.measuredRows) of \(plain.measuredRows)") }
        #expect(try KMeansLloyd.run(x, initial: initial, maxIterations: 25, workers: 3, method: .bounded) == bounded)
    }

    @Test("Lloyd: the same bits for 1, 2 and 3 workers; weights count as repeated rows")
    func lloydWorkersAndWeights() throws {
        let x = blobRows(rows: 30000, features: 5, blobs: 6, seed: 11)
        let initial = x.rows(0..<6)
        let one = try KMeansLloyd.run(x, initial: initial, maxIterations: 5)
        for workers in [2, 3] { #expect(try KMeansLloyd.run(x, initial: initial, maxIterations: 5, workers: workers) == one) }
        // Row 0 with weight 3 is rows 0, 0, 0.
        let small = x.rows(0..<200)
        var repeated = Matrix<Float>(rows: 202, columns: 5)
        for i in 0..<200 { for j in 0..<5 { repeated[i, j] = small[i, j] } }
        for j in 0..<5 { repeated[200, j] = small[0, j]; repeated[201, j] = small[0, j] }
        var weights = [Float](repeating: 1, count: 200)
        weights[0] = 3
        let weighted = try KMeansLloyd.run(small, weights: weights, initial: initial, maxIterations: 4)
        let plain = try KMeansLloyd.run(repeated, initial: initial, maxIterations: 4)
        #expect(abs(weighted.inertia - plain.inertia) < 1e-3 * plain.inertia)
        for c in 0..<6 { for j in 0..<5 { #expect(abs(weighted.centres[c, j] - plain.centres[c, j]) < 1e-4) } }
    }

    @Test("an empty cluster is re-seeded at the row farthest from its centre, deterministically")
    func emptyClusterRelocation() throws {
        var x = Matrix<Float>(rows: 7, columns: 1)
        for (i, v) in [0, 0.1, 0.2, 5, 5.1, 5.2, 20].enumerated() { x[i, 0] = Float(v) }
        // Centre 2 at 1000 gets no rows; the farthest row from its centre (20, far from 5.1) takes it.
        let initial = try Matrix<Float>(rows: 3, columns: 1, elements: [0.1, 5.1, 1000])
        let result = try KMeansLloyd.run(x, initial: initial, maxIterations: 1)
        #expect(result.centres[2, 0] == 20)
        #expect(abs(result.centres[1, 0] - 5.1) < 1e-5)
        #expect(result.labels == [0, 0, 0, 1, 1, 1, 2])
        #expect(try KMeansLloyd.run(x, initial: initial, maxIterations: 1, workers: 2) == result)
    }

    @Test("kmeans++ draws each next centre with probability ∝ D² (chi-square over 6000 draws)")
    func plusPlusFollowsDSquared() throws {
        let values: [Float] = [0, 1, 3, 10]
        var counts = [[Int]](repeating: [0, 0, 0, 0], count: 4)
        var firsts = [0, 0, 0, 0]
        for seed in 0..<6000 {
            var random = RandomStream(seed: UInt64(seed))
            let chosen = values.withUnsafeBufferPointer {
                KMeansSeeding.choose(.kmeansPlusPlus, count: 2, rows: 4, features: 1, x: $0.baseAddress!, random: &random)
            }
            firsts[chosen[0]] += 1
            counts[chosen[0]][chosen[1]] += 1
        }
        // The first centre is uniform; the second, given the first f, has P(i) ∝ (xᵢ − x_f)².
        var chiSquare = 0.0, degrees = 0
        for f in 0..<4 {
            chiSquare += pow(Double(firsts[f]) - 1500, 2) / 1500
            let d2 = values.map { pow(Double($0 - values[f]), 2) }
            let total = d2.reduce(0, +)
            for i in 0..<4 where i != f {
                let expected = Double(firsts[f]) * d2[i] / total
                chiSquare += pow(Double(counts[f][i]) - expected, 2) / expected
                degrees += 1
            }
            #expect(counts[f][f] == 0)
        }
        degrees += 3 - 4  // the conditional rows each lose one degree (their total is fixed); the first row has 3
        // 99.9th percentile of χ² with 11 degrees of freedom is 31.3.
        #expect(chiSquare < 31.3, "χ² = \(chiSquare) with \(degrees + 4) degrees of freedom")
    }

    @Test("SageMaker's streaming algorithm reaches within 2% of Lloyd's inertia on blobs")
    func streamingNearLloyd() throws {
        let x = blobRows(rows: 40000, features: 8, blobs: 12, seed: 21)
        let hp = try kmeansHyperparameters(["feature_dim": "8", "k": "12", "mini_batch_size": "2000", "epochs": "2", "init_method": "kmeans++"])
        let result = try KMeansTrainer(hyperparameters: hp, workers: 2, seed: 3).fit(.dense(x))
        #expect(result.streamingCentres == 120)
        let streaming = naiveInertia(x, result.model.centroids)
        // Lloyd's best of 5 kmeans++ starts, run to convergence.
        var best = Double.infinity
        for trial in 0..<5 {
            var random = RandomStream(seed: UInt64(100 + trial))
            let chosen = x.withUnsafeBufferPointer { KMeansSeeding.choose(.kmeansPlusPlus, count: 12, rows: x.rows, features: 8, x: $0.baseAddress!, random: &random) }
            var initial = Matrix<Float>(rows: 12, columns: 8)
            for (c, r) in chosen.enumerated() { for j in 0..<8 { initial[c, j] = x[r, j] } }
            best = min(best, try KMeansLloyd.run(x, initial: initial, maxIterations: 300, workers: 2).inertia)
        }
        #expect(streaming <= best * 1.02, "streaming \(streaming) vs Lloyd \(best)")
    }

    @Test("streaming: the same bits for 1 and 3 workers and any reader batch size; resuming from an epoch checkpoint changes nothing")
    func streamingDeterminism() throws {
        let x = blobRows(rows: 9000, features: 4, blobs: 5, seed: 31)
        let hp = try kmeansHyperparameters(["feature_dim": "4", "k": "5", "mini_batch_size": "1500", "epochs": "3", "half_life_time_size": "4000"])
        let one = try KMeansTrainer(hyperparameters: hp, workers: 1).fit(.dense(x))
        let three = try KMeansTrainer(hyperparameters: hp, workers: 3).fit(channel: "train", passes: { _ in MatrixSource(.dense(x), chunkRows: 701) })
        #expect(three.model == one.model && three.state == one.state)
        let saved = StateBox()
        _ = try KMeansTrainer(hyperparameters: hp).fit(channel: "train", passes: { _ in MatrixSource(.dense(x)) }, checkpoint: { saved.states.append($0) })
        #expect(saved.states.map(\.epoch) == [1, 2, 3])
        for state in saved.states {
            let resumed = try KMeansTrainer(hyperparameters: hp).fit(channel: "train", passes: { _ in MatrixSource(.dense(x)) }, resumingFrom: state)
            #expect(resumed.model == one.model && resumed.trainMSD == one.trainMSD)
        }
        // Mid-epoch: cancel after a mini-batch, resume from the returned state.
        let flag = CancellationFlag()
        flag.cancel()
        let stopped = try KMeansTrainer(hyperparameters: hp).fit(channel: "train", passes: { _ in MatrixSource(.dense(x)) }, cancellation: flag)
        #expect(stopped.cancelled && stopped.state.epoch == 0 && stopped.state.batch == 1)
        let continued = try KMeansTrainer(hyperparameters: hp).fit(channel: "train", passes: { _ in MatrixSource(.dense(x)) }, resumingFrom: stopped.state)
        #expect(continued.model == one.model)
    }

    @Test("half_life_time_size: old rows fade, so a centre follows data that moves")
    func halfLife() throws {
        var x = Matrix<Float>(rows: 20000, columns: 1)
        var random = RandomStream(seed: 5)
        for i in 0..<20000 { x[i, 0] = Float((i < 10000 ? 0 : 10) + 0.1 * random.standardNormal()) }
        func centre(_ halfLife: Int) throws -> Float {
            let hp = try kmeansHyperparameters(["feature_dim": "1", "k": "1", "extra_center_factor": "1", "mini_batch_size": "500",
                                                "half_life_time_size": "\(halfLife)"])
            return try KMeansTrainer(hyperparameters: hp).fit(.dense(x)).model.centroids[0, 0]
        }
        #expect(abs(try centre(0) - 5) < 0.05)
        #expect(try centre(1000) > 9.9)
    }

    @Test("bad input: k above the rows, NaN rows and wrong feature counts are typed errors naming the parameter or the row")
    func badInput() throws {
        let x = blobRows(rows: 50, features: 3, blobs: 2, seed: 41)
        #expect(throws: UnsupervisedDataError.self) {
            _ = try KMeansTrainer(hyperparameters: try kmeansHyperparameters(["feature_dim": "3", "k": "60"])).fit(.dense(x))
        }
        var bad = x
        bad[17, 2] = .infinity
        #expect(throws: UnsupervisedDataError.nonFinite(channel: "train", row: 18, column: 3, value: .infinity)) {
            _ = try KMeansTrainer(hyperparameters: try kmeansHyperparameters(["feature_dim": "3", "k": "2"])).fit(.dense(bad))
        }
        #expect(throws: UnsupervisedDataError.featureCount(channel: "train", expected: 4, found: 3)) {
            _ = try KMeansTrainer(hyperparameters: try kmeansHyperparameters(["feature_dim": "4", "k": "2"])).fit(.dense(x))
        }
        #expect(throws: UnsupervisedDataError.self) { _ = try KMeansLloyd.run(x.rows(0..<3), initial: x.rows(0..<4), maxIterations: 1) }
    }

    @Test("prediction: closest cluster and Euclidean distance; artifacts round-trip")
    func predictionAndArtifacts() throws {
        let centroids = try Matrix<Float>(rows: 2, columns: 2, elements: [0, 0, 10, 0])
        let model = KMeansModel(centroids: centroids)
        let rows: [Float] = [3, 4, 9, 0]
        var clusters = [Float](repeating: -1, count: 2), distances = [Float](repeating: -1, count: 2)
        rows.withUnsafeBufferPointer { r in
            clusters.withUnsafeMutableBufferPointer { c in
                distances.withUnsafeMutableBufferPointer { d in model.predict(dense: r.baseAddress!, rows: 2, clusters: c.baseAddress!, distances: d.baseAddress!) }
            }
        }
        #expect(clusters == [0, 1] && distances == [5, 1])
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kmeans-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try model.save(to: directory)
        #expect(try KMeansModel.load(from: directory) == model)
    }
}

final class StateBox: @unchecked Sendable {
    var states: [KMeansTrainingState] = []
}
