import Foundation
import MLAlgorithms
import MLCore

/// What PCA and k-means share as training jobs: channels `train` (required) and `test`
/// (optional) as RecordIO-protobuf (the default), CSV with `label_size=0` (the default for these
/// algorithms) or NPY; labels, when a RecordIO record has them, are ignored.
enum UnsupervisedJob {
    static let channelRules = ChannelRules(required: ["train"], optional: ["test"], formats: [.recordIOProtobuf, .csv, .npy],
                                           defaultFormat: .recordIOProtobuf, defaultLabelSize: 0)

    struct Plan {
        var strings: [String: String]
        var resources: ResourceConfiguration
        var readers: [String: ChannelReader]
        var checkpointDirectory: String
    }

    /// The configuration and the channel readers (nothing read yet); hyperparameters are parsed by the caller.
    static func plan(_ environment: TrainingEnvironment, algorithm: String, workers: Int, log: (String) -> Void) throws(ContainerError) -> Plan {
        let config = try environment.loadConfiguration()
        let strings = ContainerConfiguration.algorithmHyperparameters(config.hyperparameters, keeping: KVStoreSetting.names, log: log)
        let readers = try channelRules.readers(for: config.channels, algorithm: algorithm, environment: environment, threads: workers)
        for reader in readers.values.sorted(by: { $0.name < $1.name }) where (reader.format == .csv || reader.format == .npy) && reader.labelSize != 0 {
            throw .client("channel '\(reader.name)': label_size=\(reader.labelSize): \(algorithm) is unsupervised; its rows are features only "
                          + "(declare text/csv;label_size=0 or leave label_size out)")
        }
        return Plan(strings: strings, resources: config.resources, readers: readers, checkpointDirectory: config.checkpointDirectory)
    }

    static func resolved(_ values: HyperparameterSet) -> [String: String] {
        var resolved: [String: String] = [:]
        for name in values.values.keys { resolved[name] = values[name]?.description ?? "" }
        return resolved
    }

    /// `validate`: a sample of each channel, checked against feature_dim.
    static func validateChannels(_ plan: Plan, featureDim: Int, sampleRows: Int) throws(ContainerError) -> [String] {
        var report: [String] = []
        for name in ["train", "test"] {
            guard let reader = plan.readers[name] else { continue }
            let mode = reader.channel.inputMode.rawValue
            guard let batch = try reader.sample(rows: sampleRows) else {
                report.append("Channel \(name): \(reader.format.rawValue), \(mode) mode: not read (reading would consume the FIFO)")
                continue
            }
            var blocks = DenseRowBlocks(channel: name, features: featureDim, blockRows: max(1, batch.rows), source: OneBatchSource(batch: batch))
            do {
                while try blocks.next() != nil {}
            } catch {
                throw .client(error.description)
            }
            report.append("Channel \(name): \(reader.format.rawValue), \(mode) mode: the first \(batch.rows) row(s) of each file are valid (\(featureDim) features)")
        }
        return report
    }

    /// The metric lines of the 1P algorithms' progress: percent of epochs, records per second.
    static func progressLines(host: String, epoch: Int, epochs: Int, rowsPerSecond: Double) -> [String] {
        ["#progress_metric: host=\(host), completed \(Int(Double(epoch + 1) / Double(max(1, epochs)) * 100)) % of epochs",
         "#throughput_metric: host=\(host), train throughput=\(String(format: "%.12g", rowsPerSecond)) records/second"]
    }

    /// Writes the model whole or not at all (``ArtifactDirectory/writeModel(to:_:)``).
    static func writeModel(_ environment: TrainingEnvironment, log: (String) -> Void, _ save: (String) throws(ArtifactError) -> Void) throws(ContainerError) {
        try ArtifactDirectory.writeModel(to: environment.modelDirectory, save)
        log("Model written to \(environment.modelDirectory)")
    }

    /// Training errors as the container reports them: bad data or state is the user's (ClientError).
    static func containerError(_ error: any Error) -> ContainerError {
        switch error {
        case let e as ContainerError: e
        case let e as UnsupervisedDataError: .client(e.description)
        case let e as HyperparameterError: .client(e.description)
        case let e as DataError: .client(e.description)
        default: .algorithm("training failed: \(error)")
        }
    }
}


/// A PCA or k-means training job: its hyperparameters parse from the string map and name a
/// `feature_dim`; the rest of `validate` is shared.
protocol UnsupervisedTrainingJob: TrainingJob {
    associatedtype Hyperparameters
    /// The algorithm as messages name it (`PCA`, `k-means`).
    static var displayName: String { get }
    static func parse(_ strings: [String: String]) throws(HyperparameterError) -> Hyperparameters
    static func featureDim(_ hyperparameters: Hyperparameters) -> Int
    static func valueCount(_ hyperparameters: Hyperparameters) -> Int
    var environment: TrainingEnvironment { get }
}

extension UnsupervisedTrainingJob {
    func plan(workers: Int, log: (String) -> Void) throws(ContainerError) -> (UnsupervisedJob.Plan, Hyperparameters) {
        let plan = try UnsupervisedJob.plan(environment, algorithm: Self.displayName, workers: workers, log: log)
        do {
            return (plan, try Self.parse(plan.strings))
        } catch {
            throw .client(error.description)
        }
    }

    public func validate(sampleRows: Int, workers: Int) throws(ContainerError) -> [String] {
        let (plan, hyperparameters) = try plan(workers: workers, log: { _ in })
        return ["Hyperparameters: valid (\(Self.valueCount(hyperparameters)) after defaults)",
                "Resources: \(plan.resources.currentHost) of \(plan.resources.hosts.count) host(s)"]
            + (try UnsupervisedJob.validateChannels(plan, featureDim: Self.featureDim(hyperparameters), sampleRows: sampleRows))
    }
}
