import Foundation
import MLAlgorithms
import MLCore

/// SageMaker's XGBoost algorithm as a training job (reference §4.4): channels `train`
/// (required) and `validation` as `text/libsvm` (the default), `text/csv` (label first;
/// `csv_weights=1` takes column 1 as the weight), RecordIO-protobuf (dense or sparse) or NPY;
/// the per-round lines XGBoost prints (`[3]\ttrain-auc:0.97\tvalidation-auc:0.95`); a checkpoint
/// (the model so far, XGBoost JSON) after every round, resumed from at start for the remaining
/// rounds; `xgboost-model` (XGBoost JSON) in the model directory.
///
/// On SIGTERM the job stops after the current round and writes a checkpoint; with
/// `save_model_on_termination=true` it also writes the model trained so far, as the container does.
public struct XGBoostJob: TrainingJob {
    public static let algorithm = "xgboost"
    public static let channelRules = ChannelRules(
        required: ["train"], optional: ["validation"],
        formats: [.libsvm, .csv, .recordIOProtobuf, .npy], defaultFormat: .libsvm, defaultLabelSize: 1)

    public let environment: TrainingEnvironment
    public let output: JobOutput

    public init(environment: TrainingEnvironment, output: JobOutput) {
        self.environment = environment
        self.output = output
    }

    struct Plan {
        var hyperparameters: XGBoostHyperparameters
        var resources: ResourceConfiguration
        var readers: [String: ChannelReader]
        var checkpointDirectory: String
        /// False on every rank of a multi-process job but rank 0 (which alone writes).
        var writesArtifacts: Bool
    }

    func plan(workers: Int) throws(ContainerError) -> Plan {
        let config = try environment.loadConfiguration()
        let strings = ContainerConfiguration.algorithmHyperparameters(config.hyperparameters, keeping: ["_kfold", "_num_cv_round"],
                                                                      log: output.line)
        let hyperparameters: XGBoostHyperparameters
        do {
            hyperparameters = try XGBoostHyperparameters(strings: strings)
        } catch {
            throw .client(error.description)
        }
        let readers = try Self.channelRules.readers(for: config.channels, algorithm: "XGBoost", environment: environment, threads: workers)
        for reader in readers.values.sorted(by: { $0.name < $1.name }) {
            if (reader.format == .csv || reader.format == .npy) && reader.labelSize != 1 {
                throw .client("channel '\(reader.name)': label_size=\(reader.labelSize): XGBoost's CSV rows have exactly one label column, first")
            }
            if reader.format == .libsvm && reader.channel.inputMode == .pipe {
                throw .client("channel '\(reader.name)': libsvm is read in File or FastFile mode, not Pipe (as SageMaker's XGBoost container); "
                              + "use FastFile, or CSV / RecordIO-protobuf in Pipe mode")
            }
            if hyperparameters.csvWeights && reader.format != .csv {
                throw .client("channel '\(reader.name)': csv_weights=1 reads each row's weight from the CSV column after the label, "
                              + "but this channel is \(reader.format.rawValue)")
            }
        }
        return Plan(hyperparameters: hyperparameters, resources: config.resources, readers: readers,
                    checkpointDirectory: config.checkpointDirectory, writesArtifacts: environment.writesArtifacts)
    }

    /// A channel's rows as the trees' dataset: labels from the batch, weights from libsvm's
    /// `label:weight` or (csv_weights) the first feature column.
    static func dataset(_ name: String, _ batch: Batch, csvWeights: Bool) throws(ContainerError) -> TreeDataset {
        var batch = batch
        if csvWeights {
            do {
                batch = try LinearDataset.weightsFromFirstColumn(batch, channel: name)
            } catch {
                throw .client(error.description)
            }
        }
        guard let labels = batch.labelVector else { throw .client("channel '\(name)': the rows have no labels; XGBoost trains on labelled rows") }
        return TreeDataset(features: batch.features, labels: labels, weights: batch.weights)
    }

    public func validate(sampleRows: Int, workers: Int) throws(ContainerError) -> [String] {
        let plan = try plan(workers: workers)
        var report = ["Hyperparameters: valid (\(plan.hyperparameters.values.values.count) after defaults)",
                      "Resources: \(plan.resources.currentHost) of \(plan.resources.hosts.count) host(s)"]
        let hp = plan.hyperparameters
        for name in ["train", "validation"] {
            guard let reader = plan.readers[name] else { continue }
            let mode = reader.channel.inputMode.rawValue
            guard let batch = try reader.sample(rows: sampleRows) else {
                report.append("Channel \(name): \(reader.format.rawValue), \(mode) mode: not read (reading would consume the FIFO)")
                continue
            }
            let data = try Self.dataset(name, batch, csvWeights: hp.csvWeights)
            if let error = data.labels.withUnsafeBufferPointer({ hp.objective.checkLabels($0, numClass: hp.numClass) }) {
                throw .client("channel '\(name)': \(error.message)")
            }
            report.append("Channel \(name): \(reader.format.rawValue), \(mode) mode: the first \(data.rows) row(s) of each file are valid "
                          + "(\(data.features.columns) features)")
        }
        return report
    }

    public func run(workers: Int, group: (any WorkerGroup)? = nil, cancellation: CancellationFlag? = nil) throws(ContainerError) {
        let log = output.line
        var timings = TrainingTimings()
        let plan = try timings.measure("configuration") { () throws(ContainerError) in try self.plan(workers: workers) }
        timings.host = plan.resources.currentHost
        let hp = plan.hyperparameters
        log(LinearLearnerJob.finalConfigurationLine(hp.resolved))
        func load(_ name: String) throws(ContainerError) -> TreeDataset? {
            guard let reader = plan.readers[name] else { return nil }
            let (batch, stats) = try timings.measure("read \(name)") { () throws(ContainerError) in try reader.readAll(cancellation: cancellation) }
            log("Channel \(name): \(stats.rows) rows, \(stats.bytes) bytes read in \(String(format: "%.3f", stats.seconds)) s")
            return try Self.dataset(name, batch, csvWeights: hp.csvWeights)
        }
        try Self.checkMemory(plan.readers, budget: MemoryBudget.fromEnvironment(environment.environment))
        // invariant: the channel rules require train
        guard var train = try load("train") else { throw .algorithm("the train channel disappeared") }
        var validation = try load("validation")
        // Sparse channels (libsvm, sparse RecordIO) are as wide as their largest index; XGBoost
        // widens the narrower one, and so do we.
        if var v = validation, case .sparse(var a) = train.features, case .sparse(var b) = v.features, a.columns != b.columns {
            let width = max(a.columns, b.columns)
            a.widen(toColumns: width)
            b.widen(toColumns: width)
            train.features = .sparse(a)
            v.features = .sparse(b)
            validation = v
        }
        let threads = hp.nthread ?? workers
        log("Training on \(train.rows) rows × \(train.features.columns) features" + (validation.map { ", validation \($0.rows) rows" } ?? "")
            + ", \(hp.numRound) rounds, \(threads) threads")

        if let k = hp.kfold {
            if let group, group.size > 1 {
                throw .client("_kfold cross-validation trains in one process; it does not run across \(group.size) MPI processes")
            }
            return try runCrossValidation(plan: plan, folds: k, train: train, validation: validation, threads: threads,
                                          timings: &timings, cancellation: cancellation)
        }
        let store = Self.checkpointStore(plan: plan, hyperparameters: hp, rows: train.rows, features: train.features.columns)
        let result = try trainModel(hp, on: train, validation: validation, store: store, threads: threads, group: group, timings: &timings,
                               cancellation: cancellation)
        if let best = result.bestIteration, hp.earlyStoppingRounds != nil {
            log("Best iteration: [\(best)] (early stopping on validation-\(hp.earlyStoppingMetric?.name ?? "")); the model keeps its \(best + 1) round(s)")
        }
        if result.cancelled {
            do {
                try store.save(result.model.xgboostJSON(), epoch: result.model.rounds, batch: 0)
            } catch {
                throw error
            }
            log("Stopped after round \(result.model.rounds) of \(hp.numRound); checkpoint written to \(store.directory)")
            guard hp.saveModelOnTermination else {
                log("save_model_on_termination is false: no model written")
                return
            }
        }
        let model = result.model
        try timings.measure("write model") { () throws(ContainerError) in
            try UnsupervisedJob.writeModel(environment, log: log) { (directory: String) throws(ArtifactError) in try model.save(to: directory) }
        }
        let finals = (result.history.last?.values ?? []).filter { $0.value.isFinite }.map { value in
            MetricValue(channel: value.data, name: value.metric,
                        kind: (TreeMetric(name: value.metric)?.maximize ?? false) ? .score : .loss, value: value.value)
        }
        try OutputData(directory: environment.outputDataDirectory, algorithm: Self.algorithm)
            .write(history: [], bestEpoch: result.bestIteration, finalMetrics: finals, timings: timings)
        try Self.writeImportance(model, to: environment.outputDataDirectory)
    }

    /// The checkpoint store of one model: the fingerprint leaves out `num_round`, which may
    /// change between runs (the container resumes for the remaining rounds).
    static func checkpointStore(plan: Plan, hyperparameters hp: XGBoostHyperparameters, rows: Int, features: Int,
                                subdirectory: String? = nil) -> CheckpointStore {
        var fingerprint = hp.resolved
        fingerprint["num_round"] = nil
        fingerprint["(train rows)"] = String(rows)
        fingerprint["(features)"] = String(features)
        let directory = subdirectory.map { (plan.checkpointDirectory as NSString).appendingPathComponent($0) } ?? plan.checkpointDirectory
        return CheckpointStore(directory: directory, algorithm: Self.algorithm, configuration: fingerprint, writable: plan.writesArtifacts)
    }

    /// Trains one model, resuming from `store`'s newest checkpoint and checkpointing every round;
    /// the per-round metric lines and progress go to the job's output.
    func trainModel(_ hp: XGBoostHyperparameters, on train: TreeDataset, validation: TreeDataset?, trainMonitor: TreeDataset? = nil,
                    store: CheckpointStore, threads: Int, group: (any WorkerGroup)? = nil, timings: inout TrainingTimings,
                    cancellation: CancellationFlag?) throws(ContainerError) -> BoostedTreesTrainer.Result {
        let log = output.line
        var resumed: BoostedTreesModel?
        if let checkpoint = try store.newest(log: log) {
            do {
                resumed = try BoostedTreesModel.decode(checkpoint.state)
            } catch {
                throw .client("the checkpoint \(checkpoint.path) cannot be resumed: \(error.message)")
            }
            log("Resuming from checkpoint \(checkpoint.path) after round \(checkpoint.epoch) of \(hp.numRound)")
        }
        let output = self.output
        var trainer = BoostedTreesTrainer(hyperparameters: hp, threads: threads)
        trainer.group = group
        do {
            return try timings.measure("training") {
                try trainer.fit(train: train, validation: validation, trainMonitor: trainMonitor, resumingFrom: resumed,
                                cancellation: cancellation,
                                events: { evaluation in
                                    output.line(evaluation.line)
                                    output.progress(0, evaluation.iteration + 1, hp.numRound)
                                },
                                checkpoint: { model, rounds in try store.save(model.xgboostJSON(), epoch: rounds, batch: 0) })
            }
        } catch let error as TreeDataError {
            throw .client(error.message)
        } catch let error as TreeDivergenceError {
            throw .client(error.description)
        } catch let error as ContainerError {
            throw error
        } catch {
            throw .algorithm("training failed: \(error)")
        }
    }

    /// `feature_importance.json` beside the metrics: every `get_score` type of the saved model
    /// (see ``BoostedTreesModel/featureImportanceJSON()``), written atomically.
    static func writeImportance(_ model: BoostedTreesModel, to directory: String) throws(ContainerError) {
        let path = (directory as NSString).appendingPathComponent("feature_importance.json")
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try Data(model.featureImportanceJSON().utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw .algorithm("cannot write \(path): \(error.localizedDescription)")
        }
    }
}
