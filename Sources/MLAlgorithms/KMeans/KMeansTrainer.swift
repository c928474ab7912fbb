import Foundation
import MLCore

/// SageMaker's k-means (reference §4.3): Sculley's web-scale mini-batch k-means on K = k ×
/// `extra_center_factor` centres, then a local Lloyd reduction of the K centres (weighted by the
/// rows they absorbed) to k, best of `local_lloyd_num_trials`.
///
/// 1. The K centres are chosen from the first mini-batch (`init_method`; fewer when the first
///    mini-batch has fewer than K rows, as SageMaker logs "Effective batch size used to initialize").
/// 2. Each mini-batch (the first included) is assigned to the closest centres; centre j, with
///    weight Nⱼ and mⱼ new rows of mean x̄ⱼ, moves to (1−p)·cⱼ + p·x̄ⱼ with p = mⱼ/(Nⱼ+mⱼ), then
///    Nⱼ ← Nⱼ + mⱼ. With `half_life_time_size` h > 0 every weight is first multiplied by
///    0.5^(b/h) for a mini-batch of b rows, so a row's influence halves every h rows.
/// 3. The per-centre sums are computed per micro-shard of ``shardRows`` rows and reduced in the
///    fixed tree over the ``Communicator``: 1 or N workers give the same bits.
public struct KMeansTrainer: Sendable {
    public let hyperparameters: KMeansHyperparameters
    public var workers: Int
    /// Where the ranks run: `nil` means ``workers`` threads of this process; an MPI group
    /// (MLCluster) runs one rank per process, with the same bits for the same rank count.
    public var group: (any WorkerGroup)?
    public var seed: UInt64
    /// Mini-batch centre updates through a parameter server of this shape instead of
    /// all-reduce (`nil`: all-reduce); in-process workers only. See `KMeansTrainer+ParameterServer.swift`.
    public var parameterServer: NetworkParameterServer?
    public static let shardRows = 1024

    public init(hyperparameters: KMeansHyperparameters, workers: Int = 1, seed: UInt64 = 0) {
        self.hyperparameters = hyperparameters
        self.workers = max(1, workers)
        self.seed = seed
    }

    public struct Result: Sendable {
        public var model: KMeansModel
        /// The streaming state at the end (a checkpoint to resume from when `cancelled`).
        public var state: KMeansTrainingState
        /// The last epoch's mean squared distance of the rows to their streaming centre at assignment time.
        public var trainMSD: Double
        /// Streaming centres actually used (K, or fewer when the first mini-batch was smaller).
        public var streamingCentres: Int
        /// The weighted loss of the kept reduction trial.
        public var reductionLoss: Double
        public var cancelled: Bool
        public var epochSeconds: [Double]
        /// Rows per epoch.
        public var rows: Int
    }

    /// Trains on rows in memory.
    public func fit(_ features: Features, channel: String = "train") throws -> Result {
        try fit(channel: channel, passes: { _ in MatrixSource(features) })
    }

    /// Trains on a channel read once per epoch (`open(epoch)`), resuming from `state` when given.
    public func fit(channel: String = "train", passes open: @escaping PassOpener, resumingFrom resumed: KMeansTrainingState? = nil,
                    cancellation: CancellationFlag? = nil, events: @Sendable (TrainingEvent) -> Void = { _ in },
                    checkpoint: ((KMeansTrainingState) throws -> Void)? = nil) throws -> Result {
        let p = hyperparameters, d = p.featureDim
        var state = resumed ?? KMeansTrainingState()
        if !state.centres.isEmpty, state.centres.count % d != 0 || state.weights.count * d != state.centres.count {
            throw UnsupervisedDataError.incompatibleState(reason: "the state's centres do not have feature_dim \(d)")
        }
        var seconds: [Double] = []
        var rowsPerEpoch = 0
        var server: KMeansServer? = nil
        var serverSteps = 0
        while state.epoch < p.epochs {
            let started = ProcessInfo.processInfo.systemUptime
            var reader = DenseRowBlocks(channel: channel, features: d, blockRows: p.miniBatchSize, source: try open(state.epoch))
            if state.batch > 0 { try reader.skip(rows: state.batch * p.miniBatchSize) }
            while let batch = try reader.next() {
                if state.centres.isEmpty { try initialize(&state, from: batch, channel: channel, events: events) }
                if parameterServer != nil {
                    if server == nil { server = try makeServer(state, events: events) }
                    // invariant: made just above
                    try step(&state, batch: batch, server: server!, index: serverSteps)
                    serverSteps += 1
                } else {
                    try step(&state, batch: batch)
                }
                state.batch += 1
                if try stopAgreed(cancellation) {
                    return try finish(state, cancelled: true, seconds: seconds, rows: reader.rowsDelivered, events: events)
                }
            }
            if state.centres.isEmpty { throw UnsupervisedDataError.emptyChannel(channel: channel) }
            rowsPerEpoch = reader.rowsDelivered
            let elapsed = ProcessInfo.processInfo.systemUptime - started
            seconds.append(elapsed)
            events(.note("Epoch \(state.epoch): \(reader.rowsDelivered) rows in \(state.batch) mini-batch(es), train msd (to the streaming centres) "
                         + String(format: "%.6g", state.epochLoss / Double(max(1, state.epochRows)))
                         + String(format: ", %.0f records/second", Double(reader.rowsDelivered) / max(elapsed, 1e-9))))
            // A checkpoint at every epoch end, the last included: a restart after it only reduces.
            state.epoch += 1
            state.batch = 0
            if state.epoch < p.epochs {
                state.epochLoss = 0
                state.epochRows = 0
            }
            try checkpoint?(state)
        }
        return try finish(state, cancelled: false, seconds: seconds, rows: rowsPerEpoch, events: events)
    }

    /// Picks the streaming centres from the first mini-batch.
    func initialize(_ state: inout KMeansTrainingState, from batch: Matrix<Float>, channel: String, events: (TrainingEvent) -> Void) throws {
        let p = hyperparameters, d = p.featureDim
        guard batch.rows >= p.k else {
            throw UnsupervisedDataError.tooFewRows(channel: channel, rows: batch.rows, parameter: "k", value: p.k,
                                                   rule: "at least k rows in the first mini-batch (mini_batch_size=\(p.miniBatchSize)) to choose the initial centres from")
        }
        let count = min(p.streamingCentres, batch.rows)
        if batch.rows < p.miniBatchSize {
            events(.note("Batch size \(p.miniBatchSize) is bigger than the first batch data. Effective batch size used to initialize is \(batch.rows)"))
        }
        var random = RandomStream(seed: seed, path: [1])
        let chosen = batch.withUnsafeBufferPointer { x in
            // invariant: rows ≥ k ≥ 1
            KMeansSeeding.choose(p.initMethod, count: count, rows: batch.rows, features: d, x: x.baseAddress!, random: &random) // invariant: see above
        }
        var centres = [Float](repeating: 0, count: count * d)
        for (j, row) in chosen.enumerated() { for t in 0..<d { centres[j * d + t] = batch[row, t] } }
        state.centres = centres
        state.weights = [Double](repeating: 0, count: count)
        events(.note("Initialized \(count) streaming centres (k=\(p.k) × extra_center_factor=\(p.extraCenterFactor)) by \(p.initMethod.rawValue)"))
    }

    /// Whether to stop after this mini-batch. Across processes rank 0's view of the flag is
    /// broadcast, so every process stops after the same mini-batch (SIGTERM reaches them at
    /// different moments); in one process every worker shares the flag.
    func stopAgreed(_ cancellation: CancellationFlag?) throws -> Bool {
        let local = cancellation?.isCancelled == true
        guard let group, !(group is InProcessWorkerGroup), group.size > 1 else { return local }
        return try group.run { comm in try comm.broadcast([local ? 1.0 : 0.0], root: 0)[0] == 1 }
    }

    /// Rows `r` of `x` assigned to `prepared`'s closest centres and summed per centre.
    static func accumulate(_ prepared: KMeansCentres, rows r: Range<Int>, x: UnsafePointer<Float>, count: Int, d: Int,
                           scratch: inout [Float]) -> KMeansAccumulator {
        var labels = [Int32](repeating: 0, count: r.count), distances = [Float](repeating: 0, count: r.count)
        var acc = KMeansAccumulator(k: count, d: d)
        labels.withUnsafeMutableBufferPointer { l in
            distances.withUnsafeMutableBufferPointer { dd in
                // invariant: micro-shards are non-empty, so both buffers have a base address
                prepared.assign(rows: r.count, x: x + r.lowerBound * d, labels: l.baseAddress!, distances: dd.baseAddress!, scratch: &scratch) // invariant: see above
                acc.add(rows: r.count, x: x + r.lowerBound * d, weights: nil, labels: l.baseAddress!, distances: dd.baseAddress!) // invariant: see above
            }
        }
        return acc
    }

    /// One mini-batch update.
    func step(_ state: inout KMeansTrainingState, batch: Matrix<Float>) throws {
        let p = hyperparameters, d = p.featureDim, count = state.weights.count
        let prepared = KMeansCentres(values: state.centres, count: count, features: d)
        let shards = MicroShards(rows: batch.rows, shardRows: Self.shardRows)
        let width = KMeansAccumulator.width(k: count, d: d)
        let totals = try batch.withUnsafeBufferPointer { xb in
            let x = SharedPointer(xb.baseAddress!) // invariant: a batch has ≥ 1 row
            // A rank without shards adds nothing; the fixed tree over the shards gives the same
            // bits whatever the rank count.
            let group = self.group ?? InProcessWorkerGroup(workers: min(workers, shards.count))
            return try group.run { comm -> [Double] in
                var local: [Double] = []
                var scratch: [Float] = []
                for s in shards.shards(forRank: comm.rank, of: comm.size) {
                    local += Self.accumulate(prepared, rows: shards.rows(ofShard: s), x: x.base, count: count, d: d, scratch: &scratch).values
                }
                return try comm.reduceMicroShards(local, width: width, shards: shards)
            }
        }
        let decay = p.halfLifeTimeSize > 0 ? pow(0.5, Double(batch.rows) / Double(p.halfLifeTimeSize)) : 1
        for j in 0..<count {
            let previous = state.weights[j] * decay
            let m = totals[count * d + j]
            if m > 0 {
                let share = m / (previous + m)
                for t in 0..<d {
                    let mean = totals[j * d + t] / m
                    let c = Double(state.centres[j * d + t])
                    state.centres[j * d + t] = Float(c + share * (mean - c))
                }
            }
            state.weights[j] = previous + m
        }
        state.epochLoss += totals[width - 1]
        state.epochRows += batch.rows
    }

    /// Reduces the streaming centres to k (best of the local Lloyd trials) and builds the model.
    func finish(_ state: KMeansTrainingState, cancelled: Bool, seconds: [Double], rows: Int, events: (TrainingEvent) -> Void) throws -> Result {
        let p = hyperparameters, d = p.featureDim, count = state.weights.count
        // invariant: the centres array holds count × d values (checked on resume, built so otherwise)
        let streaming = try! Matrix(rows: count, columns: d, elements: state.centres) // invariant: see above
        let trainMSD = state.epochLoss / Double(max(1, state.epochRows))
        guard count > p.k else {
            return Result(model: KMeansModel(centroids: streaming), state: state, trainMSD: trainMSD, streamingCentres: count,
                          reductionLoss: 0, cancelled: cancelled, epochSeconds: seconds, rows: rows)
        }
        events(.note("shrinking \(count) centers into \(p.k)"))
        let weights = state.weights.map(Float.init)
        var best: KMeansLloyd.Result?
        for trial in 0..<p.localLloydTrials {
            var random = RandomStream(seed: seed, path: [2, UInt64(trial)])
            let chosen = streaming.withUnsafeBufferPointer { x in
                // invariant: count > k ≥ 1
                KMeansSeeding.choose(p.localLloydInitMethod, count: p.k, rows: count, features: d, x: x.baseAddress!, weights: weights, random: &random) // invariant: see above
            }
            var initial = Matrix<Float>(rows: p.k, columns: d)
            for (j, row) in chosen.enumerated() { for t in 0..<d { initial[j, t] = streaming[row, t] } }
            let result = try KMeansLloyd.run(streaming, weights: weights, initial: initial, maxIterations: p.localLloydMaxIterations,
                                             tolerance: .relativeLoss(p.localLloydTolerance))
            events(.note("local kmeans attempt #\(trial): loss \(String(format: "%.6g", result.inertia)) after \(result.iterations) iteration(s)"))
            if best == nil || result.inertia < best!.inertia { best = result } // invariant: checked non-nil first
        }
        events(.note("finished shrinking process"))
        // invariant: local_lloyd_num_trials ≥ 1, so one trial ran
        let kept = best! // invariant: see above
        return Result(model: KMeansModel(centroids: kept.centres), state: state, trainMSD: trainMSD, streamingCentres: count,
                      reductionLoss: kept.inertia, cancelled: cancelled, epochSeconds: seconds, rows: rows)
    }

    /// Σ squared distance to the closest centroid over a channel, and its rows (msd = ssd / rows).
    public static func evaluate(_ model: KMeansModel, channel: String, source: any DataSource) throws -> (ssd: Double, rows: Int) {
        var reader = DenseRowBlocks(channel: channel, features: model.features, blockRows: 65_536, source: source)
        var ssd = 0.0
        while let block = try reader.next() { ssd += model.squaredDistanceSum(block) }
        return (ssd, reader.rowsDelivered)
    }
}
