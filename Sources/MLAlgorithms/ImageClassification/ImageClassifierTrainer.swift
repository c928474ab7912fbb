import MLCore

/// SageMaker's image classifier on MLCore's layers: a ResNet of `num_layers` trained by
/// ``NetworkTrainer`` with the optimizer, schedule, loss, metrics and early stopping the
/// hyperparameters name (reference §4.5).
///
/// - single-label: softmax cross-entropy on `num_classes` logits, accuracy and top-k accuracy;
/// - `multi_label=1`: a sigmoid per class with binary cross-entropy (`use_weighted_loss`:
///   each class's positive term weighted by negatives / positives in the training targets), and
///   accuracy over every (image, class) decision at probability ½;
/// - the best epoch is the one with the highest validation accuracy (SageMaker's "best model
///   with validation accuracy"); early stopping watches the same number.
public struct ImageClassifierTrainer: Sendable {
    public var hyperparameters: ImageClassificationHyperparameters
    public var workers: Int
    /// Where the ranks run: `nil` means ``workers`` threads of this process; an MPI group
    /// (MLCluster) runs one rank per process, with the same bits for the same rank count.
    public var group: (any WorkerGroup)?
    /// Rows per micro-shard: the unit of a worker's work and batch norm's batch (as each GPU's
    /// share of the batch is in SageMaker's MXNet training).
    public var microShardRows = 16

    public init(hyperparameters: ImageClassificationHyperparameters, workers: Int) {
        self.hyperparameters = hyperparameters
        self.workers = max(1, workers)
    }

    /// What one training run returns.
    public struct Result: Sendable {
        /// The network of the best epoch (the last without validation data).
        public var model: ImageClassifierModel
        /// The network after the last step.
        public var last: ImageClassifierModel
        public var state: NetworkTrainingState
        public var stopReason: NetworkTrainer.StopReason
    }

    /// The ResNet the hyperparameters describe, initialised from `seed`.
    public func network() throws(NetworkError) -> Network {
        let hp = hyperparameters
        let resnet = try ResNet(depth: hp.numLayers, classes: hp.numClasses, inputChannels: hp.imageShape.channels)
        return try Network(resnet, inputShape: hp.imageShape, seed: hp.seed)
    }

    /// The network to start from: a fresh one, or the weights of `previous` (incremental
    /// training), which must have the same `num_layers`, `image_shape` and `num_classes`.
    public func initialNetwork(from previous: ImageClassifierModel? = nil) throws(NetworkError) -> Network {
        var network = try network()
        guard let previous else { return network }
        let hp = hyperparameters
        var differences: [String] = []
        if previous.numLayers != hp.numLayers { differences.append("num_layers \(previous.numLayers) (this job: \(hp.numLayers))") }
        if previous.imageShape != hp.imageShape {
            let s = previous.imageShape
            differences.append("image_shape \(s.channels),\(s.height),\(s.width) (this job: \(hp.imageShape.channels),\(hp.imageShape.height),\(hp.imageShape.width))")
        }
        if previous.classes != hp.numClasses { differences.append("num_classes \(previous.classes) (this job: \(hp.numClasses))") }
        if previous.multiLabel != hp.multiLabel { differences.append("multi_label \(previous.multiLabel ? 1 : 0) (this job: \(hp.multiLabel ? 1 : 0))") }
        guard differences.isEmpty else {
            throw .incompatibleWeights(reason: "the model to continue from was trained with " + differences.joined(separator: ", ")
                                       + "; incremental training needs the same num_layers, image_shape and num_classes")
        }
        try network.load(stateDict: previous.network.stateDict())
        return network
    }

    /// The loss for these hyperparameters and training targets (`use_weighted_loss` reads the
    /// class frequencies of `trainTargets`, `rows × num_classes` multi-hot values).
    public func loss(trainTargets: [Float]) -> Loss {
        let hp = hyperparameters
        guard hp.multiLabel else { return .crossEntropy }
        guard hp.useWeightedLoss else { return .binaryCrossEntropyWithLogits }
        let k = hp.numClasses, rows = trainTargets.count / max(1, k)
        var positives = [Double](repeating: 0, count: k)
        for r in 0..<rows { for c in 0..<k { positives[c] += Double(trainTargets[r * k + c]) } }
        // A class with no positives (or only positives) keeps weight 1: its positive term never
        // (or always) applies, so any weight trains the same.
        let weights = positives.map { p -> Float in
            p > 0 && p < Double(rows) ? Float((Double(rows) - p) / p) : 1
        }
        return .weightedBinaryCrossEntropyWithLogits(positiveWeights: weights)
    }

    /// ``NetworkTrainer``'s settings for these hyperparameters.
    public func settings(loss: Loss) -> NetworkTrainer.Settings {
        let hp = hyperparameters
        var s = NetworkTrainer.Settings()
        s.epochs = hp.epochs
        s.batchSize = hp.miniBatchSize
        s.microShardRows = microShardRows
        s.optimizer = hp.optimizerSetting
        s.decay = hp.decay
        s.loss = loss
        s.shuffle = true
        s.seed = hp.seed
        s.workers = workers
        s.topK = hp.multiLabel ? 0 : (hp.topK ?? 0)
        s.selection = .validationAccuracy
        if hp.earlyStopping {
            s.earlyStopping = .init(minEpochs: hp.earlyStoppingMinEpochs, patience: hp.earlyStoppingPatience,
                                    tolerance: hp.earlyStoppingTolerance)
        }
        return s
    }

    /// Trains from `initial` (``initialNetwork(from:)``) or continues `resume`; see
    /// ``NetworkTrainer/fit(_:train:validation:resume:cancellation:checkpoint:events:)``.
    public func fit(
        train: any NetworkInputs, validation: (any NetworkInputs)?, initial: Network, normalization: InputNormalization,
        resume: NetworkTrainingState? = nil, cancellation: CancellationFlag? = nil,
        checkpoint: (@Sendable (NetworkTrainingState) throws -> Void)? = nil,
        events: @escaping @Sendable (TrainingEvent) -> Void = { _ in }
    ) throws -> Result {
        let hp = hyperparameters
        let expectedWidth = hp.multiLabel ? hp.numClasses : 1
        for (name, data) in [("train", train)] + (validation.map { [("validation", $0)] } ?? []) {
            guard data.targetWidth == expectedWidth else {
                throw NetworkError.invalidInput(reason: "the \(name) images have \(data.targetWidth) label value(s) each; "
                    + (hp.multiLabel ? "multi_label=1 needs num_classes (\(hp.numClasses)) multi-hot values per image"
                                     : "multi_label=0 needs one class index per image"))
            }
        }
        if hp.earlyStopping, validation == nil {
            throw NetworkError.invalidSetting(name: "early_stopping", value: "true", rule: "needs a validation channel to watch")
        }
        let trainer = NetworkTrainer(settings: settings(loss: loss(trainTargets: train.targets)), group: group)
        let result = try trainer.fit(initial, train: train, validation: validation, resume: resume, cancellation: cancellation,
                                     checkpoint: checkpoint, events: events)
        var metrics: [String: Double] = [:]
        if let best = result.state.best {
            metrics["epoch"] = Double(best.epoch)
            metrics["validation_loss"] = best.validationLoss
            if let a = best.validationAccuracy { metrics["validation_accuracy"] = a }
            if let record = result.state.history.first(where: { $0.epoch == best.epoch }) {
                metrics["train_loss"] = record.trainLoss
                if let a = record.trainAccuracy { metrics["train_accuracy"] = a }
            }
        } else if let record = result.state.history.last {
            metrics["epoch"] = Double(record.epoch)
            metrics["train_loss"] = record.trainLoss
            if let a = record.trainAccuracy { metrics["train_accuracy"] = a }
        }
        func model(_ network: Network) -> ImageClassifierModel {
            ImageClassifierModel(network: network, numLayers: hp.numLayers, multiLabel: hp.multiLabel, normalization: normalization,
                                 trainingMetrics: metrics)
        }
        return Result(model: model(result.best), last: model(result.network), state: result.state, stopReason: result.stopReason)
    }
}
