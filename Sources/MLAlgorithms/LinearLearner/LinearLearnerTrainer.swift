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
    /// Where the ranks run: `nil` means ``workers`` threads of this process; an MPI group
    /// (MLCluster) runs one rank per process, with the same bits for the same rank count.
    public var group: (any WorkerGroup)?
    /// Train through a parameter server with these shards and consistency instead of
    /// all-reduce (hidden hyperparameters `_kvstore`, `_num_kv_servers`); `nil`: all-reduce.
    public var parameterServer: NetworkParameterServer?

    /// The group training runs on.
    var workerGroup: any WorkerGroup { group ?? InProcessWorkerGroup(workers: workers, timeout: collectiveTimeout) }

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
        /// The selected model in raw-feature space, with its tuned threshold (the last epoch's
        /// model 0 if training was cancelled before any epoch finished).
        public var model: LinearModel
        public var state: LinearTrainingState
        public var stopReason: StopReason
        /// Metrics of ``model`` on the validation and test channels, computed after training.
        public var finalMetrics: [MetricValue]
        /// Which of the models trained side by side was kept, and why.
        public var selection: Selection?
        /// Streamed training: the most rows held in memory at once (shuffle buffer and the
        /// reader's current batch).
        public var streamPeakRows: Int?
        /// Through a parameter server: its traffic (pushes, pulls, updates, bytes).
        public var serverTraffic: ParameterServerStatistics?
        public var history: [EpochSummary] { state.history }
        /// The kept model's best epoch.
        public var bestEpoch: Int? { state.best.map { $0.epochs[selection?.model ?? 0] } }
    }

    /// The outcome of model selection.
    public struct Selection: Sendable, Equatable {
        public var model: Int
        public var variant: LinearModelVariant
        /// Each model's value of the criterion on the calibration rows (higher is better; the
        /// negated objective for loss-based selection; `nil` for a diverged model).
        public var values: [Double?]
        public var threshold: Float
        /// Where the calibration rows came from: `validation`, `held-out train` or `train`.
        public var calibrationSource: String
        public var calibrationRows: Int
    }

    /// Trains on `train`, selecting epochs on `validation`, and scores the result on `validation`
    /// and `test`. `events` (a trailing closure) receives progress and metrics; `checkpoint`
    /// receives the state after every finished epoch (both are called from one worker thread, in
    /// order).
    ///
    /// Without a validation channel, when a choice has to be made on data the models did not
    /// train on (several models, or a binary threshold), a seeded sample of
    /// ``heldOutRows(trainRows:calibrationSamples:)`` training rows is held out for it.
    public func fit(
        train: LinearDataset, validation: LinearDataset? = nil, test: LinearDataset? = nil,
        resumingFrom resumed: LinearTrainingState? = nil, cancellation: CancellationFlag? = nil,
        events: @escaping @Sendable (TrainingEvent) -> Void = { _ in },
        checkpoint: (@Sendable (LinearTrainingState) throws -> Void)? = nil
    ) throws -> Result {
        let features = settings.featureDim ?? train.columns
        let source = settings.featureDim == nil ? "the train channel" : "hyperparameter feature_dim"
        for dataset in [train, validation, test].compactMap({ $0 }) {
            try dataset.validate(for: settings, features: features, source: source, threads: workers)
        }
        var trainPart = train, calibration = validation
        var calibrationSource = "validation"
        if validation == nil, needsCalibration {
            let held = Self.heldOutRows(trainRows: train.rows, calibrationSamples: settings.calibrationSamples)
            if held > 0 {
                var stream = RandomStream(seed: seed, path: [Purpose.heldOut.rawValue])
                let out = Set(try stream.sampleIndices(count: held, from: train.rows))
                calibration = train.gathering(rows: out.sorted(), channel: "calibration")
                trainPart = train.gathering(rows: (0..<train.rows).filter { !out.contains($0) })
                calibrationSource = "held-out train"
            } else {
                calibration = train
                calibrationSource = "train"
            }
        }
        let n = trainPart.rows, batchSize = settings.miniBatchSize, data = trainPart
        let batchCount = (n + batchSize - 1) / batchSize
        let orders = EpochOrders(rows: n, shuffle: shuffle, seed: seed)
        return try run(
            features: features, sparse: trainPart.isSparse, batchCount: batchCount,
            initial: { try initialState(sample: scalerSample(trainPart), labels: trainPart.labels, features: features) },
            batches: { epoch, index in
                guard index < batchCount else { return nil }
                let lo = index * batchSize
                return MiniBatch(data: data, start: lo, count: min(n, lo + batchSize) - lo, order: try orders.order(epoch))
            },
            validation: validation, test: test, calibration: calibration, calibrationSource: calibrationSource,
            resumed: resumed, cancellation: cancellation, events: events, checkpoint: checkpoint)
    }

    /// Whether selection or the threshold needs rows the models did not train on.
    var needsCalibration: Bool {
        settings.variants.count > 1 || (settings.predictorType == .binaryClassifier && settings.selection.criterion != .lossFunction)
    }

    /// Training rows held out for calibration when there is no validation channel: a tenth of
    /// them, at most `num_calibration_samples`; none below 20 rows (then the training rows
    /// themselves calibrate).
    public static func heldOutRows(trainRows: Int, calibrationSamples: Int) -> Int {
        trainRows < 20 ? 0 : min(calibrationSamples, trainRows / 10)
    }

    /// The training loop shared by data in memory and streamed data, then selection and the
    /// final metrics.
    func run(
        features: Int, sparse: Bool, batchCount: Int?,
        initial: () throws -> LinearTrainingState,
        batches: @escaping @Sendable (_ epoch: Int, _ index: Int) throws -> MiniBatch?,
        validation: LinearDataset?, test: LinearDataset?, calibration: LinearDataset?, calibrationSource: String,
        resumed: LinearTrainingState?, cancellation: CancellationFlag?,
        events: @escaping @Sendable (TrainingEvent) -> Void,
        checkpoint: (@Sendable (LinearTrainingState) throws -> Void)?
    ) throws -> Result {
        _ = ComputeContext(threads: workers, blasThreadPolicy: .singleThreaded, seed: seed).applyBLASPolicy()
        if sparse, hyperparameters.values.boolean("unbias_data") == true {
            throw LinearLearnerError.sparseCentering(channel: "train")
        }
        let layout = LinearParameterLayout(features: features, outputs: settings.objective.outputs, models: settings.variants.count)

        var state: LinearTrainingState
        if let resumed {
            guard resumed.layout.parameterLayout == layout else {
                throw LinearLearnerError.incompatibleState(
                    reason: "it has \(resumed.layout.features) features × \(resumed.layout.outputs) outputs × \(resumed.layout.models) models, "
                        + "this run \(layout.features) × \(layout.outputs) × \(layout.models)")
            }
            guard resumed.seed == seed else {
                throw LinearLearnerError.incompatibleState(reason: "it was trained with seed \(resumed.seed), this run has \(seed)")
            }
            state = resumed
        } else {
            state = try initial()
        }

        var stopReason: StopReason = .completedEpochs
        var serverTraffic: ParameterServerStatistics?
        if !state.finished {
            let start = state
            let labelScale = state.scaler.labelScale
            // Batches are produced once and shared by the ranks (a streamed source is read once).
            let server = try makeServer(state: start, layout: layout, batchCount: batchCount, events: events)
            // Through a loose server the workers drift apart by up to the staleness bound (a few
            // more for the steps in flight); data in memory are re-cut on demand, so only a
            // streamed source relies on the window.
            var window = 4
            if case .boundedStaleness(let s) = server?.server.consistency { window = s + 4 }
            let shared = SharedBatches(window: window, batches)
            defer { serverTraffic = server?.server.counters }
            // Every worker holds the same state; the group returns its lowest local rank's.
            (state, stopReason) = try workerGroup.run { comm in
                func work<C: Communicator>(_ comm: C) throws -> (LinearTrainingState, StopReason) {
                    var loop = EpochLoop(trainer: self, layout: layout, sparse: sparse, batchCount: batchCount,
                                         batches: shared.batch, validation: validation, labelScale: labelScale,
                                         comm: comm, cancellation: cancellation, checkpoint: checkpoint, events: events, server: server)
                    var s = start
                    let reason = try loop.run(&s)
                    return (s, reason)
                }
                return try work(comm)
            }
        } else if let last = state.history.last, last.epoch + 1 < settings.epochs {
            stopReason = .earlyStopped(epoch: last.epoch)
        }

        let parameters = state.best?.parameters ?? state.averaged.map { Float($0) }
        let raw = try state.scaler.foldedIntoRawSpace(parameters, layout: layout)
        var selection: Selection?
        var model: LinearModel
        if stopReason == .cancelled {
            model = try LinearModel(predictorType: settings.predictorType, layout: layout.single, parameters: layout.parameters(ofModel: 0, in: raw),
                                    scaler: state.scaler, loss: settings.objective.lossName)
        } else {
            let chosen = try select(raw: raw, layout: layout, state: state, calibration: calibration, source: calibrationSource)
            selection = chosen
            model = try LinearModel(predictorType: settings.predictorType, layout: layout.single,
                                    parameters: layout.parameters(ofModel: chosen.model, in: raw), scaler: state.scaler,
                                    threshold: chosen.threshold, loss: settings.objective.lossName)
            if layout.models > 1 {
                events(.note("Best model found for hyperparameters: " + chosen.variant.hyperparameterJSON(optimizer: settings.optimizerName)))
            }
            if settings.predictorType == .binaryClassifier, settings.selection.criterion != .lossFunction {
                events(.note("Decision threshold \(chosen.threshold) tuned for \(settings.selection.criterion.rawValue) on "
                             + "\(chosen.calibrationRows) \(chosen.calibrationSource) rows"))
            }
        }
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
        var result = Result(model: model, state: state, stopReason: stopReason, finalMetrics: finalMetrics, selection: selection)
        result.serverTraffic = serverTraffic
        return result
    }

    /// Scores every live model on (up to `num_calibration_samples` rows of) the calibration
    /// rows in one product, tunes binary thresholds, and keeps the best (``ModelSelection``).
    func select(raw: [Float], layout: LinearParameterLayout, state: LinearTrainingState, calibration: LinearDataset?,
                source: String) throws -> Selection {
        let objective = settings.objective
        let fallback = LinearModel.defaultThreshold(for: objective)
        let alive = (0..<layout.models).filter { !state.diverged[$0] }
        guard let data = calibration.map({ $0.rows > settings.calibrationSamples ? $0.gathering(rows: Array(0..<settings.calibrationSamples)) : $0 })
        else {
            // No calibration rows at all (one model, nothing to tune): model 0 as trained.
            return Selection(model: alive.first ?? 0, variant: settings.variants[alive.first ?? 0], values: [], threshold: fallback,
                             calibrationSource: "none", calibrationRows: 0)
        }
        var all = Matrix<Float>(rows: 0, columns: 0)
        try layout.scores(data.features, parameters: raw, into: &all)
        var values = [Double?](repeating: nil, count: layout.models)
        var thresholds = [Float](repeating: fallback, count: layout.models)
        let tune = settings.predictorType == .binaryClassifier && settings.selection.criterion != .lossFunction
        for m in alive {
            let scores = LinearEvaluation.columns(of: all, model: m, outputs: layout.outputs)
            if tune {
                let outputs = objective.scoresAreProbabilities ? scores.elements.map { Float(sigmoid(Double($0))) } : scores.elements
                let tuned = settings.selection.tuneThreshold(scores: outputs, labels: data.labels, weights: data.weights, fallback: fallback)
                values[m] = tuned.value
                thresholds[m] = tuned.threshold
            } else {
                values[m] = -LinearEvaluation.objective(objective, scores: scores, dataset: data, classWeights: state.classWeights)
            }
        }
        // invariant: training throws before the last model diverges, so one is alive
        let best = alive.max { (values[$0] ?? -.infinity) < (values[$1] ?? -.infinity) || ((values[$0] ?? -.infinity) == (values[$1] ?? -.infinity) && $0 > $1) }!
        return Selection(model: best, variant: settings.variants[best], values: values, threshold: thresholds[best],
                         calibrationSource: source, calibrationRows: data.rows)
    }

    /// The rows the scaler's statistics come from: a seeded sample of `num_point_for_scaler`.
    func scalerSample(_ train: LinearDataset) throws -> LinearDataset {
        let n = train.rows
        let size = min(n, settings.pointsForScaler)
        var stream = RandomStream(seed: seed, path: [Purpose.scalerSample.rawValue])
        return train.gathering(rows: size == n ? Array(0..<n) : try stream.sampleIndices(count: size, from: n).sorted())
    }

    /// The state before the first step: scaler statistics from `sample`, class weights from
    /// `labels` (all the training labels, or those seen so far when streaming), and seeded
    /// initial weights.
    func initialState(sample: LinearDataset, labels: [Float], features: Int) throws -> LinearTrainingState {
        let layout = LinearParameterLayout(features: features, outputs: settings.objective.outputs, models: settings.variants.count)
        let regression = settings.predictorType == .regressor
        let scaler: LinearScaler
        switch sample.features {
        case .dense(let x):
            scaler = LinearScaler.fit(
                sample: x, labels: regression ? sample.labels : nil,
                normalizeData: settings.normalizeData, unbiasData: settings.unbiasData,
                normalizeLabel: settings.normalizeLabel, unbiasLabel: settings.unbiasLabel)
        case .sparse(let x):
            scaler = LinearScaler.fit(sparseSample: x, labels: regression ? sample.labels : nil, normalizeData: settings.normalizeData,
                                      normalizeLabel: settings.normalizeLabel, unbiasLabel: settings.unbiasLabel)
        }

        let n = labels.count
        var classWeights: [Double] = []
        switch settings.predictorType {
        case .binaryClassifier:
            switch settings.positiveWeight {
            case .value(let w): classWeights = [1, w]
            case .balanced:
                let positives = labels.reduce(0) { $0 + ($1 == 1 ? 1 : 0) }
                let negatives = n - positives
                // One class absent: balancing has nothing to balance.
                classWeights = [1, positives > 0 && negatives > 0 ? Double(negatives) / Double(positives) : 1]
            }
        case .multiclassClassifier:
            classWeights = [Double](repeating: 1, count: settings.classCount)
            if settings.balanceMulticlassWeights {
                var counts = [Int](repeating: 0, count: settings.classCount)
                for y in labels { counts[Int(y)] += 1 }
                let present = counts.filter { $0 > 0 }.count
                // scikit-learn's "balanced": n / (classes present × n_c).
                classWeights = counts.map { $0 > 0 ? Double(n) / Double(present * $0) : 1 }
            }
        case .regressor:
            break
        }

        // Drawn in the single-model order for each model in turn, so model 0 starts exactly where
        // a one-model run does.
        var parameters = [Float](repeating: 0, count: layout.count)
        var initStream = RandomStream(seed: seed, path: [Purpose.initialWeights.rawValue])
        let single = layout.single
        for m in 0..<layout.models {
            var one = [Float](repeating: 0, count: single.count)
            for i in 0..<single.weightCount {
                switch settings.initialization {
                case .uniform(let scale): one[i] = Float((2 * initStream.nextDouble() - 1) * scale)
                case .normal(let sigma): one[i] = Float(initStream.standardNormal() * sigma)
                }
            }
            for c in 0..<single.outputs { one[single.biasOffset + c] = settings.useBias ? Float(settings.initialBias) : 0 }
            layout.setParameters(ofModel: m, to: one, in: &parameters)
        }

        return LinearTrainingState(
            seed: seed, layout: .init(features: layout.features, outputs: layout.outputs, models: layout.models), epoch: 0, batch: 0,
            parameters: parameters, averaged: parameters.map { Double($0) }, optimizer: OptimizerState(rule: settings.rule, count: layout.count),
            scaler: scaler, classWeights: classWeights, epochLosses: [Double](repeating: 0, count: layout.models), epochWeight: 0,
            referenceLosses: nil, diverged: [Bool](repeating: false, count: layout.models), best: nil,
            epochsWithoutImprovement: 0, history: [], finished: false)
    }

    /// Epoch `epoch`'s order of `rows` rows held in memory (see ``EpochOrder``).
    static func epochOrder(_ epoch: Int, rows: Int, shuffle: Bool, seed: UInt64) throws -> EpochOrder {
        guard shuffle else { return EpochOrder(blockRows: rows, blocks: []) }
        var stream = RandomStream(seed: seed, path: [Purpose.epochOrder.rawValue, UInt64(epoch)])
        let block = shuffleBlockRows(rows)
        return EpochOrder(blockRows: block, blocks: try stream.permutation(count: rows / block))
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
        case heldOut = 4
        case streamShuffle = 5
    }
}
