import Algorithms
import Foundation
import MLCore

/// The linear learner as a SageMaker training job (reference §4.1): configuration checked before
/// any data is read, channels `train` (required), `validation` and `test` read from their
/// directories, SageMaker's metric lines, the model in the model directory, the per-epoch
/// metrics in the output data directory.
///
/// Part of issue 4 so far: File and FastFile channels of `text/csv`. RecordIO-protobuf, NPY and
/// Pipe mode, checkpoints and SIGTERM handling come with the rest of that issue and are refused
/// with a ClientError saying so.
public struct LinearLearnerJob: Sendable {
    public let environment: TrainingEnvironment
    public let log: @Sendable (String) -> Void

    public init(environment: TrainingEnvironment, log: @escaping @Sendable (String) -> Void) {
        self.environment = environment
        self.log = log
    }

    static let channelNames: Set<String> = ["train", "validation", "test"]

    /// Runs the job; every failure is a ``ContainerError`` (the caller writes the failure file).
    public func run(workers: Int = ComputeContext.defaultThreadCount(), cancellation: CancellationFlag? = nil) throws(ContainerError) {
        let config = try environment.loadConfiguration()
        var strings: [String: String] = [:]
        for (name, value) in config.hyperparameters {
            if name.hasPrefix("sagemaker_") || name.hasPrefix("_") {
                log("Ignoring reserved hyperparameter \(name)=\(value)")
            } else {
                strings[name] = value
            }
        }
        let hyperparameters: LinearLearnerHyperparameters
        do {
            hyperparameters = try LinearLearnerHyperparameters(strings: strings)
        } catch {
            throw .client(error.description)
        }
        let merged = hyperparameters.values.values.keys.sorted().map { "\"\($0)\": \"\(hyperparameters.values[$0]?.description ?? "")\"" }
        log("Final configuration: {" + merged.joined(separator: ", ") + "}")

        let byName = Dictionary(uniqueKeysWithValues: config.channels.map { ($0.name, $0) })
        for channel in config.channels where !Self.channelNames.contains(channel.name) {
            throw .client("the linear learner does not take a channel named '\(channel.name)': its channels are train (required), validation and test")
        }
        guard byName["train"] != nil else { throw .client("the train channel is required and inputdataconfig.json has none") }
        for channel in config.channels {
            if channel.inputMode == .pipe {
                throw .client("channel '\(channel.name)': Pipe mode is recognised but not supported yet; use File or FastFile")
            }
            let type = channel.contentType?.essence ?? "application/x-recordio-protobuf"
            guard type == "text/csv" else {
                throw .client("channel '\(channel.name)': content type \(type) is recognised but not supported yet (text/csv is); "
                              + "set ContentType to text/csv")
            }
            if let size = channel.contentType?.parameters["label_size"], size != "1" {
                throw .client("channel '\(channel.name)': label_size=\(size): the linear learner's CSV has exactly one label column, first")
            }
        }

        func load(_ name: String) throws(ContainerError) -> LinearDataset? {
            guard byName[name] != nil else { return nil }
            let directory = environment.channelDirectory(name)
            do {
                return try LinearDataset(channel: name, csvPath: directory, threads: workers)
            } catch let error as DataError {
                throw .client(error.description)
            } catch let error as LinearLearnerError {
                throw .client(error.description)
            } catch {
                throw .client("channel '\(name)' (\(directory)): \(error)")
            }
        }
        // invariant: the train channel was checked to exist above
        guard let train = try load("train") else { throw .algorithm("the train channel disappeared") }
        let validation = try load("validation"), test = try load("test")
        log("Training on \(train.rows) rows × \(train.features.columns) features"
            + (validation.map { ", validation \($0.rows) rows" } ?? "") + (test.map { ", test \($0.rows) rows" } ?? "")
            + ", \(workers) workers")

        let lines = SageMakerMetricLines(host: config.resources.currentHost)
        let log = self.log
        let result: LinearLearnerTrainer.Result
        do {
            result = try LinearLearnerTrainer(hyperparameters: hyperparameters, workers: workers)
                .fit(train: train, validation: validation, test: test, cancellation: cancellation) { event in
                    for line in lines.lines(for: event) { log(line) }
                }
        } catch let error as LinearLearnerError {
            // Bad data, or a divergence the hyperparameters caused: the user's to fix.
            throw .client(error.description)
        } catch {
            throw .algorithm("training failed: \(error)")
        }
        if validation == nil && test == nil { log("Test data is not provided.") }

        do {
            try FileManager.default.createDirectory(atPath: environment.modelDirectory, withIntermediateDirectories: true)
            try result.model.save(to: environment.modelDirectory)
        } catch {
            throw .algorithm("cannot write the model to \(environment.modelDirectory): \(error)")
        }
        try writeHistory(result)
        log("Model written to \(environment.modelDirectory)")
    }

    /// `metrics.json` in the output data directory: every epoch's metrics and the final ones.
    func writeHistory(_ result: LinearLearnerTrainer.Result) throws(ContainerError) {
        struct History: Encodable {
            var epochs: [EpochSummary]
            var bestEpoch: Int?
            var final: [MetricValue]
        }
        let path = environment.outputDataDirectory + "/metrics.json"
        do {
            try FileManager.default.createDirectory(atPath: environment.outputDataDirectory, withIntermediateDirectories: true)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            try encoder.encode(History(epochs: result.history, bestEpoch: result.bestEpoch, final: result.finalMetrics))
                .write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw .algorithm("cannot write \(path): \(error)")
        }
    }
}
