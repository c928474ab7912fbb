import Foundation
import MLCore

/// Trains a ``LinearModel`` the way SageMaker's Linear Learner does, synchronously
/// data-parallel over ``Communicator`` workers, with bit-identical results for any worker count.
///
/// Each mini-batch (in a per-epoch shuffled order drawn from the seed) is cut into micro-shards of
/// ``microShardRows`` rows; each worker computes the loss and gradient of its contiguous run of
/// shards (BLAS single-threaded), the per-shard partials are combined over all shards in one
/// fixed tree (``Communicator/reduceMicroShards(_:width:shards:)``), and every worker applies the
/// same optimizer step to its replica of the parameters. Features (and, for regression, labels)
/// are normalized on the fly as rows are gathered into a shard, with statistics from a sample,
/// and the scaling is folded into the saved model.
///
/// After each epoch the model is scored on the validation channel (or, without one, the epoch's
/// training loss is used): an epoch whose loss is lower than the best so far becomes the best;
/// `early_stopping_patience` epochs in a row without a relative improvement of more than
/// `early_stopping_tolerance` stop training. The best epoch's parameters are the model.
public struct LinearLearnerTrainer: Sendable {
    public let hyperparameters: LinearLearnerHyperparameters
    public let settings: LinearLearnerSettings
    /// In-process workers (threads).
    public var workers: Int
    public var seed: UInt64
    /// Rows per micro-shard: a constant of the algorithm, never derived from ``workers``.
    public var microShardRows: Int = 256
    /// Visit the training rows in a fresh seeded order each epoch (SageMaker asks for shuffled
    /// data; shuffling here means users need not), in blocks of ``shuffleBlockRows(_:)`` rows.
    public var shuffle: Bool = true
    /// Bounds every wait in a collective (tests set it so a bug fails instead of hanging).
    public var collectiveTimeout: Double?
    /// A ``TrainingEvent/progress(epoch:completed:total:)`` every this many mini-batches.
    public var progressInterval: Int = 100

    public init(hyperparameters: LinearLearnerHyperparameters, workers: Int = ComputeContext.defaultThreadCount(), seed: UInt64 = 0) {
        self.hyperparameters = hyperparameters
        self.settings = LinearLearnerSettings(hyperparameters)
        self.workers = max(1, workers)
        self.seed = seed
    }

    public enum StopReason: Sendable, Equatable {
        case completedEpochs
        case earlyStopped(epoch: Int)
        /// The cancellation flag was set; ``Result/state`` resumes where training stopped.
        case cancelled
    }

    public struct Result: Sendable {
        /// The best epoch's model in raw-feature space (the last epoch's if training was cancelled
        /// before any epoch finished).
        public var model: LinearModel
        public var state: LinearTrainingState
        public var stopReason: StopReason
        /// Metrics of ``model`` on the validation and test channels, computed after training.
        public var finalMetrics: [MetricValue]
        public var history: [EpochSummary] { state.history }
        public var bestEpoch: Int? { state.best?.epoch }
    }

    /// Trains on `train`, selecting epochs on `validation`, and scores the result on `validation`
    /// and `test`. `events` (a trailing closure) receives progress and metrics; `checkpoint`
    /// receives the state after every finished epoch (both are called from one worker thread, in
    /// order).
    public func fit(
        train: LinearDataset, validation: LinearDataset? = nil, test: LinearDataset? = nil,
        resumingFrom resumed: LinearTrainingState? = nil, cancellation: CancellationFlag? = nil,
        events: @escaping @Sendable (TrainingEvent) -> Void = { _ in },
        checkpoint: (@Sendable (LinearTrainingState) throws -> Void)? = nil
    ) throws -> Result {
        _ = ComputeContext(threads: workers, blasThreadPolicy: .singleThreaded, seed: seed).applyBLASPolicy()
        let features = settings.featureDim ?? train.features.columns
        let source = settings.featureDim == nil ? "the train channel" : "hyperparameter feature_dim"
        for dataset in [train, validation, test].compactMap({ $0 }) {
            try dataset.validate(for: settings, features: features, source: source, threads: workers)
        }
        let layout = LinearParameterLayout(features: features, outputs: settings.objective.outputs)

        var state: LinearTrainingState
        if let resumed {
            guard resumed.layout.features == layout.features, resumed.layout.outputs == layout.outputs else {
                throw LinearLearnerError.incompatibleState(
                    reason: "it has \(resumed.layout.features) features × \(resumed.layout.outputs) outputs, this run \(layout.features) × \(layout.outputs)")
            }
            guard resumed.seed == seed else {
                throw LinearLearnerError.incompatibleState(reason: "it was trained with seed \(resumed.seed), this run has \(seed)")
            }
            state = resumed
        } else {
            state = try initialState(train: train, layout: layout)
        }

        var stopReason: StopReason = .completedEpochs
        if !state.finished {
            let start = state
            let outcomes = try InProcessCommunicator.run(workers: workers, timeout: collectiveTimeout) { comm in
                var loop = EpochLoop(trainer: self, layout: layout, train: train, validation: validation,
                                     comm: comm, cancellation: cancellation, checkpoint: checkpoint, events: events)
                var s = start
                let reason = try loop.run(&s)
                return (s, reason)
            }
            // Every worker holds the same state; rank 0's is returned.
            (state, stopReason) = outcomes[0]
        } else if let last = state.history.last, last.epoch + 1 < settings.epochs {
            stopReason = .earlyStopped(epoch: last.epoch)
        }

        let parameters = state.best?.parameters ?? state.averaged.map { Float($0) }
        let raw = try state.scaler.foldedIntoRawSpace(parameters, layout: layout)
        let model = try LinearModel(predictorType: settings.predictorType, layout: layout, parameters: raw, scaler: state.scaler)
        var finalMetrics: [MetricValue] = []
        if stopReason != .cancelled {
            for dataset in [validation, test].compactMap({ $0 }) {
                let scores = try LinearEvaluation.scores(model: model, features: dataset.features)
                let metrics = try LinearEvaluation.finalMetrics(
                    settings: settings, scores: scores, dataset: dataset, classWeights: state.classWeights,
                    threshold: model.threshold)
                for m in metrics { events(.finalMetric(m)) }
                finalMetrics += metrics
            }
        }
        return Result(model: model, state: state, stopReason: stopReason, finalMetrics: finalMetrics)
    }

    /// The state before the first step: scaler statistics from a seeded sample, class weights,
    /// and seeded initial weights.
    func initialState(train: LinearDataset, layout: LinearParameterLayout) throws -> LinearTrainingState {
        let n = train.rows
        let sampleSize = min(n, settings.pointsForScaler)
        var sampleStream = RandomStream(seed: seed, path: [Purpose.scalerSample.rawValue])
        let sample = sampleSize == n ? Array(0..<n) : try sampleStream.sampleIndices(count: sampleSize, from: n).sorted()
        let d = layout.features
        var sampleX = Matrix<Float>(rows: sampleSize, columns: d)
        train.features.withUnsafeBufferPointer { src in
            sampleX.withUnsafeMutableBufferPointer { dst in
                for (k, i) in sample.enumerated() {
                    for j in 0..<d { dst[k * d + j] = src[i * d + j] }
                }
            }
        }
        let scaler = LinearScaler.fit(
            sample: sampleX, labels: settings.predictorType == .regressor ? sample.map { train.labels[$0] } : nil,
            normalizeData: settings.normalizeData, unbiasData: settings.unbiasData,
            normalizeLabel: settings.normalizeLabel, unbiasLabel: settings.unbiasLabel)

        var classWeights: [Double] = []
        switch settings.predictorType {
        case .binaryClassifier:
            switch settings.positiveWeight {
            case .value(let w): classWeights = [1, w]
            case .balanced:
                let positives = train.labels.reduce(0) { $0 + ($1 == 1 ? 1 : 0) }
                let negatives = n - positives
                // One class absent: balancing has nothing to balance.
                classWeights = [1, positives > 0 && negatives > 0 ? Double(negatives) / Double(positives) : 1]
            }
        case .multiclassClassifier:
            classWeights = [Double](repeating: 1, count: settings.classCount)
            if settings.balanceMulticlassWeights {
                var counts = [Int](repeating: 0, count: settings.classCount)
                for y in train.labels { counts[Int(y)] += 1 }
                let present = counts.filter { $0 > 0 }.count
                // scikit-learn's "balanced": n / (classes present × n_c).
                classWeights = counts.map { $0 > 0 ? Double(n) / Double(present * $0) : 1 }
            }
        case .regressor:
            break
        }

        var parameters = [Float](repeating: 0, count: layout.count)
        var initStream = RandomStream(seed: seed, path: [Purpose.initialWeights.rawValue])
        for i in 0..<layout.weightCount {
            switch settings.initialization {
            case .uniform(let scale): parameters[i] = Float((2 * initStream.nextDouble() - 1) * scale)
            case .normal(let sigma): parameters[i] = Float(initStream.standardNormal() * sigma)
            }
        }
        for c in 0..<layout.outputs { parameters[layout.biasOffset + c] = settings.useBias ? Float(settings.initialBias) : 0 }

        return LinearTrainingState(
            seed: seed, layout: .init(features: layout.features, outputs: layout.outputs), epoch: 0, batch: 0,
            parameters: parameters, averaged: parameters.map { Double($0) }, optimizer: OptimizerState(rule: settings.rule, count: layout.count), scaler: scaler,
            classWeights: classWeights, epochLoss: 0, epochWeight: 0, referenceLoss: nil, best: nil,
            epochsWithoutImprovement: 0, history: [], finished: false)
    }

    /// Rows kept together when an epoch's order is shuffled (the partial last block, if any,
    /// always comes last): 1 (a full row shuffle) up to 8,192
    /// rows, then growing to 64 at 524,288 rows. Gathering a mini-batch from random single rows of
    /// a large data set waits on a cache miss per row (it was half of the epoch's time at 900,000
    /// × 100); runs of 64 rows (25 KB at 100 features) stream from memory, and a 1,000-row
    /// mini-batch still draws from 16 random places. Depends on the row count only, never on
    /// the worker count.
    public static func shuffleBlockRows(_ rows: Int) -> Int { max(1, min(64, rows / 8192)) }

    /// What each seeded stream is for: the first element of its path.
    enum Purpose: UInt64 {
        case initialWeights = 1
        case scalerSample = 2
        case epochOrder = 3
    }
}
