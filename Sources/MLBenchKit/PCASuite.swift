import Foundation
import MLAlgorithms
import MLCore

/// `mlbench pca`: 200,000 × 500 Float32 rows (rank-60 signal plus noise), 50 components, regular
/// mode, against scikit-learn's `PCA(svd_solver="covariance_eigh")` (and `full`, `randomized`)
/// on the same NPY file and thread count. Also our randomized mode.
///
/// Timed: a whole `fit` from rows in memory (ours: `PCATrainer` with `threads` workers; the
/// peers: `PCA.fit`). Checked before timing: the explained variance is positive, decreasing and
/// explains the signal (ratio > 0.9); with peers, each component's explained variance against
/// covariance_eigh's (the goal: within 1e-4 relative, in ≤ 0.75× its time). Also reported: the
/// scatter's GFLOP/s (n·d² per `syrk`) as a share of the machine's single-thread SGEMM peak × workers.
public struct PCASuite: BenchmarkSuite {
    public let name = "pca"
    public let summary = "PCA, 200k × 500 float32 (rank 60 + noise), 50 components: fit time vs scikit-learn covariance_eigh/full/randomized"
    public let rows: Int
    public let features: Int
    public let rank: Int
    public let components: Int
    let seed: UInt64 = 7

    public init(rows: Int = 200_000, features: Int = 500, rank: Int = 60, components: Int = 50) {
        self.rows = rows
        self.features = features
        self.rank = rank
        self.components = components
    }

    var workload: String { "pca_\(rows / 1000)kx\(features)_c\(components)" }

    public func keyMetric(for result: BenchmarkResult) -> String? { nil }

    public func run(_ context: BenchmarkContext) throws -> [BenchmarkResult] {
        let directory = try context.dataFile(PCAWorkload.directoryName(rows: rows, features: features, rank: rank, seed: seed)).path
        try PCAWorkload.ensure(directory: directory, rows: rows, features: features, rank: rank, seed: seed, threads: context.threads)
        let x = try NPYReader<Float>.readMatrix(path: directory + "/x.npy")
        let peak = try MachinePeak.singleThreadSGEMM(workload: workload)
        var results: [BenchmarkResult] = []
        var ours: [String: [Float]] = [:]
        var oursTime: [String: Double] = [:]
        for mode in PCAMode.allCases {
            let hp = try PCAHyperparameters(strings: ["feature_dim": "\(features)", "num_components": "\(components)",
                                                      "mini_batch_size": "500", "algorithm_mode": mode.rawValue])
            let trainer = PCATrainer(hyperparameters: hp, workers: context.threads)
            let checked = try trainer.fit(.dense(x)).model
            let variance = checked.explainedVariance
            guard variance.allSatisfy({ $0.isFinite && $0 > 0 }), zip(variance, variance.dropFirst()).allSatisfy({ $0 >= $1 }),
                  checked.explainedVarianceRatio.reduce(0, +) > 0.9 else {
                throw BenchmarkError.wrongResult(workload: workload, detail: "\(mode.rawValue): explained variance \(variance.prefix(5))…, ratio \(checked.explainedVarianceRatio.reduce(0, +))")
            }
            var last = checked
            let timing = try context.measure { last = try trainer.fit(.dense(x)).model }
            guard last == checked else { throw BenchmarkError.wrongResult(workload: workload, detail: "\(mode.rawValue): a rerun gave another model") }
            ours[mode.rawValue] = variance
            oursTime[mode.rawValue] = timing.median
            var metrics: [String: Double] = [
                "explained_variance_sum": variance.reduce(0.0) { $0 + Double($1) },
                "explained_variance_ratio_sum": checked.explainedVarianceRatio.reduce(0.0) { $0 + Double($1) },
                "first_explained_variance": Double(variance[0]),
                "last_explained_variance": Double(variance[components - 1]),
                "rows_per_s": Double(rows) / timing.median,
            ]
            if mode == .regular {
                // syrk: n·d² FLOPs (half of the d×d product, multiply and add).
                let gflops = Double(rows) * Double(features * features) / timing.median / 1e9
                metrics["scatter_gflops"] = gflops
                metrics["scatter_share_of_peak"] = gflops / (peak * Double(context.threads))
                metrics["sgemm_peak_1thread_gflops"] = peak
            }
            var result = context.result(workload: workload, timing: timing, metrics: metrics)
            if mode == .randomized { result.impl = "mlcore-randomized" }
            results.append(result)
        }

        if context.options.peers {
            let saved = directory + "/peer-explained-variance"
            let peer = context.runPeer("scikit-learn") { () throws(PeerError) in
                try context.peers.runScript("pca/sklearn_pca.py", arguments: [
                    "--x", directory + "/x.npy", "--components", String(components), "--threads", String(context.threads),
                    "--repeat", String(max(1, min(context.options.repeat, 3))), "--warmup", "1", "--workload", workload,
                    "--save-explained-variance", saved,
                ])
            }
            for var result in peer {
                let solver = result.impl.replacingOccurrences(of: "scikit-learn-", with: "")
                if let reference = try? NPYReader<Double>.readVector(path: saved + "/explained_variance_\(solver).npy"), reference.count == components,
                   let regular = ours["regular"] {
                    let worst = zip(regular, reference).map { abs(Double($0) - $1) / $1 }.max() ?? .nan
                    result.metrics["mlcore_explained_variance_max_rel_diff"] = worst
                }
                if let t = oursTime["regular"] { result.metrics["mlcore_time_ratio"] = t / result.medianSeconds }
                results.append(result)
            }
        }
        return results
    }
}
