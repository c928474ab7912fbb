import Foundation
import MLAlgorithms
import MLCore

/// `mlbench kmeans`: 1,000,000 × 32 Float32 rows from 64 blobs, k = 64.
///
/// - `lloyd`: 20 full-batch Lloyd iterations (tol = 0) from the same initial centres as
///   scikit-learn's `KMeans(algorithm="lloyd", init=<those centres>, n_init=1)`; the goal is
///   ≤ 0.4× its time with inertia within 0.1%.
/// - `streaming`: SageMaker's algorithm with its defaults (mini_batch_size 5000, one epoch,
///   640 streaming centres reduced to 64 by local Lloyd) except `init_method=kmeans++` against `MiniBatchKMeans` with the same
///   batch size and one pass; the goal is less time at equal or lower inertia.
///
/// Checked before timing: the inertia (Double, every row against the final centres) is below
/// the initial centres'; Lloyd's result is the same for 1 and `threads` workers. Also reported:
/// the distance GEMM's GFLOP/s (2·n·k·d per iteration) as a share of the machine's single-thread
/// SGEMM peak × workers, and the data read rate against the machine's read bandwidth.
public struct KMeansSuite: BenchmarkSuite {
    public let name = "kmeans"
    public let summary = "k-means, 1M × 32 float32, 64 blobs, k = 64: 20 Lloyd iterations vs scikit-learn KMeans(lloyd); SageMaker streaming vs MiniBatchKMeans"
    public let rows: Int
    public let features: Int
    public let k: Int
    public let iterations: Int
    let seed: UInt64 = 11

    public init(rows: Int = 1_000_000, features: Int = 32, k: Int = 64, iterations: Int = 20) {
        self.rows = rows
        self.features = features
        self.k = k
        self.iterations = iterations
    }

    var size: String { "\(rows / 1000)kx\(features)_k\(k)" }

    public func keyMetric(for result: BenchmarkResult) -> String? { nil }

    public func run(_ context: BenchmarkContext) throws -> [BenchmarkResult] {
        let directory = try context.dataFile(KMeansWorkload.directoryName(rows: rows, features: features, blobs: k, k: k, seed: seed)).path
        try KMeansWorkload.ensure(directory: directory, rows: rows, features: features, blobs: k, k: k, seed: seed, threads: context.threads)
        let x = try NPYReader<Float>.readMatrix(path: directory + "/x.npy")
        let initial = try NPYReader<Float>.readMatrix(path: directory + "/init.npy")
        let peak = try MachinePeak.singleThreadSGEMM(workload: "lloyd_\(size)")
        let bandwidth = x.withUnsafeBufferPointer { MachinePeak.readBandwidth($0, threads: context.threads) }
        let initialInertia = KMeansModel(centroids: initial).squaredDistanceSum(x)
        var results: [BenchmarkResult] = []

        // Lloyd.
        let lloydWorkload = "lloyd_\(size)_\(iterations)it"
        let run = { (workers: Int) throws -> KMeansLloyd.Result in
            try KMeansLloyd.run(x, initial: initial, maxIterations: iterations, tolerance: .centreShift(0), workers: workers)
        }
        let checked = try run(context.threads)
        guard checked.inertia < initialInertia, try run(1) == checked else {
            throw BenchmarkError.wrongResult(workload: lloydWorkload, detail: "inertia \(checked.inertia) (initial \(initialInertia)) or 1 worker differs")
        }
        var last = checked
        let lloydTiming = try context.measure { last = try run(context.threads) }
        guard last == checked else { throw BenchmarkError.wrongResult(workload: lloydWorkload, detail: "a rerun gave other centres") }
        let lloydInertia = KMeansModel(centroids: checked.centres).squaredDistanceSum(x)
        // The bounds skip most rows: the GEMM runs on `measuredRows` of them.
        let gemmFlops = 2 * Double(checked.measuredRows) * Double(k) * Double(features)
        results.append(context.result(workload: lloydWorkload, timing: lloydTiming, metrics: [
            "inertia": lloydInertia, "n_iter": Double(checked.iterations),
            "rows_per_s": Double(rows) * Double(checked.iterations) / lloydTiming.median,
            "gemm_rows_share": Double(checked.measuredRows) / (Double(rows) * Double(checked.iterations + 1)),
            "distance_gflops": gemmFlops / lloydTiming.median / 1e9,
            "plain_equivalent_gflops": 2 * Double(rows) * Double(k) * Double(features) * Double(checked.iterations + 1) / lloydTiming.median / 1e9,
            "machine_read_gb_per_s": bandwidth,
        ]))
        // The plain method (every row against every centre each iteration): the GEMM kernel's own
        // rate as a share of the machine, and the data read rate against the machine's.
        let plainRun = { () throws -> KMeansLloyd.Result in
            try KMeansLloyd.run(x, initial: initial, maxIterations: iterations, tolerance: .centreShift(0), workers: context.threads, method: .plain)
        }
        let plain = try plainRun()
        guard abs(plain.inertia - checked.inertia) <= 1e-4 * checked.inertia, plain.iterations == checked.iterations else {
            throw BenchmarkError.wrongResult(workload: lloydWorkload, detail: "plain Lloyd inertia \(plain.inertia) vs bounded \(checked.inertia)")
        }
        let plainTiming = try context.measure { _ = try plainRun() }
        let plainGFLOPS = 2 * Double(rows) * Double(k) * Double(features) * Double(plain.iterations + 1) / plainTiming.median / 1e9
        var plainResult = context.result(workload: lloydWorkload, timing: plainTiming, metrics: [
            "inertia": plain.inertia, "n_iter": Double(plain.iterations),
            "distance_gflops": plainGFLOPS, "distance_share_of_peak": plainGFLOPS / (peak * Double(context.threads)),
            "sgemm_peak_1thread_gflops": peak,
            "data_read_gb_per_s": Double(rows * features * 4) * Double(plain.iterations + 1) / plainTiming.median / 1e9,
            "machine_read_gb_per_s": bandwidth,
        ])
        plainResult.impl = "mlcore-plain"
        results.append(plainResult)

        // SageMaker's streaming algorithm with its defaults.
        let streamingWorkload = "streaming_\(size)_batch5000"
        let hp = try KMeansHyperparameters(strings: ["feature_dim": "\(features)", "k": "\(k)", "mini_batch_size": "5000", "init_method": "kmeans++"])
        let trainer = KMeansTrainer(hyperparameters: hp, workers: context.threads, seed: seed)
        let streamed = try trainer.fit(.dense(x))
        let streamedInertia = streamed.model.squaredDistanceSum(x)
        guard streamedInertia < initialInertia else {
            throw BenchmarkError.wrongResult(workload: streamingWorkload, detail: "inertia \(streamedInertia) not below the initial centres' \(initialInertia)")
        }
        var lastStreamed = streamed.model
        let streamingTiming = try context.measure { lastStreamed = try trainer.fit(.dense(x)).model }
        guard lastStreamed == streamed.model else { throw BenchmarkError.wrongResult(workload: streamingWorkload, detail: "a rerun gave other centres") }
        results.append(context.result(workload: streamingWorkload, timing: streamingTiming, metrics: [
            "inertia": streamedInertia, "inertia_vs_lloyd": streamedInertia / lloydInertia,
            "rows_per_s": Double(rows) / streamingTiming.median, "streaming_centres": Double(streamed.streamingCentres),
        ]))

        if context.options.peers {
            let peer = context.runPeer("scikit-learn") { () throws(PeerError) in
                try context.peers.runScript("kmeans/sklearn_kmeans.py", arguments: [
                    "--x", directory + "/x.npy", "--init", directory + "/init.npy", "--iterations", String(iterations),
                    "--batch-size", "5000", "--epochs", "1", "--threads", String(context.threads),
                    "--repeat", String(max(1, min(context.options.repeat, 3))), "--warmup", "1", "--workload", size,
                ])
            }
            for var result in peer {
                if result.impl == "scikit-learn-lloyd" {
                    result.workload = lloydWorkload
                    if let theirs = result.metrics["inertia_f64"] ?? result.metrics["inertia"] {
                        result.metrics["mlcore_inertia_rel_diff"] = (lloydInertia - theirs) / theirs
                    }
                    result.metrics["mlcore_time_ratio"] = lloydTiming.median / result.medianSeconds
                } else {
                    result.workload = streamingWorkload
                    if let theirs = result.metrics["inertia"] { result.metrics["mlcore_inertia_ratio"] = streamedInertia / theirs }
                    result.metrics["mlcore_time_ratio"] = streamingTiming.median / result.medianSeconds
                }
                results.append(result)
            }
        }
        return results
    }
}
