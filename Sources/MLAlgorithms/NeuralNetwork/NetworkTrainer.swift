import Foundation
import MLCore

/// Trains a ``Network`` by mini-batch gradient descent, data-parallel over
/// ``InProcessCommunicator`` workers with bit-identical results for any worker count.
///
/// Each mini-batch is cut into micro-shards of ``Settings/microShardRows`` rows (a setting,
/// never derived from the worker count). A worker runs forward and backward over each of its
/// micro-shards on one thread with single-threaded BLAS, into one partial vector per shard:
/// the gradient, the shard's weighted batch-norm statistics, its summed loss and correct count.
/// The partials are summed over all shards in one fixed tree
/// (``Communicator/reduceMicroShards(_:width:shards:)``), and every worker applies the same
/// optimizer step, so every worker holds the same parameters.
public struct NetworkTrainer: Sendable {
    public struct Settings: Sendable, Codable, Hashable {
        public var epochs: Int = 10
        public var batchSize: Int = 64
        /// Rows per micro-shard: the unit of work of one worker, and batch-norm's batch.
        public var microShardRows: Int = 16
        public var optimizer: Optimizer = .sgd(learningRate: 0.01, momentum: 0.9)
        public var decay: LearningRateDecay = .constant
        /// Step the learning-rate decay after every mini-batch instead of every epoch.
        public var decayEveryStep = false
        public var loss: Loss = .crossEntropy
        /// Visit the rows in a new seeded order each epoch (else in stored order).
        public var shuffle = true
        public var seed: UInt64 = 0
        public var workers: Int = 1
        /// A mini-batch loss this many times the first mini-batch's (and above 10) stops training
        /// as diverged.
        public var explosionFactor: Double = 1000
        /// Seconds a worker waits for the others in a collective before the run fails.
        public var collectiveTimeout: Double = 600
        /// Also measure top-k accuracy with this k (0: no). Classification only.
        public var topK: Int = 0
        /// What decides the best epoch (the network ``Result/best`` keeps) and what early stopping
        /// watches.
        public var selection: Selection = .validationLoss
        /// Stop when the selection metric stops improving on validation (`nil`: never).
        public var earlyStopping: EarlyStopping?

        public init() {}

        public func validate() throws(NetworkError) {
            func positive(_ name: String, _ v: Int) throws(NetworkError) {
                guard v > 0 else { throw .invalidSetting(name: name, value: "\(v)", rule: "must be positive") }
            }
            guard epochs >= 0 else { throw .invalidSetting(name: "epochs", value: "\(epochs)", rule: "must be ≥ 0") }
            try positive("mini_batch_size", batchSize)
            try positive("micro_shard_rows", microShardRows)
            try positive("workers", workers)
            try optimizer.validate()
            try decay.validate()
            guard explosionFactor > 1 else {
                throw .invalidSetting(name: "explosion_factor", value: "\(explosionFactor)", rule: "must be > 1")
            }
            guard topK >= 0 else { throw .invalidSetting(name: "top_k", value: "\(topK)", rule: "must be ≥ 0") }
            if topK > 0, !loss.isClassification {
                throw .invalidSetting(name: "top_k", value: "\(topK)", rule: "needs a classification loss (softmax cross-entropy)")
            }
            if selection == .validationAccuracy, !loss.isClassification, !loss.isMultiLabel {
                throw .invalidSetting(name: "selection", value: "validation accuracy", rule: "needs a classification or multi-label loss")
            }
            if let earlyStopping { try earlyStopping.validate() }
        }
    }

    /// The metric that picks the best epoch: the lowest validation loss, or the highest
    /// validation accuracy (SageMaker's image classifier keeps "the best model with validation
    /// accuracy").
    public enum Selection: String, Sendable, Codable, Hashable {
        case validationLoss
        case validationAccuracy
    }

    /// Early stopping on the selection metric, as SageMaker's image classifier does it: after
    /// at least ``minEpochs`` epochs, stop once ``patience`` epochs in a row brought no relative
    /// improvement larger than ``tolerance`` over the best value so far
    /// (`(new − best) / |best|` for accuracy, `(best − new) / |best|` for loss).
    public struct EarlyStopping: Sendable, Codable, Hashable {
        public var minEpochs: Int
        public var patience: Int
        public var tolerance: Double

        public init(minEpochs: Int, patience: Int, tolerance: Double) {
            self.minEpochs = minEpochs
            self.patience = patience
            self.tolerance = tolerance
        }

        public func validate() throws(NetworkError) {
            guard minEpochs >= 0 else { throw .invalidSetting(name: "early_stopping_min_epochs", value: "\(minEpochs)", rule: "must be ≥ 0") }
            guard patience > 0 else { throw .invalidSetting(name: "early_stopping_patience", value: "\(patience)", rule: "must be positive") }
            guard tolerance >= 0, tolerance.isFinite else {
                throw .invalidSetting(name: "early_stopping_tolerance", value: "\(tolerance)", rule: "must be finite and ≥ 0")
            }
        }

        /// Whether `value` improves on `best` by more than the tolerance (any value improves on none).
        func improves(_ value: Double, on best: Double?, higherIsBetter: Bool) -> Bool {
            guard let best else { return true }
            let gain = higherIsBetter ? value - best : best - value
            guard gain > 0 else { return false }
            return best == 0 ? true : gain / abs(best) > tolerance
        }
    }

    public var settings: Settings
    /// Where the ranks run: `nil` means ``Settings/workers`` threads of this process; an MPI
    /// group (MLCluster) runs one rank per process, with the same bits for the same rank count.
    public var group: (any WorkerGroup)?

    public init(settings: Settings, group: (any WorkerGroup)? = nil) {
        self.settings = settings
        self.group = group
    }

    /// The group training runs on.
    var workerGroup: any WorkerGroup {
        group ?? InProcessWorkerGroup(workers: settings.workers, timeout: settings.collectiveTimeout)
    }

    /// Why training ended.
    public enum StopReason: Sendable, Equatable, Codable {
        case completedEpochs
        case cancelled
        /// Early stopping ended the run after the epoch ``NetworkTrainingState/epochsCompleted`` − 1.
        case earlyStopped
    }

    public struct Result: Sendable {
        /// The network after the last step.
        public var network: Network
        /// The network after the epoch with the best validation loss or accuracy (see
        /// ``Settings/selection``; the last network without validation data).
        public var best: Network
        public var state: NetworkTrainingState
        public var stopReason: StopReason
    }

    /// Trains `network` on `train`, evaluating on `validation` after every epoch.
    ///
    /// `resume` continues a stopped run (the same data, settings and network shape) from the
    /// step after the one it saved; `checkpoint` receives the state after every epoch, and
    /// after the step at which `cancellation` was seen. Events: progress every step, an epoch
    /// summary per epoch.
    public func fit(
        _ network: Network, train: any NetworkInputs, validation: (any NetworkInputs)? = nil,
        resume: NetworkTrainingState? = nil, cancellation: CancellationFlag? = nil,
        checkpoint: (@Sendable (NetworkTrainingState) throws -> Void)? = nil,
        events: @escaping @Sendable (TrainingEvent) -> Void = { _ in }
    ) throws -> Result {
        try settings.validate()
        let channels: [(String, any NetworkInputs)] = [("train", train)] + (validation.map { [("validation", $0)] } ?? [])
        for (name, data) in channels {
            guard data.shape == network.inputShape else {
                throw NetworkError.invalidInput(reason: "\(name) images are \(data.shape), the network takes \(network.inputShape)")
            }
            guard data.targetWidth == settings.loss.targetWidth(outputs: network.outputShape.count) else {
                throw NetworkError.invalidInput(reason: "\(name) has \(data.targetWidth) target values per row, the loss needs "
                                                + "\(settings.loss.targetWidth(outputs: network.outputShape.count))")
            }
            try settings.loss.validate(targets: data.targets, outputs: network.outputShape.count)
        }
        guard train.rows > 0 else { throw NetworkError.invalidInput(reason: "the training data has no rows") }

        var state: NetworkTrainingState
        if let resume {
            guard resume.parameters.count == network.parameters.count, resume.buffers.count == network.buffers.count else {
                throw NetworkError.incompatibleWeights(reason: "the saved state has \(resume.parameters.count) parameters and \(resume.buffers.count) "
                                                       + "buffer values, the network \(network.parameters.count) and \(network.buffers.count)")
            }
            guard resume.seed == settings.seed, resume.trainRows == train.rows else {
                throw NetworkError.incompatibleWeights(reason: "the saved state was trained with seed \(resume.seed) on \(resume.trainRows) rows, "
                                                       + "this run has seed \(settings.seed) and \(train.rows) rows")
            }
            state = resume
        } else {
            state = NetworkTrainingState(network: network, seed: settings.seed, trainRows: train.rows)
        }

        _ = ComputeContext(threads: settings.workers, blasThreadPolicy: .singleThreaded, seed: settings.seed).applyBLASPolicy()
        var stopReason = StopReason.completedEpochs
        if state.epochsCompleted < settings.epochs {
            let start = state, settings = settings
            (state, stopReason) = try workerGroup.run { comm in
                func work<C: Communicator>(_ comm: C) throws -> (NetworkTrainingState, StopReason) {
                    var worker = try TrainingWorker(settings: settings, network: network, train: train, validation: validation, comm: comm,
                                                    cancellation: cancellation, checkpoint: checkpoint, events: events)
                    var s = start
                    let reason = try worker.run(&s)
                    return (s, reason)
                }
                return try work(comm)
            }
        }
        var last = network
        last.parameters = state.parameters
        last.buffers = state.buffers
        last.batchesTracked = state.batchesTracked
        var best = last
        if let b = state.best {
            best.parameters = b.parameters
            best.buffers = b.buffers
            best.batchesTracked = b.batchesTracked
        }
        return Result(network: last, best: best, state: state, stopReason: stopReason)
    }
}

/// Everything a stopped run needs to continue to the same bits: the parameters, buffers and
/// optimizer state, where in which epoch it stopped, the epoch's running sums, the history and
/// the best network so far.
public struct NetworkTrainingState: Sendable, Codable, Hashable {
    public struct Snapshot: Sendable, Codable, Hashable {
        public var epoch: Int
        public var validationLoss: Double
        public var validationAccuracy: Double?
        public var parameters: [Float]
        public var buffers: [Float]
        public var batchesTracked: Int
    }

    public struct EpochRecord: Sendable, Codable, Hashable {
        public var epoch: Int
        public var trainLoss: Double
        public var trainAccuracy: Double?
        public var validationLoss: Double?
        public var validationAccuracy: Double?
        public var trainTopKAccuracy: Double?
        public var validationTopKAccuracy: Double?
        /// Mean loss of each mini-batch (before its update), in order.
        public var stepLosses: [Float]
    }

    public var seed: UInt64
    public var trainRows: Int
    public var parameters: [Float]
    public var buffers: [Float]
    public var batchesTracked: Int
    public var optimizer: Optimizer.State = .init()
    public var epochsCompleted = 0
    /// Mini-batches of the current epoch already applied.
    public var stepInEpoch = 0
    /// Mini-batches applied over the whole run.
    public var steps = 0
    /// The current epoch's sums so far: loss, correct rows, rows, and per-step losses.
    public var epochLoss = 0.0
    public var epochCorrect = 0.0
    public var epochRows = 0
    public var epochStepLosses: [Float] = []
    /// The current epoch's top-k hits so far (when top-k accuracy is measured).
    public var epochTopK: Double?
    /// Early stopping: the best value of the selection metric so far, and the epochs since it
    /// last improved by more than the tolerance.
    public var earlyStoppingBest: Double?
    public var epochsWithoutImprovement: Int?
    /// The first mini-batch's loss: the reference for the explosion check.
    public var firstLoss: Double?
    public var history: [EpochRecord] = []
    public var best: Snapshot?

    init(network: Network, seed: UInt64, trainRows: Int) {
        self.seed = seed
        self.trainRows = trainRows
        parameters = network.parameters
        buffers = network.buffers
        batchesTracked = network.batchesTracked
    }
}
