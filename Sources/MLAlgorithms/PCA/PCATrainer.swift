import Foundation
import MLCore

/// Trains SageMaker's PCA (reference §4.2) on MLCore.
///
/// The data are read as micro-shards of ``shardRows(features:)`` rows — fixed by `feature_dim`, so the result never
/// depends on the reader's batch sizes, `mini_batch_size` or the worker count. Each worker
/// summarizes its micro-shards (``PCAScatter`` in regular mode, ``PCASketch`` in randomized
/// mode), the summaries are exchanged over the ``Communicator`` and merged in shard order by one
/// fixed tree (``OrderedMerge``): 1, 2 or 8 workers give the same bits. Regular mode then takes
/// the eigen-decomposition of the merged scatter (`syevd`, Double). Randomized mode takes the
/// SVD of the ℓ×d sketch for a basis Q of ℓ directions, then a second pass summing
/// ((X−μ)Q)ᵀ((X−μ)Q) (ℓ×ℓ) and a Rayleigh–Ritz step, so the reported variances are exact within
/// the sketched subspace.
public struct PCATrainer: Sendable {
    public let hyperparameters: PCAHyperparameters
    public var workers: Int
    /// Where the ranks run: `nil` means ``workers`` threads of this process; an MPI group
    /// (MLCluster) runs one rank per process, with the same bits for the same rank count.
    public var group: (any WorkerGroup)?
    public var seed: UInt64
    /// Merge the summaries on a parameter server with these shards and consistency instead of
    /// all-gathering them (hidden `_kvstore`, `_num_kv_servers`); `nil`: all-reduce.
    public var parameterServer: NetworkParameterServer?
    /// Rows of a micro-shard: the largest power of two up to 8192 whose rows take at most 16 MiB
    /// (so the per-shard summary, d² values, is amortized over many rows while the scratch stays
    /// bounded). A function of `feature_dim` alone.
    public static func shardRows(features d: Int) -> Int {
        var rows = 8192
        while rows > 64 && rows * d > 4 << 20 { rows /= 2 }
        return rows
    }
    /// Micro-shards read per step (one exchange among the workers per step).
    public static let stepShards = 16

    public init(hyperparameters: PCAHyperparameters, workers: Int = 1, seed: UInt64 = 0) {
        self.hyperparameters = hyperparameters
        self.workers = max(1, workers)
        self.seed = seed
    }

    /// Training's outcome: the model, the rows read, and the wall time of each pass.
    public struct Result: Sendable {
        public var model: PCAModel
        public var rows: Int
        public var passSeconds: [Double]
        /// Set when training stopped on the cancellation flag: no model could be finished.
        public var cancelled: Bool
    }

    /// Trains on rows in memory (`Float` rows of a channel).
    public func fit(_ features: Features, channel: String = "train") throws -> Result {
        if case .dense(let x) = features {
            guard x.columns == hyperparameters.featureDim else {
                throw UnsupervisedDataError.featureCount(channel: channel, expected: hyperparameters.featureDim, found: x.columns)
            }
            return try fit(channel: channel, inputs: { _ in .memory(x) }, cancellation: nil, progress: nil)
        }
        return try fit(channel: channel, passes: { _ in MatrixSource(features) })
    }

    /// Trains on a channel read from the start once (regular) or twice (randomized).
    public func fit(channel: String = "train", passes open: @escaping PassOpener, cancellation: CancellationFlag? = nil,
                    progress: (@Sendable (_ pass: Int, _ rows: Int) -> Void)? = nil) throws -> Result {
        try fit(channel: channel, inputs: { pass in .stream({ try open(pass) }) }, cancellation: cancellation, progress: progress)
    }

    func fit(channel: String, inputs: (Int) -> PassInput, cancellation: CancellationFlag?,
             progress: (@Sendable (_ pass: Int, _ rows: Int) -> Void)?) throws -> Result {
        let p = hyperparameters
        let d = p.featureDim
        var seconds: [Double] = []
        let started = ProcessInfo.processInfo.systemUptime
        switch p.mode {
        case .regular:
            let (scatter, rows, cancelled) = try pass(channel: channel, input: inputs(0), width: PCAScatter.flattenedWidth(features: d),
                                                 summarize: { x, n, _, first, scratch in
                                                    guard let summary = PCAScatter.of(rows: n, features: d, x: x, scratch: &scratch) else {
                                                        throw Self.nonFinite(x, rows: n, features: d, firstRow: first, channel: channel)
                                                            ?? UnsupervisedDataError.unreadable(channel: channel, reason: "the scatter overflowed Float")
                                                    }
                                                    return summary.flattened
                                                },
                                                 decode: { PCAScatter(flattened: $0, features: d) }, merge: PCAScatter.merged,
                                                 server: parameterServer.map { Self.scatterLayout(features: d, shards: $0.shards) },
                                                 cancellation: cancellation, progress: { progress?(0, $0) })
            seconds.append(ProcessInfo.processInfo.systemUptime - started)
            try requireRows(rows, channel: channel)
            return Result(model: try model(from: scatter), rows: rows, passSeconds: seconds, cancelled: cancelled)
        case .randomized:
            let l = p.sketchRows, seed = self.seed
            let (sketch, rows, cancelled) = try pass(channel: channel, input: inputs(0), width: PCASketch.flattenedWidth(sketchRows: l, features: d),
                                                summarize: { x, n, shard, first, scratch in
                                                    guard let sketch = PCASketch.of(rows: n, features: d, x: x, sketchRows: l, seed: seed, shard: shard, scratch: &scratch) else {
                                                        throw Self.nonFinite(x, rows: n, features: d, firstRow: first, channel: channel)
                                                            ?? UnsupervisedDataError.unreadable(channel: channel, reason: "the column sums overflowed")
                                                    }
                                                    return sketch.flattened
                                                }, decode: { PCASketch(flattened: $0, sketchRows: l, features: d) },
                                                merge: PCASketch.merged, server: parameterServer.map { _ in Self.sketchLayout(sketchRows: l, features: d) },
                                                cancellation: cancellation, progress: { progress?(0, $0) })
            seconds.append(ProcessInfo.processInfo.systemUptime - started)
            try requireRows(rows, channel: channel)
            let mean = p.subtractMean ? sketch.s.map { $0 / Double(rows) } : [Double](repeating: 0, count: d)
            let basis = try sketchBasis(sketch, mean: mean)
            let total = p.subtractMean ? sketch.centredSquares
                : sketch.centredSquares + Double(rows) * mean.indices.reduce(0.0) { $0 + pow(sketch.s[$1] / Double(rows), 2) }
            if cancelled {
                // No second pass: the sketch's own estimate of the variances (approximate).
                return Result(model: sketchOnlyModel(sketch, basis: basis, mean: mean, rows: rows, total: total), rows: rows,
                              passSeconds: seconds, cancelled: true)
            }
            let meanF = mean.map(Float.init), basisF = basis.map(Float.init), q = basis.count / d
            let secondStart = ProcessInfo.processInfo.systemUptime
            let (gram, rows2, cancelledSecond) = try pass(channel: channel, input: inputs(1), width: q * q,
                                               summarize: { x, n, _, _, scratch in
                                                   Self.projectedGram(rows: n, features: d, x: x, mean: meanF, basis: basisF, scratch: &scratch)
                                               }, decode: { Array($0) }, merge: { a, b in zip(a, b).map { $0 + $1 } },
                                               server: parameterServer.map { Self.sumLayout(width: q * q, shards: $0.shards) },
                                               cancellation: cancellation, progress: { progress?(1, $0) })
            if cancelledSecond {
                return Result(model: sketchOnlyModel(sketch, basis: basis, mean: mean, rows: rows, total: total), rows: rows,
                              passSeconds: seconds, cancelled: true)
            }
            seconds.append(ProcessInfo.processInfo.systemUptime - secondStart)
            guard rows2 == rows else {
                throw UnsupervisedDataError.unreadable(channel: channel, reason: "the second pass read \(rows2) rows, the first \(rows); the data changed while training")
            }
            return Result(model: try ritzModel(gram: gram, basis: basis, mean: mean, rows: rows, total: total),
                          rows: rows, passSeconds: seconds, cancelled: false)
        }
    }

    /// Trains in `T`'s precision on rows in memory (the Double path the subspace tests use).
    public func fit<T: BLASScalar>(_ x: Matrix<T>) throws -> PCAModel {
        let d = hyperparameters.featureDim
        guard x.columns == d else { throw UnsupervisedDataError.featureCount(channel: "train", expected: d, found: x.columns) }
        try requireRows(x.rows, channel: "train")
        precondition(hyperparameters.mode == .regular, "the generic-precision path is regular mode") // invariant: documented API contract
        let shards = MicroShards(rows: x.rows, shardRows: Self.shardRows(features: d))
        var merge = OrderedMerge<PCAScatter>(PCAScatter.merged)
        var scratch: [T] = []
        var failure: UnsupervisedDataError?
        x.withUnsafeBufferPointer { buffer in
            // invariant: rows ≥ 1 and d ≥ 1
            let base = buffer.baseAddress! // invariant: see above
            for s in 0..<shards.count {
                let r = shards.rows(ofShard: s)
                guard let summary = PCAScatter.of(rows: r.count, features: d, x: base + r.lowerBound * d, scratch: &scratch) else {
                    failure = .nonFinite(channel: "train", row: r.lowerBound + 1, column: 0, value: .nan)
                    return
                }
                merge.push(summary)
            }
        }
        if let failure {
            for i in 0..<x.rows { for j in 0..<d where !x[i, j].isFinite {
                throw UnsupervisedDataError.nonFinite(channel: "train", row: i + 1, column: j + 1, value: Double(x[i, j]))
            } }
            throw failure
        }
        // invariant: at least one shard was pushed
        return try model(from: merge.finish()!)
    }

    func requireRows(_ rows: Int, channel: String) throws {
        if rows == 0 { throw UnsupervisedDataError.emptyChannel(channel: channel) }
        if rows < 2 {
            throw UnsupervisedDataError.tooFewRows(channel: channel, rows: rows, parameter: "num_components", value: hyperparameters.numComponents,
                                                   rule: "at least 2 rows to estimate a variance")
        }
    }

    /// Randomized mode stopped before its second pass: the variances estimated from the sketch
    /// itself (E‖Hy‖² = ℓ‖y‖² for random signs), so approximate.
    func sketchOnlyModel(_ sketch: PCASketch, basis: [Double], mean: [Double], rows: Int, total: Double) -> PCAModel {
        let p = hyperparameters, d = p.featureDim, q = basis.count / d, l = Double(sketch.rows)
        var c = sketch.b
        for r in 0..<sketch.rows { for j in 0..<d { c[r * d + j] -= sketch.h[r] * mean[j] } }
        var components = [Double](repeating: 0, count: d * p.numComponents), eigen = [Double](repeating: 0, count: p.numComponents)
        for comp in 0..<min(q, p.numComponents) {
            var norm = 0.0
            for r in 0..<sketch.rows {
                var t = 0.0
                for j in 0..<d { t += c[r * d + j] * basis[j * q + comp] }
                norm += t * t
            }
            eigen[comp] = norm / l
            for j in 0..<d { components[j * p.numComponents + comp] = basis[j * q + comp] }
        }
        return PCAModel.make(components: components, features: d, eigenvalues: eigen, rows: rows, total: total, mean: mean,
                             subtractMean: p.subtractMean, mode: p.mode)
    }

    /// Where a pass reads its rows: a stream (rank 0 reads steps and broadcasts them) or rows
    /// already in memory (every rank reads its shards in place, nothing is copied).
    enum PassInput: Sendable {
        case stream(@Sendable () throws -> any DataSource)
        case memory(Matrix<Float>)
    }

    /// One pass in steps of ``stepShards`` micro-shards: every rank summarizes its contiguous run
    /// of the step's shards; the summaries are all-gathered and pushed, in shard order, into the
    /// same ``OrderedMerge`` on every rank. When cancelled, the merge of the rows read so far.
    /// `summarize(x, rows, shard, firstRow, scratch)` gets a shard's rows; `firstRow` (0-based in
    /// the channel) lets it name a bad row.
    func pass<S: Sendable>(
        channel: String, input: PassInput, width: Int,
        summarize: @escaping @Sendable (UnsafePointer<Float>, Int, Int, Int, inout [Float]) throws -> [Double],
        decode: @escaping @Sendable (ArraySlice<Double>) -> S, merge: @escaping @Sendable (S, S) -> S,
        server layout: ServerLayout? = nil,
        cancellation: CancellationFlag?, progress: @escaping @Sendable (Int) -> Void
    ) throws -> (S, Int, Bool) {
        let d = hyperparameters.featureDim
        let shardRows = Self.shardRows(features: d), stepRows = shardRows * Self.stepShards
        let group = self.group ?? InProcessWorkerGroup(workers: workers)
        let server = try layout.flatMap { try makeServer($0) }
        return try group.run { comm -> (S, Int, Bool) in
          do {
            var reader: DenseRowBlocks? = nil
            if comm.rank == 0, case .stream(let open) = input {
                reader = DenseRowBlocks(channel: channel, features: d, blockRows: stepRows, source: try open())
            }
            var merger = OrderedMerge<S>(merge)
            var rows = 0, shardsBefore = 0, cancelled = false, stepIndex = 0
            var scratch: [Float] = []
            while true {
                // The step's rows: from memory directly, or rank 0's message [state, rows, values…]
                // (state 0 = data, 1 = end, 2 = cancelled).
                let n: Int
                var step: [Float] = []
                switch input {
                case .memory(let x):
                    // Every rank sees the flag at the same step: rank 0 decides and broadcasts.
                    let stop = try comm.broadcast([cancellation?.isCancelled == true ? 1 : 0], root: 0)
                    if stop[0] == 1 { cancelled = true }
                    n = cancelled ? 0 : min(stepRows, x.rows - rows)
                case .stream:
                    var message: [Float] = []
                    if comm.rank == 0 {
                        if cancellation?.isCancelled == true {
                            message = [2, 0]
                        } else if let block = try reader?.next() {
                            message = [0, Float(block.rows)]
                            block.withUnsafeBufferPointer { message.append(contentsOf: $0) }
                        } else {
                            message = [1, 0]
                        }
                    }
                    step = try comm.broadcast(message, root: 0)
                    if step[0] == 2 { cancelled = true }
                    n = step[0] == 0 ? Int(step[1]) : 0
                }
                if n == 0 { break }
                let shards = MicroShards(rows: n, shardRows: shardRows)
                let mine = shards.shards(forRank: comm.rank, of: comm.size)
                var local: [Double] = []
                local.reserveCapacity(mine.count * width)
                func summarizeMine(_ x: UnsafePointer<Float>) throws {
                    for s in mine {
                        let r = shards.rows(ofShard: s)
                        local += try summarize(x + r.lowerBound * d, r.count, shardsBefore + s, rows + r.lowerBound, &scratch)
                    }
                }
                switch input {
                case .memory(let x):
                    try x.withUnsafeBufferPointer { buffer in
                        // invariant: the matrix has the rows this step covers
                        try summarizeMine(buffer.baseAddress! + rows * d) // invariant: see above
                    }
                case .stream:
                    try step.withUnsafeBufferPointer { buffer in
                        // invariant: the message holds the state, the row count, then n × d values
                        try summarizeMine(buffer.baseAddress! + 2) // invariant: see above
                    }
                }
                if let server {
                    let summaries = mine.enumerated().map { t, s in (index: shardsBefore + s, values: Array(local[(t * width)..<((t + 1) * width)])) }
                    try server.push(worker: comm.rank, step: stepIndex, summaries: summaries)
                } else {
                    let all = try comm.allGather(local)
                    for part in all {
                        for s in 0..<(part.count / width) { merger.push(decode(part[(s * width)..<((s + 1) * width)])) }
                    }
                }
                stepIndex += 1
                rows += n
                shardsBefore += shards.count
                if comm.rank == 0 { progress(rows) }
            }
            if let server, let layout {
                // Every worker's pushes are in once all are here; each shard's merge is complete.
                try comm.barrier()
                let bands = server.merged()
                if bands.allSatisfy({ $0 != nil }) { merger.push(decode(layout.join(bands.compactMap { $0 })[...])) }
            }
            guard let result = merger.finish() else { return (decode([Double](repeating: 0, count: width)[...]), 0, cancelled) }
            return (result, rows, cancelled)
          } catch {
            // Workers waiting on the server rather than in a collective must not wait on.
            server?.abort(reason: "worker \(comm.rank): \(error)")
            throw error
          }
        }
    }

    /// The first non-finite value of a shard, as the error that names it.
    static func nonFinite(_ x: UnsafePointer<Float>, rows: Int, features d: Int, firstRow: Int, channel: String) -> UnsupervisedDataError? {
        for i in 0..<(rows * d) where !x[i].isFinite {
            return .nonFinite(channel: channel, row: firstRow + i / d + 1, column: i % d + 1, value: Double(x[i]))
        }
        return nil
    }

    /// The model from the merged scatter: the top eigenvectors of the covariance (`syevd`).
    func model(from summary: PCAScatter) throws -> PCAModel {
        let p = hyperparameters, d = p.featureDim, n = Double(summary.count)
        var m = summary.scatter
        if !p.subtractMean {
            // The uncentred second moment Σxxᵀ = scatter + n·μμᵀ.
            for i in 0..<d { for j in 0..<d { m[i * d + j] += n * summary.mean[i] * summary.mean[j] } }
        }
        var total = 0.0
        for i in 0..<d { total += m[i * d + i] }
        guard total > 0 else { throw UnsupervisedDataError.noVariance(channel: "train", rows: summary.count) }
        let (values, vectors) = try LAPACK.syevd(Matrix(rows: d, columns: d, elements: m))
        // invariant: syevd returns vectors when asked for them
        let v = vectors! // invariant: see above
        let k = p.numComponents
        var components = [Double](repeating: 0, count: d * k)
        var eigen = [Double](repeating: 0, count: k)
        for c in 0..<k {
            // syevd sorts ascending; the largest is last.
            let j = d - 1 - c
            eigen[c] = max(0, values[j])
            for i in 0..<d { components[i * k + c] = v[i, j] }
        }
        return PCAModel.make(components: components, features: d, eigenvalues: eigen, rows: summary.count, total: total,
                             mean: p.subtractMean ? summary.mean : [Double](repeating: 0, count: d), subtractMean: p.subtractMean,
                             mode: p.mode)
    }

    /// Randomized mode's basis: the right singular vectors of C = B − h·sᵀ/n (d × q, row-major).
    func sketchBasis(_ sketch: PCASketch, mean: [Double]) throws -> [Double] {
        let d = sketch.features, l = sketch.rows
        var c = sketch.b
        for r in 0..<l { for j in 0..<d { c[r * d + j] -= sketch.h[r] * mean[j] } }
        let (_, _, vt) = try LAPACK.gesdd(Matrix(rows: l, columns: d, elements: c), vectors: .thin)
        // invariant: gesdd returns Vᵀ (min(ℓ, d) × d) for .thin
        let v = vt! // invariant: see above
        let q = v.rows
        var basis = [Double](repeating: 0, count: d * q)
        for r in 0..<q { for j in 0..<d { basis[j * q + r] = v[r, j] } }
        return basis
    }

    /// ((X − μ)·Q)ᵀ((X − μ)·Q) of one micro-shard (q×q, flattened), in Float with a Double result.
    static func projectedGram<T: BLASScalar>(rows: Int, features d: Int, x: UnsafePointer<Float>, mean: [Float], basis: [Float],
                                             scratch: inout [T]) -> [Double] {
        let q = basis.count / d
        var centred = [Float](repeating: 0, count: rows * d)
        for i in 0..<rows { for j in 0..<d { centred[i * d + j] = x[i * d + j] - mean[j] } }
        var y = [Float](repeating: 0, count: rows * q)
        var g = [Float](repeating: 0, count: q * q)
        // invariant: positive sizes within Int32
        try! BLAS.gemm(m: rows, n: q, k: d, alpha: 1, a: centred, lda: d, b: basis, ldb: q, beta: 0, c: &y, ldc: q) // invariant: see above
        try! BLAS.syrk(upper: true, transpose: .transpose, n: q, k: rows, alpha: 1, a: y, lda: q, beta: 0, c: &g, ldc: q) // invariant: see above
        var out = [Double](repeating: 0, count: q * q)
        for i in 0..<q { for j in i..<q { out[i * q + j] = Double(g[i * q + j]); out[j * q + i] = Double(g[i * q + j]) } }
        return out
    }

    /// Rayleigh–Ritz: the eigenvectors W of the q×q Gram give components Q·W with exact variances.
    func ritzModel(gram: [Double], basis: [Double], mean: [Double], rows: Int, total: Double) throws -> PCAModel {
        let p = hyperparameters, d = p.featureDim, q = basis.count / d, k = p.numComponents
        guard total > 0 else { throw UnsupervisedDataError.noVariance(channel: "train", rows: rows) }
        let (values, vectors) = try LAPACK.syevd(Matrix(rows: q, columns: q, elements: gram))
        // invariant: syevd returns vectors when asked for them
        let w = vectors! // invariant: see above
        var components = [Double](repeating: 0, count: d * k)
        var eigen = [Double](repeating: 0, count: k)
        for c in 0..<min(k, q) {
            let j = q - 1 - c
            eigen[c] = max(0, values[j])
            for i in 0..<d {
                var t = 0.0
                for r in 0..<q { t += basis[i * q + r] * w[r, j] }
                components[i * k + c] = t
            }
        }
        return PCAModel.make(components: components, features: d, eigenvalues: eigen, rows: rows, total: total,
                             mean: mean, subtractMean: p.subtractMean, mode: p.mode)
    }
}
