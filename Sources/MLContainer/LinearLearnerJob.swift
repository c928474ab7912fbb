import MLAlgorithms
import Foundation
import MLCore

/// The linear learner as a SageMaker training job (reference §4.1): configuration checked before
/// any data is read; channels `train` (required), `validation` and `test` as RecordIO-protobuf
/// (the default), CSV or NPY, in File, FastFile or Pipe mode; SageMaker's metric lines; a
/// checkpoint after every epoch and on SIGTERM, resumed from at start; the model in the model
/// directory; the per-epoch metrics (JSON and SVG) and timings in the output data directory.
public struct LinearLearnerJob: TrainingJob {
    public static let algorithm = "linear-learner"
    public static let channelRules = ChannelRules(
        required: ["train"], optional: ["validation", "test"],
        formats: [.recordIOProtobuf, .csv, .npy], defaultFormat: .recordIOProtobuf, defaultLabelSize: 1)

    public let environment: TrainingEnvironment
    public let output: JobOutput

    public init(environment: TrainingEnvironment, output: JobOutput) {
        self.environment = environment
        self.output = output
    }

    /// Everything known before any data is read.
    struct Plan {
        var hyperparameters: LinearLearnerHyperparameters
        var resolved: [String: String]
        var resources: ResourceConfiguration
        var readers: [String: ChannelReader]
        var checkpointDirectory: String
    }

    func plan(workers: Int) throws(ContainerError) -> Plan {
        let config = try environment.loadConfiguration()
        let strings = ContainerConfiguration.algorithmHyperparameters(config.hyperparameters, keeping: KVStoreSetting.names, log: output.line)
        let hyperparameters: LinearLearnerHyperparameters
        do {
            hyperparameters = try LinearLearnerHyperparameters(strings: strings)
        } catch {
            throw .client(error.description)
        }
        var resolved: [String: String] = [:]
        for name in hyperparameters.values.values.keys {
            resolved[name] = hyperparameters.values[name]?.description ?? ""
        }
        let readers = try Self.channelRules.readers(for: config.channels, algorithm: "linear learner",
                                                    environment: environment, threads: workers)
        if hyperparameters.values.integer("csv_weights") == 1, let other = readers.values.sorted(by: { $0.name < $1.name }).first(where: { $0.format != .csv }) {
            throw .client("channel '\(other.name)': csv_weights=1 reads each row's weight from the CSV column after the label, "
                          + "but this channel is \(other.format.rawValue); pass CSV or drop csv_weights")
        }
        for reader in readers.values where (reader.format == .csv || reader.format == .npy) && reader.labelSize != 1 {
            throw .client("channel '\(reader.name)': label_size=\(reader.labelSize): the linear learner's rows have exactly one label column, first")
        }
        return Plan(hyperparameters: hyperparameters, resolved: resolved, resources: config.resources,
                    readers: readers, checkpointDirectory: config.checkpointDirectory)
    }

    static func finalConfigurationLine(_ resolved: [String: String]) -> String {
        "Final configuration: {" + resolved.keys.sorted().map { "\"\($0)\": \"\(resolved[$0] ?? "")\"" }.joined(separator: ", ") + "}"
    }

    // MARK: Validate

    public func validate(sampleRows: Int, workers: Int) throws(ContainerError) -> [String] {
        let plan = try plan(workers: workers)
        var report = ["Hyperparameters: valid (\(plan.resolved.count) after defaults)",
                      "Resources: \(plan.resources.currentHost) of \(plan.resources.hosts.count) host(s)"]
        let settings = LinearLearnerTrainer(hyperparameters: plan.hyperparameters, workers: 1).settings
        var features = settings.featureDim
        for name in ["train", "validation", "test"] {
            guard let reader = plan.readers[name] else { continue }
            let mode = reader.channel.inputMode.rawValue
            guard let batch = try reader.sample(rows: sampleRows) else {
                let exists = FileManager.default.fileExists(atPath: reader.location)
                report.append("Channel \(name): \(reader.format.rawValue), \(mode) mode: not read (reading would consume the FIFO); "
                              + "\(reader.location) " + (exists ? "exists" : "does not exist yet"))
                continue
            }
            let dataset = try dataset(name, batch, csvWeights: settings.csvWeights, log: { _ in })
            features = features ?? dataset.features.columns
            do {
                // invariant: set from the sample just above when feature_dim is not given
                try dataset.validate(for: settings, features: features!, source: settings.featureDim == nil ? "the train channel" : "hyperparameter feature_dim", threads: workers)
            } catch {
                throw .client(error.description)
            }
            report.append("Channel \(name): \(reader.format.rawValue), \(mode) mode: the first \(dataset.rows) row(s) of each file are valid "
                          + "(\(dataset.features.columns) features)")
        }
        return report
    }

    // MARK: Run

    public func run(workers: Int, group: (any WorkerGroup)? = nil, cancellation: CancellationFlag? = nil) throws(ContainerError) {
        let log = output.line
        var timings = TrainingTimings()
        let plan = try timings.measure("configuration") { () throws(ContainerError) in try self.plan(workers: workers) }
        timings.host = plan.resources.currentHost
        log(Self.finalConfigurationLine(plan.resolved))

        func load(_ name: String) throws(ContainerError) -> LinearDataset? {
            guard let reader = plan.readers[name] else { return nil }
            let (batch, stats) = try timings.measure("read \(name)") { () throws(ContainerError) in
                try reader.readAll(cancellation: cancellation)
            }
            // The 1P algorithms' per-pass line (reference §1.6).
            log("epoch_stats={\"data_pipeline\": \"\(reader.location)\", \"epoch\": 0, \"duration\": \(Int(stats.seconds * 1000)), "
                + "\"num_examples\": \(stats.rows), \"num_bytes\": \(stats.bytes)}")
            return try dataset(name, batch, csvWeights: plan.hyperparameters.values.integer("csv_weights") == 1, log: log)
        }
        // invariant: the channel rules require train
        guard let trainReader = plan.readers["train"] else { throw .algorithm("the train channel disappeared") }
        let budget = Self.memoryBudget(environment.environment)
        // A channel larger than the memory budget is streamed; a Pipe channel's size is unknown,
        // so it is streamed when a budget is set explicitly.
        let streamed = trainReader.bytesOnDisk().map { $0 > budget.bytes } ?? budget.explicit
        try Self.checkHeldChannels(plan.readers, environment: environment.environment)
        let train = streamed ? nil : try load("train")
        let validation = try load("validation"), test = try load("test")
        var trainer = LinearLearnerTrainer(hyperparameters: plan.hyperparameters, workers: workers)
        trainer.group = group
        trainer.parameterServer = try JobParameterServer.choose(plan.hyperparameters.values, workers: workers, group: group, log: log)
        let others = (validation.map { ", validation \($0.rows) rows" } ?? "") + (test.map { ", test \($0.rows) rows" } ?? "")
        let stream: LinearStream?
        if let train {
            log("Training on \(train.rows) rows × \(train.columns) features" + (train.isSparse ? " (sparse)" : "") + others
                + ", \(workers) workers")
            let batches = (train.rows + max(1, trainer.settings.miniBatchSize) - 1) / max(1, trainer.settings.miniBatchSize)
            trainer.progressInterval = max(1, batches / 100)
            stream = nil
        } else {
            let bufferRows = environment.environment["MLC_SHUFFLE_BUFFER_ROWS"].flatMap(Int.init) ?? 65_536
            let weighted = trainer.settings.csvWeights
            stream = LinearStream(channel: "train", bufferRows: bufferRows) { epoch in
                let source = try trainReader.openStream(epoch: epoch, cancellation: cancellation)
                return weighted ? WeightColumnSource(source: source) : source
            }
            log("Streaming the train channel (" + (trainReader.bytesOnDisk().map { "\($0 >> 20) MiB, " } ?? "")
                + "memory budget \(budget.bytes >> 20) MiB, shuffle buffer \(bufferRows) rows)" + others + ", \(workers) workers")
        }

        // What a checkpoint must agree on to be resumed by this job.
        var fingerprint = plan.resolved
        fingerprint["(train rows)"] = train.map { String($0.rows) } ?? "streamed"
        if let train { fingerprint["(features)"] = String(train.columns) }
        let store = CheckpointStore(directory: plan.checkpointDirectory, algorithm: Self.algorithm, configuration: fingerprint, writable: environment.writesArtifacts)
        var resumed: LinearTrainingState?
        if let checkpoint = try store.newest(log: log) {
            do {
                resumed = try LinearTrainingState.decode(checkpoint.state)
            } catch {
                throw .client("the checkpoint \(checkpoint.path) cannot be resumed: \(error.description)")
            }
            log("Resuming from checkpoint \(checkpoint.path) (epoch \(checkpoint.epoch), mini-batch \(checkpoint.batch))")
        }

        let lines = SageMakerMetricLines(host: plan.resources.currentHost)
        let output = self.output
        let result: LinearLearnerTrainer.Result
        do {
            result = try timings.measure("training") {
                let events: @Sendable (TrainingEvent) -> Void = { event in
                    if case let .progress(epoch, completed, total) = event {
                        output.progress(epoch, completed, total)
                        return
                    }
                    for line in lines.lines(for: event) { output.line(line) }
                }
                let checkpoint: @Sendable (LinearTrainingState) throws -> Void = { state in
                    try store.save(state.encoded(), epoch: state.epoch, batch: state.batch)
                }
                if let train {
                    return try trainer.fit(train: train, validation: validation, test: test, resumingFrom: resumed,
                                           cancellation: cancellation, events: events, checkpoint: checkpoint)
                }
                // invariant: `stream` is set whenever `train` is not
                return try trainer.fit(stream: stream!, validation: validation, test: test, resumingFrom: resumed,
                                       cancellation: cancellation, events: events, checkpoint: checkpoint)
            }
        } catch let error as LinearLearnerError {
            // Bad data, or a divergence the hyperparameters caused: the user's to fix.
            throw .client(error.description)
        } catch let error as ContainerError {
            throw error
        } catch {
            throw .algorithm("training failed: \(error)")
        }
        if result.stopReason == .cancelled {
            // SIGTERM: the position inside the epoch is saved too, so a restart loses nothing.
            do {
                try store.save(result.state.encoded(), epoch: result.state.epoch, batch: result.state.batch)
            } catch let error as ContainerError {
                throw error
            } catch {
                throw .algorithm("cannot encode the training state: \(error)")
            }
            log("Stopped in epoch \(result.state.epoch) after mini-batch \(result.state.batch); checkpoint written to \(store.directory)")
        }
        if let peak = result.streamPeakRows { log("Streamed training held at most \(peak) rows in memory") }
        if validation == nil && test == nil { log("Test data is not provided.") }

        try timings.measure("write model") { () throws(ContainerError) in
            try UnsupervisedJob.writeModel(environment, log: log) { (directory: String) throws(ArtifactError) in try result.model.save(to: directory) }
        }
        try OutputData(directory: environment.outputDataDirectory, algorithm: Self.algorithm)
            .write(history: result.history, bestEpoch: result.bestEpoch, finalMetrics: result.finalMetrics, timings: timings)
    }

    /// A channel's batch as the trainer's dataset: dense rows as they are, sparse RecordIO rows
    /// as CSR (the trainer touches only their non-zeros).
    func dataset(_ name: String, _ batch: Batch, csvWeights: Bool, log: (String) -> Void) throws(ContainerError) -> LinearDataset {
        var batch = batch
        if csvWeights {
            do {
                batch = try LinearDataset.weightsFromFirstColumn(batch, channel: name)
            } catch {
                throw .client(error.description)
            }
        }
        if case .sparse(let s) = batch.features {
            log("Channel \(name): \(s.rows) sparse rows (\(s.nonzeroCount) non-zeros), \(s.columns) features")
        }
        do {
            return try LinearDataset(channel: name, batch: batch)
        } catch {
            throw .client(error.description)
        }
    }
}

extension LinearLearnerJob {
    /// The memory the train channel may take before it is streamed: `MLC_MEMORY_BUDGET_MB`, else
    /// half of physical memory.
    static func memoryBudget(_ environment: [String: String]) -> (bytes: Int, explicit: Bool) {
        // 0 streams every File-mode channel (and every Pipe channel).
        let budget = MemoryBudget.fromEnvironment(environment)
        if budget.isExplicit { return (budget.bytes, true) }
        return (Int(ProcessInfo.processInfo.physicalMemory / 2), false)
    }

    /// The validation and test channels are held in memory whole (they are scored after every
    /// epoch): refused before they are read when they would not fit in the machine's memory.
    /// Not against `MLC_MEMORY_BUDGET_MB`: for the linear learner that variable decides only
    /// when the train channel is streamed (0 streams it always), as it did before the budget
    /// applied to other algorithms.
    static func checkHeldChannels(_ readers: [String: ChannelReader], environment: [String: String]) throws(ContainerError) {
        let budget = MemoryBudget.fromEnvironment(environment.filter { $0.key != MemoryBudget.environmentKey })
        try budget.checkChannels(["validation", "test"].compactMap { readers[$0] }, what: "the linear learner's validation and test channels in memory",
                                 remedy: "use an instance with more memory or a smaller validation/test channel (the train channel is streamed)")
    }
}

/// `csv_weights=1` on a stream: each batch's first feature column becomes its weights.
struct WeightColumnSource: DataSource {
    var source: any DataSource
    mutating func nextBatch() throws(DataError) -> Batch? {
        guard let batch = try source.nextBatch() else { return nil }
        do {
            return try LinearDataset.weightsFromFirstColumn(batch, channel: "train")
        } catch {
            throw .unsupported(DataLocation(file: "train"), reason: error.description)
        }
    }
}
