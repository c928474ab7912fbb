import Foundation
import MLAlgorithms
import MLCore
import Synchronization

/// SageMaker's Image Classification algorithm as a training job (reference §4.5), on CPU: a
/// ResNet of `num_layers` trained data-parallel over MLCore's workers.
///
/// Channels: `train` (required) and `validation` as MXNet image RecordIO
/// (`application/x-recordio`, the default; File, FastFile or Pipe mode), image files
/// (`application/x-image`, `image/jpeg`, `image/png`) listed by a `.lst` file in `train_lst` /
/// `validation_lst` (or in the channel), NPY tensors or dense RecordIO-protobuf tensors; `model`
/// (optional) holds a previous model to continue from. Lines as SageMaker's MXNet training prints
/// them (`Epoch[0] Train-accuracy=0.150391`, …); a checkpoint of the whole training state after
/// every epoch (and on SIGTERM), resumed from at start; the best-validation-accuracy network in
/// the model directory as `model.safetensors` (torchvision's ResNet names) + `model.json`;
/// `checkpoint_frequency` also writes `model-epoch-NNNN.safetensors` every that many epochs.
public struct ImageClassificationJob: TrainingJob {
    public static let algorithm = ImageClassifierModel.algorithm
    public static let channelRules = ChannelRules(
        required: ["train"], optional: ["validation", "train_lst", "validation_lst", "model"],
        formats: [.recordIOProtobuf, .npy], defaultFormat: .recordIOProtobuf, defaultLabelSize: 1)

    public let environment: TrainingEnvironment
    public let output: JobOutput

    public init(environment: TrainingEnvironment, output: JobOutput) {
        self.environment = environment
        self.output = output
    }

    /// Everything known before any data is read.
    struct Plan {
        var hyperparameters: ImageClassificationHyperparameters
        var resources: ResourceConfiguration
        var channels: [String: ChannelConfiguration]
        var checkpointDirectory: String
    }

    func plan() throws(ContainerError) -> Plan {
        let config = try environment.loadConfiguration()
        let strings = ContainerConfiguration.algorithmHyperparameters(config.hyperparameters, log: output.line)
        let hyperparameters: ImageClassificationHyperparameters
        do {
            hyperparameters = try ImageClassificationHyperparameters(strings: strings)
        } catch {
            throw .client(error.description)
        }
        let rules = Self.channelRules
        let described = (rules.required.map { "\($0) (required)" } + rules.optional).joined(separator: ", ")
        var channels: [String: ChannelConfiguration] = [:]
        for channel in config.channels {
            guard rules.required.contains(channel.name) || rules.optional.contains(channel.name) else {
                throw .client("the image classifier does not take a channel named '\(channel.name)': its channels are \(described)")
            }
            channels[channel.name] = channel
        }
        guard let train = channels["train"] else {
            throw .client("the train channel is required and inputdataconfig.json has none (the image classifier's channels are \(described))")
        }
        for name in ["train", "validation"] {
            guard let channel = channels[name] else { continue }
            let format = try ImageChannelFormat(channel: channel)
            if let lists = channels[name + "_lst"], format != .images {
                throw .client("channel '\(lists.name)' lists image files, but channel '\(name)' is \(format.rawValue), not application/x-image")
            }
            if format.isPixels != (try ImageChannelFormat(channel: train)).isPixels {
                throw .client("channels 'train' and '\(name)' must both hold images (.rec or image files) or both tensors (NPY, RecordIO-protobuf)")
            }
            if format == .images, hyperparameters.resize == nil {
                output.line("Channel \(name): image files without resize: every image must be at least image_shape "
                            + "(\(hyperparameters.imageShape.width)×\(hyperparameters.imageShape.height)) and is cropped to it")
            }
        }
        for name in ["train_lst", "validation_lst"] where channels[name] != nil && channels[String(name.dropLast(4))] == nil {
            throw .client("channel '\(name)' lists the images of channel '\(name.dropLast(4))', which inputdataconfig.json does not have")
        }
        if hyperparameters.earlyStopping && channels["validation"] == nil {
            throw .client("hyperparameter 'early_stopping' = 'true' needs a validation channel (early stopping watches validation accuracy)")
        }
        return Plan(hyperparameters: hyperparameters, resources: config.resources, channels: channels,
                    checkpointDirectory: config.checkpointDirectory)
    }

    /// The augmentation (and normalisation) of the training images.
    static func augmentation(_ hp: ImageClassificationHyperparameters, kind: ImageAugmentation.Kind?) -> ImageAugmentation {
        ImageAugmentation(kind: kind, normalization: .imageNet(channels: hp.imageShape.channels), seed: hp.seed)
    }

    // MARK: Validate

    public func validate(sampleRows: Int, workers: Int) throws(ContainerError) -> [String] {
        let plan = try plan()
        let hp = plan.hyperparameters
        var report = ["Hyperparameters: valid (\(hp.values.values.count) after defaults)",
                      "Resources: \(plan.resources.currentHost) of \(plan.resources.hosts.count) host(s)"]
        do {
            _ = try ImageClassifierTrainer(hyperparameters: hp, workers: 1).network()
        } catch {
            throw .client("the network cannot be built: \(error)")
        }
        report.append("Network: ResNet-\(hp.numLayers) on \(hp.imageShape.channels)×\(hp.imageShape.height)×\(hp.imageShape.width) images, \(hp.numClasses) classes")
        for name in ["train", "validation"] {
            guard let channel = plan.channels[name] else { continue }
            let format = try ImageChannelFormat(channel: channel)
            if channel.inputMode == .pipe {
                report.append("Channel \(name): \(format.rawValue), Pipe mode: not read (reading would consume the FIFO)")
                continue
            }
            let loaded = try loadImages(channel, lists: plan.channels[name + "_lst"], hyperparameters: hp,
                                        augmentation: Self.augmentation(hp, kind: nil), threads: workers, cancellation: nil)
            report.append("Channel \(name): \(format.rawValue): \(loaded.inputs.rows) images decode and fit image_shape")
        }
        if let model = plan.channels["model"] {
            let previous = try previousModel(model)
            do {
                _ = try ImageClassifierTrainer(hyperparameters: hp, workers: 1).initialNetwork(from: previous)
            } catch {
                throw .client("channel 'model': \(error)")
            }
            report.append("Channel model: a ResNet-\(previous.numLayers) to continue from")
        }
        return report
    }

    // MARK: Run

    public func run(workers: Int, group: (any WorkerGroup)? = nil, cancellation: CancellationFlag? = nil) throws(ContainerError) {
        let log = output.line
        var timings = TrainingTimings()
        let plan = try timings.measure("configuration") { () throws(ContainerError) in try self.plan() }
        timings.host = plan.resources.currentHost
        let hp = plan.hyperparameters
        log(LinearLearnerJob.finalConfigurationLine(hp.resolved))
        if let kv = hp.kvStore {
            let inProcess = group == nil || group is InProcessWorkerGroup
            switch kv {
            case _ where !inProcess:
                log("kv_store=\(kv): all-reduce over \(group?.size ?? workers) MPI processes (the parameter server runs within one process)")
            case "dist_sync", "dist_device_sync":
                log("kv_store=\(kv): through the parameter server (\(workers) shards), synchronously: the same bits as all-reduce")
            case "dist_async", "dist_device_async":
                log("kv_store=\(kv): through the parameter server, asynchronously: each worker's update is applied on arrival")
            default:
                log("kv_store=\(kv): all-reduce over \(workers) workers")
            }
        }

        var trainer = ImageClassifierTrainer(hyperparameters: hp, workers: workers)
        trainer.group = group
        var previous: ImageClassifierModel?
        if let model = plan.channels["model"] {
            previous = try timings.measure("read model") { () throws(ContainerError) in try previousModel(model) }
        }
        func load(_ name: String, kind: ImageAugmentation.Kind?) throws(ContainerError) -> LoadedImages? {
            guard let channel = plan.channels[name] else { return nil }
            let start = ContinuousClock.now
            let loaded = try timings.measure("read \(name)") { () throws(ContainerError) in
                try loadImages(channel, lists: plan.channels[name + "_lst"], hyperparameters: hp,
                               augmentation: Self.augmentation(hp, kind: kind), threads: workers, cancellation: cancellation)
            }
            let elapsed = start.duration(to: .now)
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            log("Channel \(name): \(loaded.inputs.rows) images (\(loaded.format.rawValue)), \(loaded.bytesRead) bytes read and decoded in "
                + String(format: "%.3f", seconds) + " s")
            return loaded
        }
        // invariant: plan() requires the train channel
        guard let train = try load("train", kind: hp.augmentation) else { throw .algorithm("the train channel disappeared") }
        let validation = try load("validation", kind: nil)
        if train.inputs.rows != hp.numTrainingSamples {
            log("num_training_samples is \(hp.numTrainingSamples) but the train channel has \(train.inputs.rows) images; "
                + "training uses the images it has (the learning-rate schedule counts epochs)")
        }
        if hp.augmentation != nil && !train.format.isPixels {
            log("augmentation_type=\(hp.augmentation?.rawValue ?? ""): tensors are used as given; augmentation applies to images")
        }
        if validation == nil { log("No validation channel: the model of the last epoch is kept") }
        // Tensors are the network's input as given; images requested at inference are scaled
        // to [0, 1] as uint8 tensors are (see ImageDataset.npy).
        let normalization = train.format.isPixels ? InputNormalization.imageNet(channels: hp.imageShape.channels)
            : InputNormalization(mean: [Float](repeating: 0, count: hp.imageShape.channels),
                                 std: [Float](repeating: 1, count: hp.imageShape.channels))

        let initial: Network
        do {
            initial = try trainer.initialNetwork(from: previous)
        } catch {
            throw .client("\(previous == nil ? "the network cannot be built" : "channel 'model'"): \(error)")
        }
        if previous != nil { log("Continuing from the model in the model channel (incremental training)") }
        log("Training ResNet-\(hp.numLayers) (\(initial.parameters.count) parameters) on \(train.inputs.rows) images"
            + (validation.map { ", validation \($0.inputs.rows)" } ?? "") + ", \(hp.epochs) epochs, mini-batch \(hp.miniBatchSize), \(workers) workers")

        var fingerprint = hp.resolved
        fingerprint["epochs"] = nil
        fingerprint["(train images)"] = String(train.inputs.rows)
        let store = CheckpointStore(directory: plan.checkpointDirectory, algorithm: Self.algorithm, configuration: fingerprint, writable: environment.writesArtifacts)
        var resume: NetworkTrainingState?
        if let checkpoint = try store.newest(log: log) {
            do {
                resume = try NetworkTrainingState(checkpointData: checkpoint.state, path: checkpoint.path)
            } catch {
                throw .client("the checkpoint \(checkpoint.path) cannot be resumed: \(error)")
            }
            log("Resuming from checkpoint \(checkpoint.path) (epoch \(checkpoint.epoch), mini-batch \(checkpoint.batch))")
        }

        let history = Mutex<[EpochSummary]>([])
        let lines = MXNetEpochLines(topK: trainer.settings(loss: .crossEntropy).topK)
        let output = self.output, modelDirectory = environment.modelDirectory, frequency = hp.checkpointFrequency
        let events: @Sendable (TrainingEvent) -> Void = { event in
            switch event {
            case let .progress(epoch, completed, total):
                output.progress(epoch, completed, total)
            case .epochEnded(let summary):
                history.withLock { $0.append(summary) }
                for line in lines.lines(for: summary) { output.line(line) }
            case .note(let text):
                output.line(text)
            case .finalMetric:
                break
            }
        }
        let checkpoint: @Sendable (NetworkTrainingState) throws -> Void = { state in
            try store.save(try state.checkpointData(), epoch: state.epochsCompleted, batch: state.stepInEpoch)
            if let frequency, state.stepInEpoch == 0, state.epochsCompleted > 0, state.epochsCompleted % frequency == 0 {
                var network = initial
                network.parameters = state.parameters
                network.buffers = state.buffers
                network.batchesTracked = state.batchesTracked
                let path = modelDirectory + "/" + Self.epochCheckpointName(state.epochsCompleted)
                try FileManager.default.createDirectory(atPath: modelDirectory, withIntermediateDirectories: true)
                try network.stateDict(metadata: ["algorithm": Self.algorithm, "epoch": String(state.epochsCompleted)]).write(to: path)
                output.line("Saved checkpoint to \"\(path)\"")
            }
        }
        let result: ImageClassifierTrainer.Result
        do {
            result = try timings.measure("training") {
                try trainer.fit(train: train.inputs, validation: validation?.inputs, initial: initial, normalization: normalization,
                                resume: resume, cancellation: cancellation, checkpoint: checkpoint, events: events)
            }
        } catch let error as NetworkError {
            throw .client(error.description)
        } catch let error as DataError {
            throw .client(error.description)
        } catch let error as ContainerError {
            throw error
        } catch let error as ArtifactError {
            throw .algorithm("cannot write a checkpoint: \(error)")
        } catch {
            throw .algorithm("training failed: \(error)")
        }
        switch result.stopReason {
        case .cancelled:
            log("Stopped in epoch \(result.state.epochsCompleted) after mini-batch \(result.state.stepInEpoch); checkpoint written to \(store.directory)")
        case .earlyStopped:
            log("Early stopping after epoch \(result.state.epochsCompleted - 1)")
        case .completedEpochs:
            break
        }
        if let best = result.state.best, let accuracy = best.validationAccuracy {
            log("Keeping the model of epoch \(best.epoch): validation accuracy " + String(format: "%f", accuracy))
        }
        let model = result.model
        try timings.measure("write model") { () throws(ContainerError) in
            try UnsupervisedJob.writeModel(environment, log: log) { (directory: String) throws(ArtifactError) in try model.save(to: directory) }
        }
        var finals: [MetricValue] = []
        if let best = result.state.best {
            if let a = best.validationAccuracy { finals.append(MetricValue(channel: "validation", name: "accuracy", kind: .score, value: a)) }
            finals.append(MetricValue(channel: "validation", name: "cross_entropy", kind: .loss, value: best.validationLoss))
        }
        try OutputData(directory: environment.outputDataDirectory, algorithm: Self.algorithm)
            .write(history: history.withLock { $0 }, bestEpoch: result.state.best?.epoch, finalMetrics: finals, timings: timings)
    }

    /// `model-epoch-NNNN.safetensors`: the weights after `epochs` epochs (1-based, four digits,
    /// as SageMaker numbers `image-classification-NNNN.params`).
    static func epochCheckpointName(_ epochs: Int) -> String {
        let digits = String(epochs)
        return "model-epoch-" + String(repeating: "0", count: max(0, 4 - digits.count)) + digits + ".safetensors"
    }
}

/// The per-epoch lines SageMaker's image classifier prints (MXNet's logging, reference §4.5):
///
/// ```text
/// Epoch[0] Train-accuracy=0.150391
/// Epoch[0] Train-top_k_accuracy_2=0.273438
/// Epoch[0] Train-cross_entropy=2.197225
/// Epoch[0] Time cost=8.095
/// Epoch[0] Validation-accuracy=0.253906
/// Epoch[0] Validation-top_k_accuracy_2=0.421875
/// Epoch[0] Validation-cross_entropy=2.071311
/// Storing the best model with validation accuracy: 0.253906
/// ```
///
/// Values with six decimals and the time with three, as MXNet formats them; the cross-entropy
/// lines are MLCore's addition (MXNet's `ce` metric's name).
struct MXNetEpochLines: Sendable {
    var topK: Int

    func lines(for summary: EpochSummary) -> [String] {
        let e = summary.epoch
        func value(_ channel: String, _ name: String) -> Double? {
            summary.metrics.first { $0.channel == channel && $0.name == name }?.value
        }
        var out: [String] = []
        for (channel, prefix) in [("train", "Train"), ("validation", "Validation")] {
            if let a = value(channel, "accuracy") { out.append("Epoch[\(e)] \(prefix)-accuracy=" + String(format: "%f", a)) }
            if topK > 0, let a = value(channel, "top_k_accuracy_\(topK)") {
                out.append("Epoch[\(e)] \(prefix)-top_k_accuracy_\(topK)=" + String(format: "%f", a))
            }
            if let l = value(channel, "loss") { out.append("Epoch[\(e)] \(prefix)-cross_entropy=" + String(format: "%f", l)) }
            if channel == "train" { out.append("Epoch[\(e)] Time cost=" + String(format: "%.3f", summary.seconds)) }
        }
        if summary.improved, let a = value("validation", "accuracy") {
            out.append("Storing the best model with validation accuracy: " + String(format: "%f", a))
        }
        return out
    }
}
