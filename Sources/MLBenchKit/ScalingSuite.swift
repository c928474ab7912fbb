import Foundation
import MLAlgorithms
import MLCore

/// `mlbench scaling`: how training scales with workers, and what the parameter server moves.
///
/// - For each algorithm's workload (linear learner, PCA, streaming k-means, the small CNN,
///   gradient-boosted trees): 1 worker, then 2 in-process workers (trees: threads). Checked
///   first: 1 and 2 workers give the same model bit for bit. Reported: each median and
///   `speedup` = t(1) / t(2) on the 2-worker line. Goal: ≥ 1.8× on compute-bound work (CNN, trees).
/// - `parameter_server_<n>`: synchronous push/pull steps over a buffer of `n` Float values with
///   an SGD-with-momentum update on the server, for W ∈ {1, 2} workers and S ∈ {1, 2, 4}
///   shards: steps/s, updates/s and bytes moved per step; beside it the all-reduce
///   (micro-shard tree) of the same buffer. Checked first: the two give the same bits.
/// - `sparse_linear_server_…`: the linear learner on sparse rows (100,000 features, 50 non-zeros
///   a row) with 2 workers, through all-reduce, the synchronous server (S = 2; checked first: the
///   same model bit for bit) and the asynchronous one (checked: validation loss within 2%):
///   time, and the server's bytes moved per mini-batch — only touched rows travel.
///
/// `MLBENCH_SCALING_PARTS` (comma-separated: linear, pca, kmeans, cnn, trees, parameter_server,
/// sparse_linear_server) runs only those parts.
///
/// MPI processes (1 vs 2 `mpirun` ranks) are measured by `scripts/mpi-scaling.sh`: the suite
/// runs in one process.
public struct ScalingSuite: BenchmarkSuite {
    public let name = "scaling"
    public let summary = "1 vs 2 workers for linear learner, PCA, k-means, CNN and trees; parameter-server steps/s against shards and workers"
    let seed: UInt64 = 5
    public let rows: Int
    public let serverValues: Int

    public init(rows: Int = 200_000, serverValues: Int = 1 << 20) {
        self.rows = rows
        self.serverValues = serverValues
    }

    public func keyMetric(for result: BenchmarkResult) -> String? {
        result.metrics["speedup"] != nil ? "speedup" : (result.metrics["steps_per_s"] != nil ? "steps_per_s" : nil)
    }

    public func notes(for results: [BenchmarkResult]) -> [String] {
        results.compactMap { r in
            guard let s = r.metrics["speedup"], r.workload.hasPrefix("cnn") || r.workload.hasPrefix("gbdt") else { return nil }
            return "\(r.workload): 2 workers \(String(format: "%.2f", s))× one worker (goal ≥ 1.8× on compute-bound work)"
                + (s >= 1.8 ? " — met" : " — not met")
        }
    }

    public func run(_ context: BenchmarkContext) throws -> [BenchmarkResult] {
        // Workers supply the parallelism (DESIGN.md "Threads"): one worker is one core.
        BLASThreads.apply(.singleThreaded)
        // MLBENCH_SCALING_PARTS=linear,pca,… runs only those parts (all when unset).
        let parts: [(String, (BenchmarkContext) throws -> [BenchmarkResult])] = [
            ("linear", linear), ("pca", pca), ("kmeans", kmeans), ("cnn", cnn), ("trees", trees),
            ("parameter_server", parameterServer), ("sparse_linear_server", sparseLinearServer),
        ]
        let chosen = ProcessInfo.processInfo.environment["MLBENCH_SCALING_PARTS"].map { Set($0.split(separator: ",").map(String.init)) }
        if let chosen, let unknown = chosen.first(where: { name in !parts.contains { $0.0 == name } }) {
            throw BenchmarkError.invalidOption(name: "MLBENCH_SCALING_PARTS", value: unknown,
                                               rule: "parts are " + parts.map(\.0).joined(separator: ", "))
        }
        var results: [BenchmarkResult] = []
        for (name, part) in parts where chosen?.contains(name) ?? true { results += try part(context) }
        return results
    }

    /// Times `fit` with 1 and 2 workers after checking they agree; the 2-worker line carries the speedup.
    func pair<M: Equatable>(_ context: BenchmarkContext, workload: String, metrics: [String: Double] = [:],
                            _ fit: (Int) throws -> M) throws -> [BenchmarkResult] {
        let one = try fit(1), two = try fit(2)
        guard one == two else { throw BenchmarkError.wrongResult(workload: workload, detail: "1 and 2 workers trained different models") }
        var medians: [Int: Double] = [:]
        var out: [BenchmarkResult] = []
        for workers in [1, 2] {
            var last = one
            let timing = try context.measure { last = try fit(workers) }
            guard last == one else { throw BenchmarkError.wrongResult(workload: workload, detail: "a rerun with \(workers) workers differs") }
            medians[workers] = timing.median
            var result = context.result(workload: workload, timing: timing, metrics: metrics)
            result.threads = workers
            if workers == 2, let t1 = medians[1] { result.metrics["speedup"] = t1 / timing.median }
            out.append(result)
        }
        return out
    }

    func linear(_ context: BenchmarkContext) throws -> [BenchmarkResult] {
        let features = 64
        let directory = try context.dataFile(LinearWorkload.directoryName(rows: rows, features: features, seed: seed)).path
        try LinearWorkload.ensure(directory: directory, rows: rows, features: features, seed: seed, threads: context.threads)
        let train = try LinearDataset(channel: "train", features: try NPYReader<Float>.readMatrix(path: directory + "/train_x.npy"),
                                      labels: try NPYReader<Float>.readVector(path: directory + "/train_y.npy"))
        let hp = try LinearLearnerHyperparameters(strings: LinearSuite.hyperparameters.merging(["epochs": "2"]) { _, b in b })
        return try pair(context, workload: "linear_learner_\(rows / 1000)kx\(features)") { workers in
            try LinearLearnerTrainer(hyperparameters: hp, workers: workers, seed: seed).fit(train: train, validation: nil).model
        }
    }

    func pca(_ context: BenchmarkContext) throws -> [BenchmarkResult] {
        let features = 128, rank = 16
        let directory = try context.dataFile(PCAWorkload.directoryName(rows: rows, features: features, rank: rank, seed: seed)).path
        try PCAWorkload.ensure(directory: directory, rows: rows, features: features, rank: rank, seed: seed, threads: context.threads)
        let x = try NPYReader<Float>.readMatrix(path: directory + "/x.npy")
        let hp = try PCAHyperparameters(strings: ["feature_dim": "\(features)", "num_components": "\(rank)", "mini_batch_size": "500",
                                                  "algorithm_mode": "regular"])
        return try pair(context, workload: "pca_\(rows / 1000)kx\(features)") { workers in
            try PCATrainer(hyperparameters: hp, workers: workers).fit(.dense(x)).model
        }
    }

    func kmeans(_ context: BenchmarkContext) throws -> [BenchmarkResult] {
        let features = 32, k = 16
        let directory = try context.dataFile(KMeansWorkload.directoryName(rows: rows, features: features, blobs: k, k: k, seed: seed)).path
        try KMeansWorkload.ensure(directory: directory, rows: rows, features: features, blobs: k, k: k, seed: seed, threads: context.threads)
        let x = try NPYReader<Float>.readMatrix(path: directory + "/x.npy")
        let hp = try KMeansHyperparameters(strings: ["feature_dim": "\(features)", "k": "\(k)", "mini_batch_size": "5000"])
        return try pair(context, workload: "kmeans_streaming_\(rows / 1000)kx\(features)") { workers in
            try KMeansTrainer(hyperparameters: hp, workers: workers, seed: seed).fit(.dense(x)).model
        }
    }

    func cnn(_ context: BenchmarkContext) throws -> [BenchmarkResult] {
        let images = 6_400
        let directory = try context.dataFile(CNNWorkload.directoryName(rows: images, testRows: 640, seed: seed)).path
        try CNNWorkload.ensure(directory: directory, rows: images, testRows: 640, seed: seed)
        let train = try ImageDataset.npy(images: directory + "/x_train.npy", targets: directory + "/y_train.npy")
        let network = try Network(CNNSuite.model(), inputShape: train.shape, seed: 0)
        return try pair(context, workload: "cnn_small_\(images)_batch64") { workers in
            try NetworkTrainer(settings: CNNSuite.settings(workers: workers)).fit(network, train: train).network.parameters
        }
    }

    func trees(_ context: BenchmarkContext) throws -> [BenchmarkResult] {
        let features = 32
        let directory = try context.dataFile(GBDTWorkload.directoryName(rows: rows, features: features, seed: seed)).path
        try GBDTWorkload.ensure(directory: directory, rows: rows, features: features, seed: seed, threads: context.threads)
        let train = TreeDataset(features: .dense(try NPYReader<Float>.readMatrix(path: directory + "/x_train.npy")),
                                labels: try NPYReader<Float>.readVector(path: directory + "/y_train.npy"))
        let hp = try XGBoostHyperparameters(strings: ["objective": "binary:logistic", "num_round": "20", "max_depth": "6",
                                                      "tree_method": "hist", "seed": "0"])
        return try pair(context, workload: "gbdt_\(rows / 1000)kx\(features)_20r") { threads in
            try BoostedTreesTrainer(hyperparameters: hp, threads: threads).fit(train: train, evaluateTrain: false).model
        }
    }

    /// Synchronous parameter-server steps against the all-reduce of the same buffer.
    func parameterServer(_ context: BenchmarkContext) throws -> [BenchmarkResult] {
        let n = serverValues, steps = 20, microShards = 4
        let workload = "parameter_server_\(n >> 20)M"
        let shards = MicroShards(rows: microShards, shardRows: 1)
        // Each micro-shard's "gradient": a fixed pseudo-random buffer, scaled by the step.
        var random = RandomStream(seed: seed)
        let base = (0..<n).map { _ in Float(random.nextDouble() - 0.5) }
        @Sendable func partials(_ range: Range<Int>, step: Int) -> [Float] {
            var out: [Float] = []
            out.reserveCapacity(range.count * n)
            for s in range { out += base.map { $0 * Float(1 + s + step) * 1e-3 } }
            return out
        }
        @Sendable func sgd(_ v: UnsafeMutableBufferPointer<Float>, _ g: UnsafeBufferPointer<Float>) {
            for i in 0..<v.count { v[i] -= 0.01 * g[i] }
        }
        func allReduce(workers: Int) throws -> [Float] {
            try InProcessWorkerGroup(workers: workers).run { comm in
                var values = [Float](repeating: 0, count: n)
                for step in 0..<steps {
                    let mine = shards.shards(forRank: comm.rank, of: comm.size)
                    let total = try comm.reduceMicroShards(partials(mine, step: step), width: n, shards: shards)
                    values.withUnsafeMutableBufferPointer { v in total.withUnsafeBufferPointer { sgd(v, $0) } }
                }
                return values
            }
        }
        func server(workers: Int, servers: Int) throws -> ([Float], ParameterServerStatistics) {
            let ps = try ParameterServer<Float>(initial: [Float](repeating: 0, count: n), shards: servers, workers: workers,
                                                consistency: .synchronous) { _, v, g, _, _ in sgd(v, g) }
            try InProcessWorkerGroup(workers: workers).run { comm in
                for step in 0..<steps {
                    _ = try ps.pull(worker: comm.rank, step: step)
                    let mine = shards.shards(forRank: comm.rank, of: comm.size)
                    try ps.push(worker: comm.rank, step: step, partials: partials(mine, step: step), microShards: mine)
                }
            }
            return (try ps.pull(worker: 0, step: steps), ps.counters)
        }
        let reference = try allReduce(workers: 1)
        var results: [BenchmarkResult] = []
        for workers in [1, 2] {
            guard try allReduce(workers: workers) == reference else {
                throw BenchmarkError.wrongResult(workload: workload, detail: "all-reduce over \(workers) workers differs from 1")
            }
            let timing = try context.measure { _ = try allReduce(workers: workers) }
            var r = context.result(workload: workload, timing: timing, metrics: [
                "steps_per_s": Double(steps) / timing.median,
                // Every rank receives every micro-shard's partial.
                "bytes_per_step": Double(workers * shards.count * n * MemoryLayout<Float>.size),
            ])
            r.impl = "mlcore-allreduce-w\(workers)"
            r.threads = workers
            results.append(r)
            for servers in [1, 2, 4] {
                let (values, counters) = try server(workers: workers, servers: servers)
                guard values == reference else {
                    throw BenchmarkError.wrongResult(workload: workload, detail: "synchronous server (W=\(workers), S=\(servers)) differs from all-reduce")
                }
                let timing = try context.measure { _ = try server(workers: workers, servers: servers) }
                var r = context.result(workload: workload, timing: timing, metrics: [
                    "steps_per_s": Double(steps) / timing.median,
                    "updates_per_s": Double(counters.updates) / timing.median,
                    "bytes_per_step": Double(counters.bytesPushed + counters.bytesPulled) / Double(steps + 1),
                    "shards": Double(servers),
                ])
                r.impl = "mlcore-ps-w\(workers)-s\(servers)"
                r.threads = workers
                results.append(r)
            }
        }
        return results
    }

    func sparseLinearServer(_ context: BenchmarkContext) throws -> [BenchmarkResult] {
        let rows = min(self.rows, 200_000), features = 100_000, nonzeros = 50
        let workload = "sparse_linear_server_\(rows / 1000)kx\(features / 1000)k_nnz\(nonzeros)"
        let directory = try context.dataFile(LinearSparseWorkload.directoryName(rows: rows, features: features, nonzeros: nonzeros, seed: seed)).path
        try LinearSparseWorkload.ensure(directory: directory, rows: rows, features: features, nonzeros: nonzeros, seed: seed)
        let (tx, ty) = try LinearSparseWorkload.load(directory: directory, split: "train", features: features)
        let (vx, vy) = try LinearSparseWorkload.load(directory: directory, split: "validation", features: features)
        let train = try LinearDataset(channel: "train", features: tx, labels: ty)
        let validation = try LinearDataset(channel: "validation", features: vx, labels: vy)
        let hp = try LinearLearnerHyperparameters(strings: LinearSparseSuite.hyperparameters.merging(["epochs": "1", "mini_batch_size": "1000"]) { $1 })
        func fit(_ server: NetworkParameterServer?) throws -> LinearLearnerTrainer.Result {
            var t = LinearLearnerTrainer(hyperparameters: hp, workers: 2, seed: seed)
            t.parameterServer = server
            return try t.fit(train: train, validation: validation)
        }
        func loss(_ r: LinearLearnerTrainer.Result) -> Double {
            r.finalMetrics.first { $0.name == "binary_classification_cross_entropy_objective" }?.value ?? .infinity
        }
        let batches = Double((rows + 999) / 1000)
        let reference = try fit(nil)
        let sync = NetworkParameterServer(shards: 2, consistency: .synchronous), async = NetworkParameterServer(shards: 2, consistency: .asynchronous)
        let served = try fit(sync)
        guard served.model == reference.model else {
            throw BenchmarkError.wrongResult(workload: workload, detail: "the synchronous server's model differs from all-reduce's")
        }
        let loose = try fit(async)
        guard loss(loose) <= 1.02 * loss(reference) else {
            throw BenchmarkError.wrongResult(workload: workload, detail: "asynchronous validation loss \(loss(loose)) vs \(loss(reference))")
        }
        var results: [BenchmarkResult] = []
        for (impl, server) in [("mlcore-allreduce-w2", nil), ("mlcore-ps-sync-w2-s2", sync), ("mlcore-ps-async-w2-s2", async)] as [(String, NetworkParameterServer?)] {
            var last = reference
            let timing = try context.measure { last = try fit(server) }
            var metrics: [String: Double] = ["validation_log_loss": loss(last)]
            if let traffic = last.serverTraffic {
                metrics["bytes_per_step"] = Double(traffic.bytesPushed + traffic.bytesPulled) / batches
                metrics["dense_bytes_per_step"] = Double(2 * 2 * (features + 1) * MemoryLayout<Double>.size)
            }
            var r = context.result(workload: workload, timing: timing, metrics: metrics)
            r.impl = impl
            r.threads = 2
            results.append(r)
        }
        return results
    }
}
